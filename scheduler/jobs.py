"""Periodic jobs of `fieldsvc scheduler`: the one bridge from this package to the app.

Each job opens an app context, calls a service, commits once and logs what it did. Every
job is idempotent by database keys (PM occurrences are unique, SLA escalations are
conditional on the work order's version, a day's run exists once, overdue RMAs are flagged
once), so a standby scheduler taking over never doubles an effect.

Exactly one scheduler is active at a time (`SchedulerLock`): on PostgreSQL a session-level
advisory lock held on a dedicated connection for the life of the process; on SQLite (one
machine) an exclusive lock on a file next to the database.

Schedules come from the configuration (fieldsvc.config reads the environment), each a 5-field cron line in FIELDSVC_TIMEZONE
("0 22 * * *"), a number of seconds ("60"), or "off":

    FIELDSVC_SCHEDULE_PM_GENERATION   default 3600       preventive maintenance generation
    FIELDSVC_SCHEDULE_SLA_WATCH       default 60         SLA watch and escalation
    FIELDSVC_SCHEDULE_NIGHTLY_REPLAN  default 0 22 * * * tomorrow's run per territory
    FIELDSVC_SCHEDULE_RMA_OVERDUE     default 3600       overdue advance-exchange returns, reminders
    FIELDSVC_SCHEDULE_RUN_REAPER      default 30         fail runs whose worker died
    FIELDSVC_SCHEDULE_RETENTION       default 30 3 * * * purge expired rows (services.retention)
    FIELDSVC_SCHEDULE_NOTIFICATIONS   default 30         send due customer messages (fieldsvc.notify)
    FIELDSVC_SCHEDULE_EVENT_DELIVERY  default 2          deliver outbox events (not with rq)

Each job runs under a request id of its own (`job-<name>-<hex>`), which its log lines and
the optimization runs it executes carry.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

# Imported here, not inside the jobs: a broken import must stop the scheduler at start, not
# silently turn a periodic job off.
from fieldsvc.dates import today_in
from fieldsvc.services.pm_generation import generate_due_work_orders
from rma.notifications import queue_return_reminders
from rma.services import flag_overdue_returns

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

log = logging.getLogger("fieldsvc.scheduler")

# pg_try_advisory_lock key: "fieldsvc" as a 64-bit integer, shared by every scheduler.
ADVISORY_KEY = int.from_bytes(b"fieldsvc", "big") & 0x7FFF_FFFF_FFFF_FFFF


def _job_actor():
    from fieldsvc.context import Actor

    return Actor(id=None, name="scheduler", source="job")


STOP_KEY = "fieldsvc_scheduler_stop"


def stop_event(app) -> threading.Event:
    """Set when this scheduler is stopping: jobs end at their next safe point (a batch)."""
    return app.extensions.setdefault(STOP_KEY, threading.Event())


def job_budget(app) -> float:
    """Seconds a batched job may go on before it leaves the rest to its next run."""
    return float(app.config.get("JOB_TIME_BUDGET_SECONDS") or 30)


def job_batch(app) -> int:
    """Rows (work orders, PM plans) a batched job handles per transaction."""
    return int(app.config.get("JOB_BATCH_SIZE") or 200)


def _run_in_app(app, name: str, body: Callable[..., str]) -> str | None:
    """Run `body(session, actor)` in an app context; commit, or roll back and log."""
    from fieldsvc.context import acting_as
    from fieldsvc.extensions import db

    log.info("job %s: started", name)
    with app.app_context(), acting_as(_job_actor()) as actor:
        try:
            summary = body(db.session, actor)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", name)
            return None
        finally:
            db.session.remove()
    log.info("job %s: %s", name, summary)
    return summary


def run_batches(app, session, step: Callable[[Any], tuple[Any, Any]]) -> tuple[list, str]:
    """Call `step(cursor)` (cursor None first) and commit after each call, until it answers
    no next cursor, the time budget is spent or the scheduler is stopping.

    Each batch is its own short transaction, so no lock is held for the whole job and a
    stopping scheduler waits for one batch at most. Returns the batches' results and why
    it ended ("done", "time budget spent" or "stopping").
    """
    deadline = time.monotonic() + job_budget(app)
    stop = stop_event(app)
    results, cursor = [], None
    while True:
        result, cursor = step(cursor)
        session.commit()
        results.append(result)
        if cursor is None:
            return results, "done"
        if stop.is_set():
            return results, "stopping"
        if time.monotonic() >= deadline:
            return results, "time budget spent"


# ------------------------------------------------------------------------------- jobs


def pm_generation(app) -> str | None:
    """Turn due preventive-maintenance occurrences into work orders (exactly once each),
    a batch of plans per transaction."""
    from sqlalchemy import select

    from fieldsvc.models.base import utcnow
    from fieldsvc.models.pm import PmPlan

    def body(session, actor):
        now = utcnow()
        plan_ids = list(session.scalars(select(PmPlan.id).where(PmPlan.active.is_(True))
                                        .order_by(PmPlan.id)))
        size = job_batch(app)

        def step(start):
            start = start or 0
            chunk = plan_ids[start:start + size]
            report = generate_due_work_orders(session, now=now, plan_ids=chunk, actor=actor)
            following = start + size
            return report, (following if following < len(plan_ids) else None)

        if not plan_ids:
            return "no active plans"
        reports, ended = run_batches(app, session, step)
        created = sum(r.work_orders_created for r in reports)
        examined = sum(r.plans_examined for r in reports)
        return (f"{created} work orders created from {examined} of {len(plan_ids)} plans "
                f"in {len(reports)} batches ({ended})")

    return _run_in_app(app, "pm_generation", body)


def sla_watch(app) -> str | None:
    """Flag SLA risks and breaches; escalate each breach once; a batch per transaction."""

    def body(session, actor):
        from fieldsvc.models.base import utcnow
        from fieldsvc.services.sla_watch import WatchReport, watch

        now = utcnow()

        def step(after_id):
            report = watch(session, actor, now=now, risk_minutes=risk_minutes(app),
                           timezone=app.config["DEFAULT_TIMEZONE"], after_id=after_id or 0,
                           limit=job_batch(app))
            return report, (report.last_id if report.more else None)

        reports, ended = run_batches(app, session, step)
        return f"{WatchReport.combine(reports).summary()} in {len(reports)} batches ({ended})"

    return _run_in_app(app, "sla_watch", body)


def nightly_replan(app) -> str | None:
    """Request tomorrow's optimization run for every territory and hand each to the run
    queue (not published); the workers solve them, one run per territory.

    A territory whose day already has a run that did not fail (a dispatcher's, or this job's
    before a takeover) is left alone.
    """
    from fieldsvc.dispatch.runs import request_territory_runs

    tz = app.config["DEFAULT_TIMEZONE"]
    day = today_in(tz) + timedelta(days=1)
    time_limit = float(app.config["REPLAN_TIME_LIMIT"])

    def body(session, actor):
        outcome = request_territory_runs(app, session, actor, plan_date=day,
                                         time_limit=time_limit, skip_existing=True)
        return f"{day}: {outcome.summary()}"

    return _run_in_app(app, "nightly_replan", body)


def retention(app) -> str | None:
    """Purge what has expired (tokens, pings, change feed, idempotency keys, audit, run
    payloads), each kind after its configured days, a batch per transaction."""

    def body(session, actor):
        from fieldsvc.models.base import utcnow
        from fieldsvc.services.retention import RetentionReport, cutoffs, purge_batch

        expiry = list(cutoffs(app.config["RETENTION_DAYS"], utcnow()).items())
        report = RetentionReport()
        if not expiry:
            return "retention off for every kind"
        size = job_batch(app) * 10  # narrow rows: ten times a job's batch

        def step(position):
            position = position or 0
            kind, cutoff = expiry[position]
            touched = purge_batch(session, kind, cutoff, size)
            report.purged[kind] = report.purged.get(kind, 0) + touched
            if touched == size:
                return kind, position
            return kind, (position + 1 if position + 1 < len(expiry) else None)

        _, ended = run_batches(app, session, step)
        if ended != "done":
            report.unfinished = [k for k, _ in expiry if k not in report.purged
                                 or report.purged[k] % size == 0]
        return report.summary()

    return _run_in_app(app, "retention", body)


def rma_overdue(app) -> str | None:
    """Flag advance exchanges whose faulty unit is overdue."""

    def body(session, actor):
        from fieldsvc.models.base import utcnow

        now = utcnow()
        flagged = flag_overdue_returns(session, now=now, actor=actor)
        reminded = queue_return_reminders(
            session, now=now, days=int(app.config.get("NOTIFY_RETURN_REMINDER_DAYS", 3)))
        return f"{len(flagged)} RMAs flagged overdue, {len(reminded)} customers reminded"

    return _run_in_app(app, "rma_overdue", body)


def notifications(app) -> str | None:
    """Send the customer messages that are due (fieldsvc.notify)."""

    def body(session, actor):
        from fieldsvc.notify.service import send_due

        counts = send_due(session)
        return ", ".join(f"{count} {outcome}" for outcome, count in counts.items())

    return _run_in_app(app, "notifications", body)


def run_reaper(app) -> str | None:
    """Fail optimization runs whose worker died, or that no worker took (see runs.py)."""

    def body(session, actor):
        from fieldsvc.dispatch.runs import fail_stale_runs

        failed = fail_stale_runs(session)
        return f"{len(failed)} stale runs failed" + (f": {failed}" if failed else "")

    return _run_in_app(app, "run_reaper", body)


def event_delivery(app) -> str | None:
    """Fan out and deliver outbox events (webhooks, ...) until none is due or the budget is
    spent. With FIELDSVC_RUN_QUEUE=rq, `fieldsvc worker` delivers and this job does not."""
    from fieldsvc import events

    if app.config.get("RUN_QUEUE") == "rq":
        return "delivered by fieldsvc worker (FIELDSVC_RUN_QUEUE=rq)"
    try:
        return events.deliver(app, budget_seconds=job_budget(app),
                              stop=stop_event(app)).summary()
    except Exception:
        log.exception("job event_delivery failed")
        return None


def risk_minutes(app) -> int:
    return int(app.config.get("SLA_RISK_MINUTES") or 60)


# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable
    env: str  # the setting's name; its default is in fieldsvc.config


JOBS = (
    JobSpec("pm_generation", pm_generation, "FIELDSVC_SCHEDULE_PM_GENERATION"),
    JobSpec("sla_watch", sla_watch, "FIELDSVC_SCHEDULE_SLA_WATCH"),
    JobSpec("nightly_replan", nightly_replan, "FIELDSVC_SCHEDULE_NIGHTLY_REPLAN"),
    JobSpec("rma_overdue", rma_overdue, "FIELDSVC_SCHEDULE_RMA_OVERDUE"),
    JobSpec("run_reaper", run_reaper, "FIELDSVC_SCHEDULE_RUN_REAPER"),
    JobSpec("retention", retention, "FIELDSVC_SCHEDULE_RETENTION"),
    JobSpec("notifications", notifications, "FIELDSVC_SCHEDULE_NOTIFICATIONS"),
    JobSpec("event_delivery", event_delivery, "FIELDSVC_SCHEDULE_EVENT_DELIVERY"),
)


def instrumented(name: str, func: Callable) -> Callable:
    """A job run under a request id of its own, counted by outcome (None: it failed)."""

    def run(app):
        from fieldsvc.ops import metrics
        from fieldsvc.ops.request_id import carrying, new_id

        with carrying(new_id(f"job-{name}-")):
            result = func(app)
        metrics.observe_job(name, result is not None)
        return result

    run.__name__ = run.__qualname__ = name
    return run


def trigger(text: str, timezone: str):
    """A trigger from "off", a number of seconds or a 5-field cron line; ValueError if bad."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    text = text.strip()
    if text.lower() in {"", "off", "none", "disabled"}:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return CronTrigger.from_crontab(text, timezone=ZoneInfo(timezone))
    if seconds <= 0:
        raise ValueError(f"interval must be positive, got {text!r}")
    return IntervalTrigger(seconds=seconds, timezone=ZoneInfo(timezone))


def build_scheduler(app, schedules: dict[str, str] | None = None, executor=None):
    """A BackgroundScheduler (not started) with every enabled job; ValueError names a bad
    schedule. Its threads are daemons: the caller's main thread decides when to stop.

    The schedules come from the app's SCHEDULES setting; `schedules` overrides some of them.
    `executor` (an APScheduler ThreadPoolExecutor) runs the jobs; the caller keeps it to
    wait for running jobs when it stops.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    env = {**app.config["SCHEDULES"], **(schedules or {})}
    tz = app.config["DEFAULT_TIMEZONE"]
    sched = BackgroundScheduler(timezone=ZoneInfo(tz),
                              executors={"default": executor or ThreadPoolExecutor(4)})
    for spec in JOBS:
        raw = env[spec.env]
        try:
            trig = trigger(raw, tz)
        except ValueError as exc:
            raise ValueError(f"{spec.env}={raw!r}: {exc}") from None
        if trig is None:
            log.info("job %s: off (%s)", spec.name, spec.env)
            continue
        sched.add_job(instrumented(spec.name, spec.func), trig, args=[app], id=spec.name,
                      name=spec.name,
                      max_instances=1, coalesce=True, misfire_grace_time=300)
        log.info("job %s: %s", spec.name, trig)
    return sched


# ------------------------------------------------------------------------------- lock


class SchedulerLock:
    """The one-active-scheduler lock; `acquire()` answers at once, True if it is ours."""

    def __init__(self, database_url: str, lock_dir: str | None = None) -> None:
        self.url = database_url
        self.lock_dir = lock_dir
        self._conn: Connection | None = None
        self._file: TextIO | None = None

    @property
    def is_postgresql(self) -> bool:
        return self.url.startswith("postgresql")

    def lock_path(self) -> Path:
        from sqlalchemy.engine import make_url

        database = make_url(self.url).database
        if database and database != ":memory:":
            return Path(database).with_name(Path(database).name + ".scheduler.lock")
        return Path(self.lock_dir or ".") / "fieldsvc-scheduler.lock"

    def acquire(self) -> bool:
        if self.is_postgresql:
            return self._acquire_pg()
        return self._acquire_file()

    def _acquire_pg(self) -> bool:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        if self._conn is None:
            # Its own connection, outside any pool: the lock lives as long as it does.
            engine = sa.create_engine(self.url, poolclass=NullPool)
            self._conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn = self._conn
        got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                {"k": ADVISORY_KEY}).scalar())
        if not got:
            conn.close()
            self._conn = None
        return got

    def _acquire_file(self) -> bool:
        path = self.lock_path()
        handle = open(path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def alive(self) -> bool:
        """Still ours? (A PostgreSQL connection lost means the lock is lost too.)"""
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        import sqlalchemy as sa

        try:
            self._conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._conn is not None:
            import sqlalchemy as sa

            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
