"""The optimizer sees the database as it is: shifts, breaks, absences, skills, windows, pins."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import scheduler
from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.models import Absence, WorkOrderSkill, WorkOrderWindow
from fieldsvc.models.enums import WorkOrderStatus

TEHRAN = ZoneInfo("Asia/Tehran")
DAY = date(2026, 12, 1)  # a Tuesday


def _local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TEHRAN)


def test_snapshot_describes_technicians_and_jobs_and_solves_validly(make):
    session = make.session
    printer = make.skill("printer")
    senior = make.technician(skills={printer: 4}, home_latitude=35.70, home_longitude=51.40)
    junior = make.technician(skills={printer: 1}, home_latitude=35.72, home_longitude=51.42)
    session.add(Absence(technician_id=junior.id, starts_at=_local(8), ends_at=_local(12)))
    site = make.site(latitude=35.71, longitude=51.41)
    needs_senior = make.work_order(site=site, priority=2, estimated_minutes=90)
    needs_senior.skills.append(WorkOrderSkill(skill_id=printer.id, min_level=3))
    needs_senior.time_windows.append(WorkOrderWindow(starts_at=_local(9), ends_at=_local(11)))
    elsewhere = make.work_order(site=make.site(latitude=35.69, longitude=51.39, territory="shiraz"))
    done = make.work_order(site=site, status=WorkOrderStatus.COMPLETED)
    session.commit()

    snap = build_snapshot(session, DAY, territory="tehran")
    problem = snap.problem
    assert problem.origin == _local(0)
    by_id = {t.id: t for t in problem.technicians}
    assert set(by_id) == {str(senior.id), str(junior.id)}
    shift = by_id[str(senior.id)].shifts[0]
    assert (shift.start, shift.end) == (8 * 3600, 17 * 3600)
    assert shift.breaks[0].duration == 30 * 60
    assert by_id[str(junior.id)].absences == [scheduler.TimeWindow(8 * 3600, 12 * 3600)]
    jobs = {j.id: j for j in problem.jobs}
    assert str(elsewhere.id) not in jobs and str(done.id) not in jobs
    job = jobs[str(needs_senior.id)]
    assert job.required_skills == {"printer": 3}
    assert job.time_windows == [scheduler.TimeWindow(9 * 3600, 11 * 3600)]
    assert job.duration == 90 * 60

    plan = scheduler.solve(problem, scheduler.SolveParams(time_limit=2))
    assert scheduler.validate(problem, plan) == []
    assert plan.assignment()[str(needs_senior.id)][0] == str(senior.id)


def test_started_work_is_fixed_and_sites_without_coordinates_are_explained(make):
    session = make.session
    tech = make.technician()
    on_site = make.work_order(
        site=make.site(),
        status=WorkOrderStatus.ON_SITE,
        technician_id=tech.id,
        scheduled_start_at=_local(9),
        arrived_at=_local(9, 10),
    )
    nowhere = make.work_order(site=make.site(latitude=None, longitude=None))
    session.commit()
    snap = build_snapshot(session, DAY, territory="tehran")
    jobs = {j.id: j for j in snap.problem.jobs}
    fixed = jobs[str(on_site.id)]
    assert fixed.started and fixed.pinned_technician == str(tech.id)
    assert fixed.pinned_start == 9 * 3600 + 600
    assert "coordinates" in snap.skipped[str(nowhere.id)]


def test_windows_outside_the_horizon_leave_the_job_out(make):
    session = make.session
    make.technician()
    later = make.work_order(site=make.site())
    later.time_windows.append(
        WorkOrderWindow(
            starts_at=datetime.now(UTC) + timedelta(days=400),
            ends_at=datetime.now(UTC) + timedelta(days=401),
        )
    )
    session.commit()
    snap = build_snapshot(session, DAY)
    assert str(later.id) not in {j.id for j in snap.problem.jobs}


def test_only_the_runs_work_orders_are_read_from_the_database(make):
    """Windows, territory and day are conditions of the query, not filters in Python."""
    from sqlalchemy import event

    from fieldsvc.models import WorkOrder

    session = make.session
    tech = make.technician()
    other_tech = make.technician(territory="shiraz")
    site = make.site()
    no_window = make.work_order(site=site)
    today = make.work_order(site=site)
    today.time_windows.append(WorkOrderWindow(starts_at=_local(9), ends_at=_local(12)))
    next_week = make.work_order(site=site)
    next_week.time_windows.append(
        WorkOrderWindow(
            starts_at=_local(9, day=DAY + timedelta(days=7)),
            ends_at=_local(12, day=DAY + timedelta(days=7)),
        )
    )
    fixed_today = make.work_order(
        site=site,
        status=WorkOrderStatus.DISPATCHED,
        technician_id=tech.id,
        scheduled_start_at=_local(10),
    )
    fixed_tomorrow = make.work_order(
        site=site,
        status=WorkOrderStatus.DISPATCHED,
        technician_id=tech.id,
        scheduled_start_at=_local(10, day=DAY + timedelta(1)),
    )
    fixed_elsewhere = make.work_order(
        site=site,
        status=WorkOrderStatus.DISPATCHED,
        technician_id=other_tech.id,
        scheduled_start_at=_local(10),
    )
    far = make.work_order(site=make.site(territory="shiraz"))
    session.commit()
    wanted = {no_window.id, today.id, fixed_today.id}
    unwanted = {next_week.id, fixed_tomorrow.id, fixed_elsewhere.id, far.id}
    session.expunge_all()

    loaded: set[int] = set()  # work orders materialised as ORM objects
    read: set[int] = set()  # work order ids in the rows of the snapshot's work order query

    def note(target, _context):
        loaded.add(target.id)

    def rows(state):
        columns = list(state.statement.selected_columns) if state.is_select else []
        first = columns[0] if columns else None
        if getattr(first, "table", None) is not WorkOrder.__table__ or first.key != "id":
            return None
        frozen = state.invoke_statement().freeze()
        read.update(row[0] for row in frozen())
        return frozen()

    event.listen(WorkOrder, "load", note)
    event.listen(session, "do_orm_execute", rows)
    try:
        snap = build_snapshot(session, DAY, territory="tehran")
    finally:
        event.remove(WorkOrder, "load", note)
        event.remove(session, "do_orm_execute", rows)
    assert {int(j.id) for j in snap.problem.jobs} == wanted
    assert read == wanted  # next week's, tomorrow's, another territory's: never read
    assert not read & unwanted
    assert not loaded  # read as columns, never as objects


def test_snapshot_read_from_columns_equals_the_work_orders_read_as_objects(make):
    """A rich day (breaks, absences, several windows, skills, partly issued parts, pins,
    started work, SLA, continuity): every job equals the one described from the loaded
    work order objects, field by field."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from fieldsvc.dispatch.snapshot import job_of
    from fieldsvc.models import WorkOrder, WorkOrderPart

    session = make.session
    hvac, gas = make.skill("hvac-r"), make.skill("gas-r")
    senior = make.technician(skills={hvac: 4, gas: 2}, break_minutes=45)
    junior = make.technician(skills={hvac: 1})
    session.add(Absence(technician_id=junior.id, starts_at=_local(13), ends_at=_local(15)))
    filter_part, valve = make.part(), make.part()
    customer = make.customer()
    site = make.site(customer=customer, latitude=35.73, longitude=51.37)
    earlier = make.work_order(
        site=site,
        status=WorkOrderStatus.COMPLETED,
        technician_id=junior.id,
        completed_at=_local(10, day=DAY - timedelta(days=5)),
    )
    rich = make.work_order(site=site, priority=1, estimated_minutes=75, response_due_at=_local(15))
    rich.skills.append(WorkOrderSkill(skill_id=hvac.id, min_level=2))
    rich.skills.append(WorkOrderSkill(skill_id=gas.id, min_level=1))
    rich.time_windows.append(WorkOrderWindow(starts_at=_local(14), ends_at=_local(16)))
    rich.time_windows.append(WorkOrderWindow(starts_at=_local(8), ends_at=_local(10)))
    rich.parts.append(WorkOrderPart(part_id=filter_part.id, quantity=3, issued=1))
    rich.parts.append(WorkOrderPart(part_id=valve.id, quantity=1, issued=1))
    pinned = make.work_order(
        site=make.site(latitude=35.68, longitude=51.45),
        status=WorkOrderStatus.SCHEDULED,
        technician_id=senior.id,
        scheduled_start_at=_local(11),
        pinned=True,
    )
    pinned.time_windows.append(
        WorkOrderWindow(starts_at=_local(20, day=DAY - timedelta(days=1)), ends_at=_local(12))
    )
    started = make.work_order(
        site=make.site(latitude=35.75, longitude=51.30),
        status=WorkOrderStatus.ON_SITE,
        technician_id=junior.id,
        scheduled_start_at=_local(9),
        arrived_at=_local(9, 20),
    )
    plain = make.work_order(site=make.site(), estimated_minutes=30)
    session.commit()

    snap = build_snapshot(session, DAY, territory="tehran")
    new = {j.id: j for j in snap.problem.jobs}
    assert set(new) >= {str(w.id) for w in (rich, pinned, started, plain)}
    assert str(earlier.id) not in new
    horizon_s = 24 * 3600
    loaded = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.id.in_([int(i) for i in new]))
        .execution_options(populate_existing=True)
        .options(
            selectinload(WorkOrder.site),
            selectinload(WorkOrder.time_windows),
            selectinload(WorkOrder.skills),
            selectinload(WorkOrder.parts),
        )
    ).all()
    for wo in loaded:
        last = junior.id if wo.customer_id == customer.id else None
        assert new[str(wo.id)] == job_of(wo, _local(0), horizon_s, last)
        assert snap.versions[str(wo.id)] == wo.version
    job = new[str(rich.id)]
    assert job.required_skills == {"hvac-r": 2, "gas-r": 1}
    assert job.parts == {filter_part.sku: 2}
    assert job.time_windows == [
        scheduler.TimeWindow(8 * 3600, 10 * 3600),
        scheduler.TimeWindow(14 * 3600, 16 * 3600),
    ]
    assert job.last_technician == str(junior.id)
    assert new[str(pinned.id)].time_windows == [scheduler.TimeWindow(0, 12 * 3600)]
    assert new[str(started.id)].started and new[str(started.id)].pinned_start == 9 * 3600 + 1200
    tech = {t.id: t for t in snap.problem.technicians}[str(senior.id)]
    assert tech.shifts[0].breaks[0].duration == 45 * 60

    # Technicians read from columns equal those described from the loaded objects.
    from fieldsvc.dispatch.snapshot import TechnicianFacts, _technician
    from fieldsvc.models import Technician

    for obj in session.scalars(select(Technician).where(Technician.id.in_([senior.id,
                                                                           junior.id]))):
        described = _technician(TechnicianFacts.of(obj), _local(0), TEHRAN, [DAY], {})
        read = {t.id: t for t in snap.problem.technicians}[str(obj.id)]
        assert described == replace(read, van_stock={})
    junior_absent = {t.id: t for t in snap.problem.technicians}[str(junior.id)].absences
    assert junior_absent == [scheduler.TimeWindow(13 * 3600, 15 * 3600)]

    # Limited to some work orders, the snapshot holds exactly those jobs, unchanged.
    some = {rich.id, started.id, earlier.id}
    limited = build_snapshot(session, DAY, territory="tehran", work_order_ids=some)
    assert {j.id: j for j in limited.problem.jobs} == {
        str(i): new[str(i)] for i in (rich.id, started.id)}
    assert limited.problem.technicians == snap.problem.technicians
