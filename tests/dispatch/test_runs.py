"""Optimization runs: requested, executed outside the request, one at a time per day."""

from datetime import date

import pytest

from fieldsvc.context import Actor
from fieldsvc.dispatch.runs import execute_run, request_run
from fieldsvc.models import OptimizationRun, WorkOrderSkill
from fieldsvc.models.enums import RunStatus
from fieldsvc.problems import Conflict, InvalidInput

DAY = date(2026, 12, 1)
ACTOR = Actor(id=None, name="test", source="cli")


def _small_world(make):
    skill = make.skill("hvac")
    techs = [make.technician(skills={skill: 3}) for _ in range(2)]
    orders = []
    for i in range(4):
        wo = make.work_order(site=make.site(latitude=35.70 + i / 100, longitude=51.40),
                             estimated_minutes=60, priority=1 + i % 4)
        wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
        orders.append(wo)
    make.session.commit()
    return techs, orders


def test_a_run_plans_every_feasible_work_order_and_records_its_input(make):
    _small_world(make)
    session = make.session
    run = request_run(session, ACTOR, plan_date=DAY, territory="tehran", time_limit=2)
    session.commit()
    assert run.status is RunStatus.QUEUED
    done = execute_run(session, run.id, "Asia/Tehran")
    assert done.status is RunStatus.FINISHED, done.error
    assert done.assigned_count == 4 and done.unassigned_count == 0
    assert done.progress == 1.0
    assert done.result["violations"] == []
    assert len(done.input_snapshot["jobs"]) == 4
    assert done.objective["travel_seconds"] > 0


def test_a_second_run_for_the_same_day_waits_for_the_first(make):
    session = make.session
    first = request_run(session, ACTOR, plan_date=DAY, territory="tehran")
    session.commit()
    with pytest.raises(Conflict) as refused:
        request_run(session, ACTOR, plan_date=DAY, territory="tehran")
    assert refused.value.extensions["active_run_id"] == first.id
    session.rollback()
    # Another territory, or the same one once the first has finished, is fine.
    request_run(session, ACTOR, plan_date=DAY, territory="shiraz")
    first.status = RunStatus.FINISHED
    session.commit()
    request_run(session, ACTOR, plan_date=DAY, territory="tehran")
    session.commit()
    assert session.query(OptimizationRun).count() == 3


def test_unknown_technicians_are_refused(make):
    with pytest.raises(InvalidInput):
        request_run(make.session, ACTOR, plan_date=DAY, technician_ids=[12345])


def test_a_run_executes_only_once(make):
    _small_world(make)
    session = make.session
    run = request_run(session, ACTOR, plan_date=DAY, time_limit=1)
    session.commit()
    assert execute_run(session, run.id, "Asia/Tehran") is not None
    assert execute_run(session, run.id, "Asia/Tehran") is None


def test_optimize_command_shows_progress_and_stores_the_run(make, runner):
    _small_world(make)
    result = runner.invoke(args=["optimize", "--date", DAY.isoformat(), "--territory",
                                 "tehran", "--time-limit", "2"])
    assert result.exit_code == 0, result.output
    assert "4 work orders planned, 0 unassigned" in result.output
    bad = runner.invoke(args=["optimize", "--date", "2026-13-01"])
    assert bad.exit_code == 2


def _finished_run(make):
    techs, orders = _small_world(make)
    session = make.session
    run = request_run(session, ACTOR, plan_date=DAY, territory="tehran", time_limit=2)
    session.commit()
    return techs, orders, execute_run(session, run.id, "Asia/Tehran")


def test_publishing_schedules_the_work_orders_with_technician_start_and_eta(make):
    from fieldsvc.dispatch.publish import publish_run
    from fieldsvc.models.enums import WorkOrderStatus

    techs, orders, run = _finished_run(make)
    session = make.session
    report = publish_run(session, run, ACTOR)
    session.commit()
    assert sorted(report.scheduled) == sorted(o.id for o in orders)
    for order in orders:
        session.refresh(order)
        assert order.status is WorkOrderStatus.SCHEDULED
        assert order.technician_id in {t.id for t in techs}
        assert order.scheduled_start_at.date() == DAY
        assert order.eta_at <= order.scheduled_start_at < order.scheduled_end_at
        assert order.transitions[-1].to_status == "scheduled"
    with pytest.raises(Conflict):
        publish_run(session, run, ACTOR)


def test_publishing_leaves_work_orders_edited_since_the_run_alone(make):
    from fieldsvc.dispatch.publish import publish_run
    from fieldsvc.models.enums import WorkOrderStatus

    _, orders, run = _finished_run(make)
    session = make.session
    edited = orders[0]
    edited.description = "customer called: gate code 1234"
    session.commit()
    report = publish_run(session, run, ACTOR)
    session.commit()
    assert report.changed_since_run == [edited.id]
    session.refresh(edited)
    assert edited.status is WorkOrderStatus.NEW and edited.technician_id is None
    assert len(report.scheduled) == len(orders) - 1
