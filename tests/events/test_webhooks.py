"""Events out through webhooks: the outbox in the change's transaction, signed deliveries,
retries with backoff, dead letters and replays, order per aggregate."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fieldsvc.context import Actor
from fieldsvc.events.models import DeliveryStatus, EventDelivery, OutboxEvent
from fieldsvc.models import WorkOrder, utcnow
from fieldsvc.services import work_orders as service
from tests.conftest import authed_client
from tests.events.conftest import deliver_until, outbox

ACTOR = Actor(id=None, name="test", source="cli")
TEHRAN = ZoneInfo("Asia/Tehran")


def _subscribe(client, url: str, events: list[str]) -> dict:
    answer = client.post("/api/v1/webhook-subscriptions", json={"url": url, "events": events})
    assert answer.status_code == 201, answer.json
    return answer.json


def _work_order(client, site_id: int, **extra) -> dict:
    answer = client.post(
        "/api/v1/work-orders", json={"summary": "Boiler down", "site_id": site_id, **extra}
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def _schedule(client, wo_id: int, technician_id: int) -> None:
    # Tomorrow at 10:00 in Tehran: inside the technician's shift.
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(TEHRAN).date()
    start = datetime.combine(tomorrow, time(10), tzinfo=TEHRAN).isoformat()
    answer = client.post(
        f"/api/v1/work-orders/{wo_id}/transitions",
        json={"to": "scheduled", "technician_id": technician_id, "scheduled_start_at": start},
    )
    assert answer.status_code == 200, answer.json


def test_a_subscription_shows_its_secret_once_and_only_admins_manage_them(events_app):
    admin = authed_client(events_app, "admin")
    created = _subscribe(admin, "https://hooks.example.com/fieldsvc", ["work_order.completed"])
    assert created["secret"].startswith("whsec_") and created["active"] is True
    again = admin.get(f"/api/v1/webhook-subscriptions/{created['id']}")
    assert again.status_code == 200 and "secret" not in again.json
    listed = admin.get("/api/v1/webhook-subscriptions").json
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert {"items", "total", "page", "per_page"} <= listed.keys()

    dispatcher = authed_client(events_app, "dispatcher")
    assert dispatcher.get("/api/v1/webhook-subscriptions").status_code == 403
    assert (
        dispatcher.post(
            "/api/v1/webhook-subscriptions",
            json={"url": "https://hooks.example.com/x", "events": ["*"]},
        ).status_code
        == 403
    )

    bad = admin.post(
        "/api/v1/webhook-subscriptions",
        json={"url": "https://hooks.example.com/x", "events": ["work_order.eaten"]},
    )
    assert bad.status_code == 422 and "events" in bad.json["errors"]
    assert (
        admin.patch(f"/api/v1/webhook-subscriptions/{created['id']}", json={"active": False}).json[
            "active"
        ]
        is False
    )
    assert admin.get("/api/v1/webhook-subscriptions").json["total"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/hook",
        "http://[::1]/hook",
    ],
)
def test_private_targets_are_refused_unless_allowed(app, url):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    admin = authed_client(app, "admin")
    refused = admin.post("/api/v1/webhook-subscriptions", json={"url": url, "events": ["*"]})
    assert refused.status_code == 422, refused.json
    assert "url" in refused.json["errors"]
    assert admin.get("/api/v1/webhook-subscriptions").json["total"] == 0
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    assert (
        admin.post("/api/v1/webhook-subscriptions", json={"url": url, "events": ["*"]}).status_code
        == 201
    )


def test_a_rolled_back_change_emits_nothing(events_app, ctx, make):
    site = make.site()
    wo = service.create_work_order(ctx, {"summary": "x", "site_id": site.id, "priority": 1}, ACTOR)
    # created and p1_created, inside the transaction
    assert ctx.scalar(db_count(OutboxEvent)) == 2
    ctx.rollback()
    assert ctx.scalar(db_count(OutboxEvent)) == 0
    assert ctx.get(WorkOrder, wo.id) is None

    # Through the API: an illegal transition (409) leaves no event; a legal one leaves one.
    client = authed_client(events_app, "dispatcher")
    body = _work_order(client, site.id)
    assert (
        client.post(
            f"/api/v1/work-orders/{body['id']}/transitions", json={"to": "completed"}
        ).status_code
        == 409
    )
    types = [e.type for e in outbox(events_app, OutboxEvent)]
    assert types == ["work_order.created"]


def db_count(model):
    from sqlalchemy import func, select

    return select(func.count()).select_from(model)


def test_signed_deliveries_verify_with_the_reference_library(events_app, make, receiver):
    admin = authed_client(events_app, "admin")
    sub = _subscribe(admin, receiver.url, ["work_order.created", "work_order.assigned"])
    site, tech = make.site(), make.technician()
    wo = _work_order(admin, site.id)
    _schedule(admin, wo["id"], tech.id)  # also status_changed: not subscribed
    deliver_until(events_app, lambda: len(receiver.requests) >= 2)
    assert [r.json["type"] for r in receiver.requests] == [
        "work_order.created",
        "work_order.assigned",
    ]
    hook = Webhook(sub["secret"])
    for request in receiver.requests:
        payload = hook.verify(request.body, request.headers)
        assert payload["data"]["work_order_id"] == wo["id"]
        assert request.headers["webhook-id"].startswith("evt_")
        tampered = request.body.replace(b'"Boiler down"', b'"Boiler fine"')
        assert tampered != request.body
        with pytest.raises(WebhookVerificationError):
            hook.verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert receiver.requests[1].json["data"]["technician_id"] == tech.id


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    events_app, make, receiver
):
    admin = authed_client(events_app, "admin")
    sub = _subscribe(admin, receiver.url, ["work_order.created"])
    receiver.statuses = [500, 500, 500]
    _work_order(admin, make.site().id)
    deliver_until(events_app, lambda: receiver.answered_ok() != [])
    assert [r.headers["x-test-status"] for r in receiver.requests] == ["500", "500", "500", "200"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    log = admin.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries").json
    assert log["total"] == 1
    entry = log["items"][0]
    assert entry["status"] == "delivered" and entry["attempts"] == 4
    assert entry["last_status_code"] == 200 and entry["last_latency_ms"] is not None
    assert entry["next_attempt_at"] is None
    assert entry["webhook_id"] == receiver.requests[0].headers["webhook-id"]
    assert entry["event_type"] == "work_order.created"


def test_the_last_failure_is_a_dead_letter_that_an_admin_replays(events_app, make, receiver):
    events_app.config["EVENTS_MAX_ATTEMPTS"] = 2
    admin = authed_client(events_app, "admin")
    _subscribe(admin, receiver.url, ["*"])
    receiver.statuses = [503, 503]
    _work_order(admin, make.site().id, priority=1)  # created and p1_created

    def settled():
        rows = outbox(events_app, EventDelivery)
        return len(rows) == 2 and all(r.status != DeliveryStatus.PENDING for r in rows)

    deliver_until(events_app, settled)
    dead = admin.get("/api/v1/event-deliveries?status=dead").json
    assert dead["total"] == 1 and dead["items"][0]["attempts"] == 2
    assert dead["items"][0]["last_status_code"] == 503
    assert dead["items"][0]["event_type"] == "work_order.created"
    # The dead letter does not hold back the next event of the work order.
    assert [r.json["type"] for r in receiver.answered_ok()] == ["work_order.p1_created"]

    replayed = admin.post(f"/api/v1/event-deliveries/{dead['items'][0]['id']}/replay")
    assert replayed.status_code == 200 and replayed.json["status"] == "pending"
    assert (
        admin.post(f"/api/v1/event-deliveries/{dead['items'][0]['id']}/replay").status_code == 409
    )
    deliver_until(events_app, lambda: len(receiver.answered_ok()) == 2)
    assert receiver.answered_ok()[1].json["type"] == "work_order.created"
    assert admin.get("/api/v1/event-deliveries?status=dead").json["total"] == 0
    dispatcher = authed_client(events_app, "dispatcher")
    assert dispatcher.get("/api/v1/event-deliveries").status_code == 403


def test_events_of_one_work_order_arrive_in_order_even_after_a_failure(events_app, make, receiver):
    admin = authed_client(events_app, "admin")
    _subscribe(admin, receiver.url, ["*"])
    site, tech = make.site(), make.technician()
    first = _work_order(admin, site.id)
    other = _work_order(admin, site.id)
    _schedule(admin, first["id"], tech.id)
    for to in ("dispatched", "en_route", "on_site"):
        assert (
            admin.post(
                f"/api/v1/work-orders/{first['id']}/transitions", json={"to": to}
            ).status_code
            == 200
        )
    assert (
        admin.post(
            f"/api/v1/work-orders/{first['id']}/transitions",
            json={"to": "completed", "resolution": "Replaced the pump"},
        ).status_code
        == 200
    )
    receiver.statuses = [500]  # the very first request (first's created) fails
    stored = outbox(events_app, OutboxEvent, OutboxEvent.aggregate_id == first["id"])
    assert [e.sequence for e in stored] == list(range(1, len(stored) + 1))
    deliver_until(events_app, lambda: len(receiver.answered_ok()) == len(stored) + 1)
    mine = [r.json for r in receiver.answered_ok() if r.json["aggregate"]["id"] == first["id"]]
    assert [m["aggregate"]["sequence"] for m in mine] == list(range(1, len(stored) + 1))
    assert [m["type"] for m in mine] == [
        "work_order.created",
        "work_order.status_changed",
        "work_order.assigned",
        "work_order.status_changed",
        "work_order.status_changed",
        "work_order.status_changed",
        "work_order.status_changed",
        "work_order.completed",
    ]
    assert mine[-1]["data"]["status"] == "completed"
    assert [r.json["aggregate"]["id"] for r in receiver.answered_ok()].count(other["id"]) == 1


def test_a_receiver_that_does_not_answer_in_time_is_tried_again(events_app, make, receiver):
    import threading

    events_app.config["EVENTS_BATCH_SECONDS"] = 1
    admin = authed_client(events_app, "admin")
    sub = _subscribe(admin, receiver.url, ["work_order.created"])
    release = threading.Event()
    receiver.before_answer = lambda request: None if release.is_set() else release.wait(10)
    _work_order(admin, make.site().id)
    try:
        deliver_until(events_app, lambda: outbox(events_app, EventDelivery)[0].attempts >= 1)
    finally:
        release.set()
    (entry,) = admin.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries").json["items"]
    assert entry["status"] == "pending" and "No answer within" in entry["last_error"]
    deliver_until(events_app, lambda: receiver.answered_ok() != [])
    (entry,) = admin.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries").json["items"]
    # The second attempt, or a later one on a machine too busy to answer within the batch.
    assert entry["status"] == "delivered" and entry["attempts"] >= 2


def test_a_target_that_became_private_is_refused_at_send_time(events_app, make, receiver):
    admin = authed_client(events_app, "admin")
    sub = _subscribe(admin, receiver.url, ["work_order.created"])
    events_app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    _work_order(admin, make.site().id)
    deliver_until(events_app, lambda: outbox(events_app, EventDelivery)[0].attempts >= 1)
    assert receiver.requests == []
    (entry,) = admin.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries").json["items"]
    assert "non-public address" in entry["last_error"] and entry["last_status_code"] is None
