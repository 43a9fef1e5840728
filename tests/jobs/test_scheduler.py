"""The scheduler process: its jobs called directly, its lock, and a short real run."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fieldsvc.extensions import db
from fieldsvc.models import Interaction, OptimizationRun, WorkOrder
from fieldsvc.models.base import utcnow
from scheduler import jobs
from tests.jobs.test_sla_watch import _late

ROOT = Path(__file__).resolve().parents[2]


def _count(app, model, *where):
    with app.app_context():
        n = len(db.session.scalars(select(model).where(*where)).all())
        db.session.remove()
        return n


def test_sla_job_commits_and_is_idempotent(app, make):
    wo = _late(make, utcnow())
    assert "1 escalations" in jobs.sla_watch(app)
    assert "0 escalations" in jobs.sla_watch(app)
    assert _count(app, Interaction, Interaction.work_order_id == wo.id) == 1


def test_nightly_replan_plans_tomorrow_once_per_territory(app, make, monkeypatch):
    app.config["REPLAN_TIME_LIMIT"] = 1
    make.technician(territory="north")
    make.technician(territory="south")
    make.work_order(estimated_minutes=30)
    summary = jobs.nightly_replan(app)
    assert "north: run" in summary and "south: run" in summary
    assert _count(app, OptimizationRun) == 2
    with app.app_context():
        runs = db.session.scalars(select(OptimizationRun)).all()
        assert {r.status.value for r in runs} == {"finished"}
        assert all(r.published_at is None for r in runs)  # proposed, not published
        db.session.remove()
    jobs.nightly_replan(app)  # a takeover re-running it adds nothing
    assert _count(app, OptimizationRun) == 2


def test_other_jobs_run_or_skip_without_failing(app):
    # PM generation and overdue RMAs belong to other areas; absent or present, no crash.
    jobs.pm_generation(app)
    jobs.rma_overdue(app)


def test_schedules_are_read_from_the_environment(app):
    assert jobs.trigger("off", "UTC") is None
    assert jobs.trigger("2.5", "UTC").interval == timedelta(seconds=2.5)
    assert "hour='22'" in str(jobs.trigger("0 22 * * *", "Asia/Tehran"))
    for bad in ("every day", "0 25 * * *", "-3"):
        with pytest.raises(ValueError):
            jobs.trigger(bad, "UTC")
    sched = jobs.build_scheduler(app, schedules={"FIELDSVC_SCHEDULE_PM_GENERATION": "off"})
    assert sorted(j.id for j in sched.get_jobs()) == ["nightly_replan", "rma_overdue",
                                                      "run_reaper", "sla_watch"]
    with pytest.raises(ValueError, match="FIELDSVC_SCHEDULE_SLA_WATCH"):
        jobs.build_scheduler(app, schedules={"FIELDSVC_SCHEDULE_SLA_WATCH": "soon"})


def test_only_one_lock_holder_at_a_time(app, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    first = jobs.SchedulerLock(url, str(tmp_path))
    second = jobs.SchedulerLock(url, str(tmp_path))
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        assert second.acquire() is False
        assert first.alive()
        first.release()
        assert second.acquire() is True
        assert first.acquire() is False
    finally:
        first.release()
        second.release()


def _start(app, tmp_path, name, seconds):
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PYTHONPATH=str(ROOT), FIELDSVC_SCHEDULE_SLA_WATCH="1",
               FIELDSVC_SCHEDULE_PM_GENERATION="off", FIELDSVC_SCHEDULE_NIGHTLY_REPLAN="off",
               FIELDSVC_SCHEDULE_RMA_OVERDUE="off", FIELDSVC_SCHEDULER_RETRY_SECONDS="1")
    log = tmp_path / f"{name}.log"
    proc = subprocess.Popen(
        ["timeout", str(seconds), sys.executable, "-c",
         "from fieldsvc.cli import main; main()", "scheduler"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    return proc, log


def _wait_for(log: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return True
        time.sleep(0.2)
    return False


def test_a_real_scheduler_runs_jobs_and_a_standby_takes_over(app, make, tmp_path):
    wo = _late(make, utcnow())
    # `timeout` is the safety net; the test stops each process itself.
    first, first_log = _start(app, tmp_path, "first", 120)
    try:
        assert _wait_for(first_log, "active: scheduler lock taken", 60), first_log.read_text()
        second, second_log = _start(app, tmp_path, "second", 120)
        assert _wait_for(second_log, "standby", 60), second_log.read_text()
        assert _wait_for(first_log, "job sla_watch: ", 15), first_log.read_text()
        # The first one stops (SIGTERM, as a process manager would): the standby takes over.
        first.terminate()
        first.wait(30)
        assert "stopped" in first_log.read_text()
        assert _wait_for(second_log, "active: scheduler lock taken", 15), \
            second_log.read_text()
        assert _wait_for(second_log, "job sla_watch: ", 15), second_log.read_text()
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
    # Two schedulers, many runs of the watch: the breach was escalated once.
    assert _count(app, Interaction, Interaction.work_order_id == wo.id) == 1
    with app.app_context():
        assert db.session.get(WorkOrder, wo.id).priority == 2
        db.session.remove()
