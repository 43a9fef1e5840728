"""Rescheduling from the link: only windows the insertion engine fits into the published
plan are offered, and taking one applies that insertion."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder
from tests.dispatch.test_runs_api import _wait
from tests.selfservice.conftest import self_service_audit

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
def day():
    return datetime.now(TEHRAN).date() + timedelta(days=1)


def _publish(client, app, day):
    from fieldsvc.dispatch.queue import get_queue

    accepted = client.post(
        "/api/v1/optimization-runs",
        json={"date": day.isoformat(), "territory": "tehran", "time_limit": 1},
    )
    assert accepted.status_code == 202, accepted.json
    run = _wait(client, accepted.json["id"])
    get_queue(app).wait(timeout=30)
    assert run["status"] == "finished", run
    # Publishing is a job on the run queue: asked for (202), then done by the queue.
    assert client.post(f"/api/v1/optimization-runs/{run['id']}/publish").status_code == 202
    get_queue(app).wait(timeout=30)
    published = client.get(f"/api/v1/optimization-runs/{run['id']}").json
    assert published["publish"]["status"] == "done", published["publish"]


def _order(app, ident):
    with app.app_context():
        wo = db.session.get(WorkOrder, ident)
        out = (
            wo.status.value,
            wo.scheduled_start_at,
            wo.pinned,
            [(w.starts_at, w.ends_at) for w in wo.time_windows],
        )
        db.session.remove()
        return out


def test_windows_come_from_the_published_plan_and_taking_one_moves_the_visit(
    app, make, client_as, customer, link_for, day
):
    make.technician(name="Sara Moradi")
    mine = make.work_order(
        site=make.site(latitude=35.70, longitude=51.40),
        estimated_minutes=60,
        summary="Boiler does not start",
    )
    other = make.work_order(site=make.site(latitude=35.72, longitude=51.42), estimated_minutes=60)
    path = link_for(work_order=mine)
    # Nothing published yet: nothing can be offered.
    assert b'id="no-windows"' in customer.get(path + "/windows").data
    _publish(client_as("dispatcher"), app, day)
    assert _order(app, mine.id)[0] == "scheduled"
    page = customer.get(path + "/windows")
    text = page.data.decode()
    offered = [v for v in text.split('name="window" value="')[1:]]
    offered = [v.split('"', 1)[0] for v in offered]
    assert offered, text
    assert all(datetime.fromisoformat(v).date() == day for v in offered)
    chosen = offered[-1]
    moved = customer.submit(path + "/windows", path + "/reschedule", window=chosen)
    assert moved.status_code == 303, moved.data
    status, start, pinned, windows = _order(app, mine.id)
    begin = datetime.fromisoformat(chosen)
    assert status == "scheduled" and pinned
    assert windows == [(begin, begin + timedelta(hours=2))]
    assert begin <= start <= begin + timedelta(hours=2)
    assert _order(app, other.id)[0] == "scheduled"  # nobody displaced
    assert ("work_order", "update", f"customer {mine.customer_id}") in self_service_audit(app)


def test_a_window_not_offered_is_refused(app, make, customer, link_for, day):
    make.technician()
    wo = make.work_order(site=make.site(), estimated_minutes=60)
    path = link_for(work_order=wo)
    at_night = datetime.combine(day, datetime.min.time(), TEHRAN).replace(hour=2)
    answer = customer.submit(
        path, path + "/reschedule", form=path + "/cancel", window=at_night.isoformat()
    )
    assert answer.status_code == 422 and b'id="error"' in answer.data
    assert _order(app, wo.id)[0] == "new" and _order(app, wo.id)[3] == []


def test_windows_stay_inside_the_contracts_coverage(app, make, day):
    from datetime import time

    from fieldsvc.selfservice import visit

    site = make.site()
    contract = make.contract(
        site.customer,
        coverage_days=str(day.weekday()),
        coverage_start=time(9),
        coverage_end=time(13),
        timezone="Asia/Tehran",
        ends_on=day + timedelta(days=30),
    )
    wo = make.work_order(site=site, contract_id=contract.id)
    with app.test_request_context():
        wo = db.session.get(WorkOrder, wo.id)
        windows = visit.candidate_windows(wo, datetime.now(TEHRAN))
        db.session.remove()
    assert [(w.day, w.start.timetz(), w.end.timetz()) for w in windows] == [
        (day, time(9, tzinfo=TEHRAN), time(11, tzinfo=TEHRAN)),
        (day, time(11, tzinfo=TEHRAN), time(13, tzinfo=TEHRAN)),
    ]
