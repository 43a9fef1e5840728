"""The scheduler process: its jobs called directly, its lock, and a short real run."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fieldsvc.dispatch.queue import InlineQueue, get_queue
from fieldsvc.extensions import db
from fieldsvc.models import Interaction, OptimizationRun, WorkOrder
from fieldsvc.models.base import utcnow
from scheduler import jobs
from tests.dispatch.test_rq_worker import rq_app  # noqa: F401 - fixture
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
    get_queue(app).wait(120)  # the runs execute on the queue, not inside the job
    with app.app_context():
        runs = db.session.scalars(select(OptimizationRun)).all()
        assert {r.status.value for r in runs} == {"finished"}
        assert all(r.published_at is None for r in runs)  # proposed, not published
        db.session.remove()
    jobs.nightly_replan(app)  # a takeover re-running it adds nothing
    assert _count(app, OptimizationRun) == 2


def test_each_territory_run_is_handed_over_only_once_its_transaction_committed(app, make):
    # Each run is inserted under a SAVEPOINT; handing one over when the next territory's
    # SAVEPOINT is released would let the worker look for it before it is committed, find
    # nothing queued and leave it queued for good. The inline queue executes at hand-over.
    app.config["REPLAN_TIME_LIMIT"] = 1
    previous = app.extensions.get("fieldsvc_run_queue")
    app.extensions["fieldsvc_run_queue"] = InlineQueue(app)
    try:
        for territory in ("north", "south", "west"):
            make.technician(territory=territory)
        make.work_order(estimated_minutes=30)
        assert "west: run" in jobs.nightly_replan(app)
    finally:
        app.extensions["fieldsvc_run_queue"] = previous
    with app.app_context():
        runs = db.session.scalars(select(OptimizationRun)).all()
        assert [r.status.value for r in runs] == ["finished"] * 3
        db.session.remove()


def test_a_replan_enqueues_one_run_per_territory_for_the_workers(rq_app, make,  # noqa: F811
                                                                  monkeypatch):
    from fieldsvc.dispatch.queue import work

    monkeypatch.setenv("FIELDSVC_REPLAN_TIME_LIMIT", "1")
    for territory in ("north", "south", "west"):
        make.technician(territory=territory)
    make.technician(territory="west")
    make.technician(territory=None)  # no territory: nothing to plan for it on its own
    make.work_order(estimated_minutes=30)
    summary = jobs.nightly_replan(rq_app)
    queue = get_queue(rq_app).queue
    with rq_app.app_context():
        runs = db.session.scalars(select(OptimizationRun).order_by(OptimizationRun.id)).all()
        db.session.remove()
    assert [r.territory for r in runs] == ["north", "south", "west"], summary
    assert {r.status.value for r in runs} == {"queued"}  # the scheduler solved nothing
    assert sorted(job.args[0] for job in queue.get_jobs()) == [r.id for r in runs]
    work(rq_app, burst=True, fork=False)  # a worker takes them, one job per territory
    with rq_app.app_context():
        assert {r.status.value for r in db.session.scalars(select(OptimizationRun))} == \
            {"finished"}
        db.session.remove()
    # Again (a takeover): every territory has its run, nothing more is queued.
    assert "exists" in jobs.nightly_replan(rq_app)
    assert queue.count == 0 and _count(rq_app, OptimizationRun) == 3


def test_the_sla_watch_commits_in_batches_within_a_time_budget(app, make):
    orders = [_late(make, utcnow()) for _ in range(5)]
    app.config["JOB_BATCH_SIZE"] = 2
    summary = jobs.sla_watch(app)
    assert "5 escalations" in summary and "in 3 batches (done)" in summary
    assert _count(app, Interaction) == 5
    # A spent budget leaves the rest to the next run, which starts over and finds it.
    for _ in range(3):
        orders.append(_late(make, utcnow()))
    app.config["JOB_TIME_BUDGET_SECONDS"] = 0.000001
    summary = jobs.sla_watch(app)
    assert "in 1 batches (time budget spent)" in summary
    assert _count(app, Interaction) < 8
    app.config["JOB_TIME_BUDGET_SECONDS"] = 30
    jobs.sla_watch(app)
    assert _count(app, Interaction) == 8  # each breach escalated once in all
    for wo in orders:
        assert _count(app, Interaction, Interaction.work_order_id == wo.id) == 1


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
    assert sorted(j.id for j in sched.get_jobs()) == ["event_delivery", "nightly_replan",
                                                      "notifications",
                                                      "retention", "rma_overdue", "run_reaper",
                                                      "sla_watch"]
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


def _start(app, tmp_path, name, seconds, **extra):
    env = dict(os.environ, **extra, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PYTHONPATH=str(ROOT), FIELDSVC_SCHEDULE_SLA_WATCH="1",
               FIELDSVC_SCHEDULE_PM_GENERATION="off", FIELDSVC_SCHEDULE_NIGHTLY_REPLAN="off",
               FIELDSVC_SCHEDULE_RMA_OVERDUE="off", FIELDSVC_SCHEDULER_RETRY_SECONDS="1")
    log = tmp_path / f"{name}.log"
    proc = subprocess.Popen(
        ["timeout", str(seconds), sys.executable, "-c",
         "from fieldsvc.cli import main; main()", "scheduler"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        start_new_session=True)  # a group of its own, so a test can kill it whole
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
                os.killpg(proc.pid, signal.SIGKILL)  # `timeout` and the scheduler under it
                proc.wait(10)
    # Two schedulers, many runs of the watch: the breach was escalated once.
    assert _count(app, Interaction, Interaction.work_order_id == wo.id) == 1
    with app.app_context():
        assert db.session.get(WorkOrder, wo.id).priority == 2
        db.session.remove()


def test_a_scheduler_told_to_stop_stops_whether_standby_or_just_active(app, tmp_path):
    first, first_log = _start(app, tmp_path, "first", 120)
    second = None
    try:
        assert _wait_for(first_log, "active: scheduler lock taken", 60), first_log.read_text()
        second, second_log = _start(app, tmp_path, "second", 120)
        assert _wait_for(second_log, "standby", 60), second_log.read_text()
        # (`timeout` passes SIGTERM on to its process group too, so a process may get it
        # twice and end by it rather than with status 0: ending in time is what counts.)
        second.terminate()  # a standby leaves without waiting for the lock
        second.wait(30)
        assert "lock taken" not in second_log.read_text()
        first.terminate()  # the active one
        first.wait(30)
        assert "stopped" in first_log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # `timeout` and the scheduler under it
                proc.wait(10)


def test_a_stopping_scheduler_finishes_its_job_before_the_standby_takes_over(app, make,
                                                                             tmp_path):
    """Two schedulers, a long job in flight: it never runs twice nor at once."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("holds a row lock across processes: PostgreSQL")
    import sqlalchemy as sa

    wo = _late(make, utcnow())
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    blocker = engine.connect()
    first = second = None
    try:
        # Someone holds the late work order: the first scheduler's watch waits on it when it
        # escalates, a job in flight for as long as we hold it.
        blocker.begin()
        blocker.execute(sa.text("SELECT id FROM work_order WHERE id = :id FOR UPDATE"),
                        {"id": wo.id})
        first, first_log = _start(app, tmp_path, "first", 120,
                                  FIELDSVC_DB_LOCK_TIMEOUT_SCHEDULER="120000")
        assert _wait_for(first_log, "job sla_watch: started", 60), first_log.read_text()
        second, second_log = _start(app, tmp_path, "second", 120)
        assert _wait_for(second_log, "standby", 60), second_log.read_text()
        assert "job sla_watch: 1" not in first_log.read_text()  # still waiting on the row
        first.terminate()  # SIGTERM with the watch in flight
        assert _wait_for(first_log, "stopping: waiting for running jobs", 15), \
            first_log.read_text()
        time.sleep(4)  # the standby retries every second: it must not get the lock yet
        assert first.poll() is None, first_log.read_text()
        assert "active: scheduler lock taken" not in second_log.read_text()
        blocker.rollback()  # the row is free: the first's watch ends its batch
        first.wait(30)
        text = first_log.read_text()
        assert "job sla_watch: 1 newly at risk, 1 newly breached, 1 escalations" in text, text
        assert text.rindex("job sla_watch: ") < text.index("stopped")
        assert _wait_for(second_log, "active: scheduler lock taken", 15), \
            second_log.read_text()
        assert _wait_for(second_log, "job sla_watch: 0 newly", 15), second_log.read_text()
    finally:
        blocker.close()
        engine.dispose()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # `timeout` and the scheduler under it
                proc.wait(10)
    assert _count(app, Interaction, Interaction.work_order_id == wo.id) == 1


def _wait_for_count(log: Path, text: str, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text().count(text) >= count:
            return True
        time.sleep(0.2)
    return False
