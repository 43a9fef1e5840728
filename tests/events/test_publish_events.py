"""Publishing a plan reaches webhook receivers: the run published, and each ETA it moved
(the time the customer is told: when the technician will be at the door)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.dispatch.publish import publish_run
from fieldsvc.dispatch.runs import execute_run, request_run
from fieldsvc.models import WorkOrderWindow
from tests.conftest import authed_client
from tests.dispatch.test_runs import ACTOR, DAY, _finished_run
from tests.events.conftest import deliver_until
from tests.events.test_webhooks import _subscribe

TEHRAN = ZoneInfo("Asia/Tehran")


def _utc(hour: int) -> datetime:
    local = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=TEHRAN)
    return local.astimezone(ZoneInfo("UTC"))


def test_a_published_plan_and_a_moved_eta_reach_the_receiver(events_app, make, receiver):
    admin = authed_client(events_app, "admin")
    _subscribe(admin, receiver.url, ["optimization_run.published", "work_order.eta_changed"])
    _, orders, first = _finished_run(make)
    session = make.session
    publish_run(session, first, ACTOR)
    session.commit()
    # The first plan gives every work order its first ETA.
    deliver_until(events_app, lambda: len(receiver.answered_ok()) >= 1 + len(orders))
    first_got = [r.json for r in receiver.answered_ok()]
    assert [
        e["data"]["run_id"] for e in first_got if e["type"] == "optimization_run.published"
    ] == [first.id]
    assert sorted(
        e["data"]["work_order_id"] for e in first_got if e["type"] == "work_order.eta_changed"
    ) == sorted(o.id for o in orders)
    assert all(
        e["data"]["previous_eta_at"] is None
        for e in first_got
        if e["type"] == "work_order.eta_changed"
    )

    # The customer can only be visited late in the afternoon now: the next plan moves the ETA.
    moved = orders[0]
    session.refresh(moved)
    before = moved.eta_at
    moved.time_windows.append(WorkOrderWindow(starts_at=_utc(15), ends_at=_utc(16)))
    session.commit()
    second = request_run(session, ACTOR, plan_date=DAY, territory="tehran", time_limit=2)
    session.commit()
    second = execute_run(session, second.id, "Asia/Tehran")
    publish_run(session, second, ACTOR)
    session.commit()
    session.refresh(moved)
    assert moved.eta_at - before > timedelta(minutes=15)
    # The customer is told when the technician will be at the door: inside their window,
    # not the hour the technician could have reached them and waited outside.
    assert _utc(15) <= moved.eta_at <= _utc(16)

    seen = len(first_got)
    deliver_until(
        events_app,
        lambda: any(
            r.json["data"].get("run_id") == second.id for r in receiver.answered_ok()[seen:]
        ),
    )
    deliver_until(
        events_app,
        lambda: any(
            r.json["data"].get("work_order_id") == moved.id for r in receiver.answered_ok()[seen:]
        ),
    )
    got = [r.json for r in receiver.answered_ok()[seen:]]
    eta = {
        e["data"]["work_order_id"]: e["data"] for e in got if e["type"] == "work_order.eta_changed"
    }
    assert eta[moved.id]["previous_eta_at"].startswith(before.isoformat()[:16])
    assert [e["data"]["run_id"] for e in got if e["type"] == "optimization_run.published"] == [
        second.id
    ]
