"""Who delivers: the scheduler's job by default; with FIELDSVC_RUN_QUEUE=rq the workers'
delivery thread, and the scheduler's job then leaves it to them."""

from __future__ import annotations

import time

from fieldsvc import events
from scheduler import jobs
from tests.conftest import authed_client


def test_the_delivery_thread_delivers_and_the_scheduler_defers_to_it_under_rq(
    events_app, make, receiver
):
    admin = authed_client(events_app, "admin")
    assert (
        admin.post(
            "/api/v1/webhook-subscriptions", json={"url": receiver.url, "events": ["*"]}
        ).status_code
        == 201
    )
    assert (
        admin.post(
            "/api/v1/work-orders", json={"summary": "Leak", "site_id": make.site().id}
        ).status_code
        == 201
    )
    events_app.config.update(RUN_QUEUE="rq", EVENTS_POLL_SECONDS=0.05)
    assert jobs.event_delivery(events_app) == "delivered by fieldsvc worker (FIELDSVC_RUN_QUEUE=rq)"
    assert receiver.requests == []
    thread, stop = events.start_thread(events_app)
    try:
        deadline = time.monotonic() + 30
        while not receiver.answered_ok() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert [r.json["type"] for r in receiver.answered_ok()] == ["work_order.created"]

    events_app.config["RUN_QUEUE"] = "thread"
    assert (
        admin.post(
            "/api/v1/work-orders", json={"summary": "Leak 2", "site_id": make.site().id}
        ).status_code
        == 201
    )
    assert "1 delivered" in jobs.event_delivery(events_app)
    assert len(receiver.answered_ok()) == 2
