"""The dispatch board in the console: run, review, publish, assign and pin, emergencies."""

from __future__ import annotations

import time

from sqlalchemy import select

from fieldsvc.dispatch.queue import get_queue
from fieldsvc.extensions import db
from fieldsvc.models import OptimizationRun, WorkOrder
from tests.reports.conftest import DAY


def _board(console, **args):
    return console.get("/console/dispatch", query_string={"date": DAY.isoformat(),
                                                           "territory": "tehran", **args})


def _wait(console, run_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = console.get(f"/console/dispatch/runs/{run_id}/status").json
        if status["status"] in ("finished", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError("run did not finish")


def _run_and_wait(app, console):
    started = console.post("/console/dispatch/runs", data={
        "date": DAY.isoformat(), "territory": "tehran", "time_limit": "1"})
    assert started.status_code == 302, started.data
    run_id = int(started.headers["Location"].split("run=")[1].split("&")[0])
    status = _wait(console, run_id)
    get_queue(app).wait(timeout=30)
    assert status["status"] == "finished", status
    return run_id


def _orders(app, ids):
    with app.app_context():
        rows = {w.id: (w.status.value, w.technician_id, w.pinned,
                       w.scheduled_start_at)
                for w in db.session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids)))}
        db.session.remove()
        return rows


def test_board_shows_lanes_and_the_queue_with_reasons(app, console, day_world):
    techs, orders = day_world
    page = _board(console())
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for tech in techs:
        assert tech.name in html
    for wo in orders:
        assert f"#{wo.id} {wo.summary}" in html
    assert "Not planned yet: run the optimizer for this day." in html
    assert "No plan has been published for this day yet." in html


def test_run_review_and_publish_then_the_jobs_are_on_the_lanes(app, console, day_world):
    techs, orders = day_world
    dispatcher = console()
    run_id = _run_and_wait(app, dispatcher)
    review = dispatcher.get(f"/console/dispatch/runs/{run_id}")
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    # Nothing was published before: every job is newly scheduled, none unchanged.
    assert "<strong>4</strong> changes" in html and "4 newly scheduled" in html
    assert "0 unchanged" in html
    published = dispatcher.post(f"/console/dispatch/runs/{run_id}/publish",
                                follow_redirects=True)
    assert published.status_code == 200
    assert f"Run {run_id} is being published" in published.get_data(as_text=True)
    get_queue(app).wait(timeout=60)
    # The run's page shows the publication done and what it did.
    review = dispatcher.get(f"/console/dispatch/runs/{run_id}").get_data(as_text=True)
    assert 'id="review-publish">done' in review, review
    assert "4 scheduled, 0 moved" in review and 'id="publish"' not in review
    rows = _orders(app, [o.id for o in orders])
    assert {r[0] for r in rows.values()} == {"scheduled"}
    board = _board(dispatcher).get_data(as_text=True)
    assert f"run {run_id}</a>, published" in board
    assert 'class="slot travel"' in board  # legs from the published plan
    assert 'class="slot break"' in board or "Nothing is waiting." in board
    # The same run again: 409 shown as a message, nothing changes.
    again = dispatcher.post(f"/console/dispatch/runs/{run_id}/publish",
                            follow_redirects=True)
    assert b"already published" in again.data
    assert _orders(app, [o.id for o in orders]) == rows
    # A second run that changes nothing shows every job unchanged.
    second = _run_and_wait(app, dispatcher)
    html = dispatcher.get(f"/console/dispatch/runs/{second}").get_data(as_text=True)
    assert "4 unchanged" in html or "moved" in html


def test_assign_and_pin_with_the_form(app, console, day_world):
    techs, orders = day_world
    dispatcher = console()
    wo = orders[0]
    response = dispatcher.post("/console/dispatch/assign", data={
        "date": DAY.isoformat(), "territory": "tehran", "work_order_id": str(wo.id),
        "technician_id": str(techs[1].id), "start": "10:30"}, follow_redirects=True)
    assert response.status_code == 200
    assert f"Work order {wo.id} assigned to Sara Karimi at 10:30 and pinned." in \
        response.get_data(as_text=True)
    status, tech_id, pinned, start = _orders(app, [wo.id])[wo.id]
    assert (status, tech_id, pinned) == ("scheduled", techs[1].id, True)
    # 10:30 Tehran time (UTC+03:30) is 07:00 UTC.
    assert (start.hour, start.minute) == (7, 0)
    # Moving it again keeps it pinned and moves the end with it.
    dispatcher.post("/console/dispatch/assign", data={
        "date": DAY.isoformat(), "work_order_id": str(wo.id),
        "technician_id": str(techs[0].id), "start": "13:00"})
    status, tech_id, pinned, start = _orders(app, [wo.id])[wo.id]
    assert (status, tech_id, pinned, start.hour) == ("scheduled", techs[0].id, True, 9)


def test_bad_assignments_are_refused_and_change_nothing(app, console, day_world):
    techs, orders = day_world
    dispatcher = console()
    before = _orders(app, [o.id for o in orders])
    bad = [
        {"work_order_id": "", "technician_id": str(techs[0].id), "start": "10:00"},
        {"work_order_id": "abc", "technician_id": str(techs[0].id), "start": "10:00"},
        {"work_order_id": "99999999", "technician_id": str(techs[0].id), "start": "10:00"},
        {"work_order_id": str(orders[0].id), "technician_id": "99999", "start": "10:00"},
        {"work_order_id": str(orders[0].id), "technician_id": str(techs[0].id), "start": "25:00"},
        {"work_order_id": str(orders[0].id), "technician_id": str(techs[0].id), "start": ""},
        {"work_order_id": "9" * 40, "technician_id": str(techs[0].id), "start": "10:00"},
    ]
    for data in bad:
        response = dispatcher.post("/console/dispatch/assign",
                                   data={"date": DAY.isoformat(), **data},
                                   follow_redirects=True)
        assert response.status_code == 200, data
        assert b'class="flash"' in response.data, data
    assert _orders(app, [o.id for o in orders]) == before


def test_emergency_insertion_lists_the_eta_changes_and_applies_them(app, console, make,
                                                                    day_world):
    techs, orders = day_world
    dispatcher = console()
    run_id = _run_and_wait(app, dispatcher)
    dispatcher.post(f"/console/dispatch/runs/{run_id}/publish")
    get_queue(app).wait(timeout=60)
    urgent = make.work_order(site=make.site(latitude=35.705, longitude=51.402),
                             estimated_minutes=45, priority=1, summary="Gas leak")
    page = dispatcher.post("/console/dispatch/emergency", data={
        "date": DAY.isoformat(), "territory": "tehran", "work_order_id": str(urgent.id)},
        follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"for work order #{urgent.id}" in html, html
    assert 'id="eta-changes"' in html
    proposal_id = int(html.split("Proposal ")[1].split(" ")[0])
    accepted = dispatcher.post(f"/console/dispatch/emergency/{proposal_id}/accept", data={
        "date": DAY.isoformat(), "territory": "tehran"}, follow_redirects=True)
    assert f"Emergency work order {urgent.id} inserted" in accepted.get_data(as_text=True)
    assert _orders(app, [urgent.id])[urgent.id][0] == "scheduled"


def test_emergency_without_a_published_plan_is_explained(app, console, day_world):
    _, orders = day_world
    response = console().post("/console/dispatch/emergency", data={
        "date": DAY.isoformat(), "work_order_id": str(orders[0].id)}, follow_redirects=True)
    assert b"No plan is published" in response.data
    assert _orders(app, [orders[0].id])[orders[0].id][0] == "new"


def test_run_status_json_and_unknown_runs(app, console, day_world):
    dispatcher = console()
    assert dispatcher.get("/console/dispatch/runs/12345/status").status_code == 404
    assert dispatcher.get("/console/dispatch/runs/12345").status_code == 404
    assert dispatcher.post("/console/dispatch/runs/12345/publish").status_code == 404
    run_id = _run_and_wait(app, dispatcher)
    status = dispatcher.get(f"/console/dispatch/runs/{run_id}/status").json
    assert status["progress"] == 1.0 and status["assigned_count"] == 4
    assert status["review_url"] == f"/console/dispatch/runs/{run_id}"


def test_bad_run_requests_create_nothing(app, console, day_world):
    dispatcher = console()
    for limit in ("0", "abc", "601", "nan"):
        response = dispatcher.post("/console/dispatch/runs", data={
            "date": DAY.isoformat(), "time_limit": limit}, follow_redirects=True)
        assert b'class="flash"' in response.data, limit
    with app.app_context():
        assert db.session.scalar(select(db.func.count(OptimizationRun.id))) == 0
        db.session.remove()


def test_who_may_see_and_change_the_board(app, console, anon_client, make, day_world):
    techs, orders = day_world
    assert anon_client.get("/console/dispatch").status_code == 302
    links = {"agent": {}, "technician": {"technician_id": techs[0].id},
             "dealership": {"dealership_id": make.dealership().id}}
    for role, link in links.items():
        assert console(role, **link).get("/console/dispatch").status_code == 403
        assert console(role).get("/console/dispatch/map").status_code == 403
        assert console(role).get("/console/dispatch/runs/1/status").status_code == 403
    manager = console("manager")
    assert _board(manager).status_code == 200
    refused = manager.post("/console/dispatch/assign", data={
        "date": DAY.isoformat(), "work_order_id": str(orders[0].id), "technician_id": "1",
        "start": "10:00"})
    assert refused.status_code == 403
    assert manager.post("/console/dispatch/runs", data={"date": DAY.isoformat()}
                        ).status_code == 403
    assert _orders(app, [orders[0].id])[orders[0].id][0] == "new"


def test_form_posts_need_the_csrf_token(app, console, day_world):
    _, orders = day_world
    dispatcher = console()
    response = dispatcher.raw_post("/console/dispatch/assign", data={
        "date": DAY.isoformat(), "work_order_id": str(orders[0].id), "technician_id": "1",
        "start": "10:00"})
    assert response.status_code in (400, 403)
    assert _orders(app, [orders[0].id])[orders[0].id][0] == "new"


def test_bad_days_fall_back_to_today_and_nothing_breaks(console, day_world):
    dispatcher = console()
    for value in ("2026-02-30", "x", "1800-01-01", "9" * 50):
        assert dispatcher.get("/console/dispatch", query_string={"date": value}
                              ).status_code == 200
        assert dispatcher.get("/console/dispatch/map", query_string={"date": value}
                              ).status_code == 200
    assert dispatcher.get("/console/dispatch", query_string={"territory": "x" * 500}
                          ).status_code == 200



def test_a_day_off_does_not_stretch_the_board_to_the_night(app, console, day_world):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from fieldsvc.models import Absence

    techs, _ = day_world
    start = datetime.combine(DAY, time(0), tzinfo=ZoneInfo("Asia/Tehran"))
    with app.app_context():
        db.session.add(Absence(technician_id=techs[0].id, starts_at=start,
                               ends_at=start + timedelta(days=1), reason="Sick"))
        db.session.commit()
    html = _board(console()).get_data(as_text=True)
    assert 'data-axis-start="07:00"' in html  # the working day, not 00:00–24:00
    assert "Sick" in html


def test_the_skill_filter_keeps_the_technicians_and_waiting_work_of_that_skill(
        console, make, day_world):
    printer = make.skill("printer")
    make.technician(skills={printer: 2}, name="Reza Moradi", territory="tehran")
    wo = make.work_order(site=make.site(territory="tehran"), summary="Toner jam")
    from fieldsvc.models import WorkOrderSkill

    wo.skills.append(WorkOrderSkill(skill_id=printer.id, min_level=1))
    make.session.commit()
    everything = _board(console()).get_data(as_text=True)
    assert "Reza Moradi" in everything and "Ali Rahimi" in everything
    only = _board(console(), skill="printer").get_data(as_text=True)
    assert "Reza Moradi" in only and "Ali Rahimi" not in only
    assert "Toner jam" in only and "Boiler 0" not in only
    assert '<option value="printer" selected>' in only
    unknown = _board(console(), skill="nope")
    assert unknown.status_code == 200 and "Ali Rahimi" in unknown.get_data(as_text=True)


def test_the_board_shows_working_hours_and_zooms_out_to_the_whole_day(console, day_world):
    dispatcher = console()
    html = _board(dispatcher).get_data(as_text=True)
    # Shifts 08:00–17:00: an hour before the first start to an hour after the last end.
    assert 'data-axis-start="07:00" data-axis-minutes="660"' in html
    assert ">07:00<" in html and ">18:00<" in html and ">03:00<" not in html
    assert 'id="zoom-day"' in html and "Working hours" in html
    whole = _board(dispatcher, zoom="day").get_data(as_text=True)
    assert 'data-axis-start="00:00" data-axis-minutes="1440"' in whole
    assert ">03:00<" in whole and "timeline whole-day" in whole


def test_the_sla_colour_marks_only_jobs_whose_plan_misses_or_nearly_misses_a_due_time(
        app, console, day_world):
    import re
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from fieldsvc.models.enums import WorkOrderStatus

    techs, orders = day_world
    tz = ZoneInfo("Asia/Tehran")

    def at(h: int, m: int = 0) -> datetime:
        return datetime.combine(DAY, time(h, m), tzinfo=tz)

    # (start, response due, resolution due): arrives and ends well before both due times;
    # ends after the resolution due time; ends 30 minutes before it (inside the hour margin);
    # arrives after the response due time.
    plans = [(at(9), at(9, 30), at(20)), (at(11), None, at(11, 30)),
             (at(13), None, at(14, 30)), (at(15), at(14), at(23))]
    with app.app_context():
        for wo, (start, response, resolution) in zip(orders, plans, strict=True):
            row = db.session.get(WorkOrder, wo.id)
            row.status = WorkOrderStatus.SCHEDULED
            row.technician_id = techs[0].id
            row.scheduled_start_at = start
            row.scheduled_end_at = start + timedelta(minutes=60)
            row.response_due_at = response
            row.resolution_due_at = resolution
        db.session.commit()
    html = _board(console()).get_data(as_text=True)

    def colour(wo) -> str:
        found = re.search(r'class="slot job status-scheduled( \w+)?" [^>]*\n\s*draggable="true" '
                          rf'data-work-order-id="{wo.id}"', html)
        assert found, wo.id
        return (found.group(1) or "").strip()

    assert [colour(wo) for wo in orders] == ["", "late", "at_risk", "late"]
    assert "3 jobs with SLA risk" in html

    # The late visit could not be completed: it is over, and its follow-up carries the work
    # and the due times, so the visit itself is no longer a risk on the board.
    with app.app_context():
        row = db.session.get(WorkOrder, orders[1].id)
        row.status = WorkOrderStatus.CANNOT_COMPLETE
        row.arrived_at = at(11)
        db.session.commit()
    html = _board(console()).get_data(as_text=True)
    assert "2 jobs with SLA risk" in html
    late_visit = re.search(rf'class="slot job status-cannot_complete( \w+)?"[^>]*\n?[^>]*'
                           rf'data-work-order-id="{orders[1].id}"', html)
    assert late_visit and not (late_visit.group(1) or "").strip()
