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
    FIELDSVC_SCHEDULE_RMA_OVERDUE     default 3600       overdue advance-exchange returns
    FIELDSVC_SCHEDULE_RUN_REAPER      default 30         fail runs whose worker died

Each job runs under a request id of its own (`job-<name>-<hex>`), which its log lines and
the optimization runs it executes carry.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

# Imported here, not inside the jobs: a broken import must stop the scheduler at start, not
# silently turn a periodic job off.
from fieldsvc.dates import today_in
from fieldsvc.services.pm_generation import generate_due_work_orders
from rma.services import flag_overdue_returns

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

log = logging.getLogger("fieldsvc.scheduler")

# pg_try_advisory_lock key: "fieldsvc" as a 64-bit integer, shared by every scheduler.
ADVISORY_KEY = int.from_bytes(b"fieldsvc", "big") & 0x7FFF_FFFF_FFFF_FFFF


def _job_actor():
    from fieldsvc.context import Actor

    return Actor(id=None, name="scheduler", source="job")


def _run_in_app(app, name: str, body: Callable[..., str]) -> str | None:
    """Run `body(session, actor)` in an app context; commit, or roll back and log."""
    from fieldsvc.context import acting_as
    from fieldsvc.extensions import db

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


# ------------------------------------------------------------------------------- jobs


def pm_generation(app) -> str | None:
    """Turn due preventive-maintenance occurrences into work orders (exactly once each)."""

    def body(session, actor):
        from fieldsvc.models.base import utcnow

        report = generate_due_work_orders(session, now=utcnow(), actor=actor)
        summary = getattr(report, "summary", None)
        return str(summary() if callable(summary) else report)

    return _run_in_app(app, "pm_generation", body)


def sla_watch(app) -> str | None:
    """Flag SLA risks and breaches; escalate each breach once."""

    def body(session, actor):
        from fieldsvc.services.sla_watch import watch

        return watch(session, actor, risk_minutes=risk_minutes(app),
                     timezone=app.config["DEFAULT_TIMEZONE"]).summary()

    return _run_in_app(app, "sla_watch", body)


def nightly_replan(app) -> str | None:
    """Request and execute tomorrow's optimization run for every territory (not published).

    A territory whose day already has a run that did not fail (a dispatcher's, or this job's
    before a takeover) is left alone.
    """
    from sqlalchemy import select

    from fieldsvc.context import acting_as
    from fieldsvc.dispatch.runs import execute_run, request_run
    from fieldsvc.extensions import db
    from fieldsvc.models import OptimizationRun, Technician
    from fieldsvc.models.enums import RunStatus
    from fieldsvc.problems import Problem

    tz = app.config["DEFAULT_TIMEZONE"]
    day = today_in(tz) + timedelta(days=1)
    time_limit = float(app.config["REPLAN_TIME_LIMIT"])
    done: list[str] = []
    with app.app_context(), acting_as(_job_actor()) as actor:
        try:
            territories = sorted({t for t in db.session.scalars(
                select(Technician.territory).where(Technician.active.is_(True),
                                                   Technician.territory.is_not(None)))
                if t is not None})
            for territory in territories:
                exists = db.session.scalar(select(OptimizationRun.id).where(
                    OptimizationRun.plan_date == day, OptimizationRun.territory == territory,
                    OptimizationRun.status != RunStatus.FAILED).limit(1))
                if exists is not None:
                    log.info("job nightly_replan: %s %s already has run %s", territory, day,
                             exists)
                    continue
                try:
                    run = request_run(db.session, actor, plan_date=day, territory=territory,
                                      time_limit=time_limit)
                    db.session.commit()
                except Problem as exc:  # another one was requested meanwhile
                    db.session.rollback()
                    log.info("job nightly_replan: %s %s: %s", territory, day, exc.detail)
                    continue
                finished = execute_run(db.session, run.id, tz)
                status = finished.status.value if finished is not None else "taken"
                done.append(f"{territory}: run {run.id} {status}")
        except Exception:
            db.session.rollback()
            log.exception("job nightly_replan failed")
            return None
        finally:
            db.session.remove()
    summary = f"{day}: " + ("; ".join(done) if done else "nothing to plan")
    log.info("job nightly_replan: %s", summary)
    return summary


def rma_overdue(app) -> str | None:
    """Flag advance exchanges whose faulty unit is overdue."""

    def body(session, actor):
        from fieldsvc.models.base import utcnow

        flagged = flag_overdue_returns(session, now=utcnow(), actor=actor)
        return f"{len(flagged)} RMAs flagged overdue"

    return _run_in_app(app, "rma_overdue", body)


def run_reaper(app) -> str | None:
    """Fail optimization runs whose worker died, or that no worker took (see runs.py)."""

    def body(session, actor):
        from fieldsvc.dispatch.runs import fail_stale_runs

        failed = fail_stale_runs(session)
        return f"{len(failed)} stale runs failed" + (f": {failed}" if failed else "")

    return _run_in_app(app, "run_reaper", body)


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


def build_scheduler(app, schedules: dict[str, str] | None = None):
    """A BlockingScheduler with every enabled job; ValueError names a bad schedule.

    The schedules come from the app's SCHEDULES setting; `schedules` overrides some of them.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    env = {**app.config["SCHEDULES"], **(schedules or {})}
    tz = app.config["DEFAULT_TIMEZONE"]
    sched = BlockingScheduler(timezone=ZoneInfo(tz))
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
