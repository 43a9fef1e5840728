"""The outbox is filled where recall appointments, RMAs and preventive work orders change,
in their transactions."""

from __future__ import annotations

from datetime import date, timedelta

from fieldsvc.events.models import OutboxEvent
from tests.conftest import authed_client
from tests.events.conftest import deliver_until, outbox
from tests.pm.conftest import generate, plan  # noqa: F401 - fixtures
from tests.recall.conftest import recall, tomorrow  # noqa: F401 - fixtures
from tests.rma.conftest import kit  # noqa: F401 - fixture

APPOINTMENTS = "/api/v1/recall-appointments"


def test_an_appointment_booked_moved_and_cancelled_reaches_a_subscriber_in_order(
    events_app,
    recall,  # noqa: F811
    tomorrow,  # noqa: F811
    receiver,
):
    admin = authed_client(events_app, "admin")
    sub = admin.post(
        "/api/v1/webhook-subscriptions",
        json={
            "url": receiver.url,
            "events": [
                "recall_appointment.booked",
                "recall_appointment.rescheduled",
                "recall_appointment.cancelled",
            ],
        },
    )
    assert sub.status_code == 201
    dealer = recall.dealership(places=2)
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    booked = admin.post(
        APPOINTMENTS,
        json={
            "campaign_id": campaign.id,
            "vin": v,
            "dealership_id": dealer.id,
            "day": tomorrow.isoformat(),
        },
    )
    assert booked.status_code == 201, booked.json
    appointment_id = booked.json["id"]
    later = tomorrow + timedelta(days=1)
    assert (
        admin.post(
            f"{APPOINTMENTS}/{appointment_id}/reschedule", json={"day": later.isoformat()}
        ).status_code
        == 200
    )
    # Cancelled once; a second cancel is refused (409) and emits nothing.
    assert (
        admin.post(
            f"{APPOINTMENTS}/{appointment_id}/cancel", json={"reason": "sold the car"}
        ).status_code
        == 200
    )
    assert admin.post(f"{APPOINTMENTS}/{appointment_id}/cancel", json={}).status_code == 409
    deliver_until(events_app, lambda: len(receiver.answered_ok()) == 3)
    got = [r.json for r in receiver.answered_ok()]
    assert [g["type"] for g in got] == [
        "recall_appointment.booked",
        "recall_appointment.rescheduled",
        "recall_appointment.cancelled",
    ]
    assert [g["aggregate"]["sequence"] for g in got] == [1, 2, 3]
    assert got[0]["data"]["vin"] == v and got[0]["data"]["day"] == tomorrow.isoformat()
    assert got[1]["data"]["previous_day"] == tomorrow.isoformat()
    assert got[1]["data"]["day"] == later.isoformat()
    assert got[2]["data"]["reason"] == "sold the car"
    assert got[2]["data"]["status"] == "cancelled"


def test_rma_status_changes_are_events(events_app, kit, make):  # noqa: F811
    site = make.site(region="Tehran")
    asset = make.asset(site=site, warranty_end=date.today() + timedelta(days=90))
    part = make.part(serialized=True)
    central = make.warehouse(region="Tehran")
    kit.receive(part.id, central.id, serial="NEW-1")
    rma = kit.create(
        type="advance_exchange", customer_id=asset.customer_id, asset_id=asset.id, part_id=part.id
    )
    assert kit.move(rma["id"], to="approved", warehouse_id=central.id).status_code == 200
    assert kit.move(rma["id"], to="closed").status_code == 409  # refused: no event
    events = outbox(events_app, OutboxEvent, OutboxEvent.aggregate_type == "rma")
    assert [(e.data["from_status"], e.data["status"], e.sequence) for e in events] == [
        (None, "requested", 1),
        ("requested", "approved", 2),
    ]
    assert events[1].data["number"] == rma["number"]


def test_preventive_work_orders_generated_in_bulk_are_created_events(
    events_app,
    make,
    plan,  # noqa: F811
    generate,  # noqa: F811
):
    from datetime import UTC, datetime

    asset = make.asset(site=make.site())
    weekly = plan(
        [asset],
        name="Weekly check",
        rrule="FREQ=WEEKLY;BYDAY=SA",
        dtstart=datetime(2029, 1, 6, 6, tzinfo=UTC),
        lead_days=7,
        priority=1,
    )
    report = generate(now=datetime(2030, 1, 10, 6, tzinfo=UTC))
    assert report.work_orders_created == 1
    events = outbox(events_app, OutboxEvent, OutboxEvent.aggregate_type == "work_order")
    assert [(e.type, e.sequence) for e in events] == [
        ("work_order.created", 1),
        ("work_order.p1_created", 2),
    ]
    assert events[0].aggregate_id == report.work_order_ids[0]
    assert events[0].data["summary"].startswith(weekly.name)


def test_a_follow_up_work_order_is_a_created_event(events_app, make):
    admin = authed_client(events_app, "admin")
    tech = make.technician()
    body = admin.post(
        "/api/v1/work-orders", json={"summary": "Compressor", "site_id": make.site().id}
    ).json
    start = "2030-01-10T08:00:00+00:00"
    moves = [
        {"to": "scheduled", "technician_id": tech.id, "scheduled_start_at": start},
        {"to": "dispatched"},
        {"to": "en_route"},
        {"to": "on_site"},
        {"to": "cannot_complete", "reason": "Part missing"},
    ]
    for move in moves:
        answer = admin.post(f"/api/v1/work-orders/{body['id']}/transitions", json=move)
        assert answer.status_code == 200, answer.json
    created = outbox(events_app, OutboxEvent, OutboxEvent.type == "work_order.created")
    assert [e.aggregate_id for e in created][0] == body["id"] and len(created) == 2
    assert created[1].data["summary"] == "Compressor" and created[1].sequence == 1
