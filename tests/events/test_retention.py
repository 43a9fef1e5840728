"""Old outbox events go with the retention job once delivered; the latest of each aggregate
stays so that its numbering goes on, and nothing pending is ever purged."""

from __future__ import annotations

from datetime import timedelta

from fieldsvc import events
from fieldsvc.events.models import DeliveryStatus, EventDelivery, OutboxEvent
from fieldsvc.events.outbox import emit
from fieldsvc.extensions import db
from fieldsvc.models import utcnow
from fieldsvc.services.retention import purge_batch
from tests.events.conftest import outbox


def test_delivered_events_are_purged_but_each_aggregate_keeps_its_latest(events_app, receiver):
    from tests.conftest import authed_client

    admin = authed_client(events_app, "admin")
    assert (
        admin.post(
            "/api/v1/webhook-subscriptions", json={"url": receiver.url, "events": ["*"]}
        ).status_code
        == 201
    )
    old = utcnow() - timedelta(days=40)
    with events_app.app_context():
        for _ in range(3):
            emit(db.session, "rma.status_changed", "rma", 7, {"rma_id": 7}, at=old)
        emit(db.session, "rma.status_changed", "rma", 8, {"rma_id": 8}, at=old)
        db.session.commit()
        db.session.remove()
    events.deliver(events_app, budget_seconds=5)
    receiver.statuses = [500]
    events_app.config.update(EVENTS_BACKOFF_SECONDS=3600, EVENTS_BACKOFF_MAX_SECONDS=3600)
    with events_app.app_context():
        emit(db.session, "rma.status_changed", "rma", 9, {"rma_id": 9}, at=old)
        emit(db.session, "rma.status_changed", "rma", 9, {"rma_id": 9}, at=old)
        db.session.commit()
        db.session.remove()
    events.deliver(events_app, budget_seconds=5)  # rma 9's first event waits for a retry
    assert len(receiver.answered_ok()) == 4
    with events_app.app_context():
        cutoff = utcnow() - timedelta(days=30)
        assert purge_batch(db.session, "events", cutoff, 100) == 2
        db.session.commit()
        db.session.remove()
    left = outbox(events_app, OutboxEvent)
    assert [(e.aggregate_id, e.sequence) for e in left] == [(7, 3), (8, 1), (9, 1), (9, 2)]
    pending = outbox(events_app, EventDelivery, EventDelivery.status == DeliveryStatus.PENDING)
    assert [(d.aggregate_id, d.sequence) for d in pending] == [(9, 1), (9, 2)]
    with events_app.app_context():
        emit(db.session, "rma.status_changed", "rma", 7, {"rma_id": 7})
        db.session.commit()
        db.session.remove()
    assert outbox(events_app, OutboxEvent, OutboxEvent.aggregate_id == 7)[-1].sequence == 4
