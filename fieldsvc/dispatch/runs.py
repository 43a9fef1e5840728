"""Optimization runs: request one, execute it outside the request, keep its result."""

from __future__ import annotations

import logging
import time as clock
import traceback
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.context import Actor
from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.models import OptimizationRun, Technician
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import RunStatus
from fieldsvc.ops import metrics
from fieldsvc.problems import Conflict, InvalidInput

log = logging.getLogger(__name__)

MAX_TIME_LIMIT = 600
DEFAULT_TIME_LIMIT = 30


def _active_run(session: Session, plan_date: date, territory: str | None) -> int | None:
    return session.scalar(
        select(OptimizationRun.id).where(
            OptimizationRun.plan_date == plan_date,
            func.coalesce(OptimizationRun.territory, "") == (territory or ""),
            OptimizationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
    )


def request_run(
    session: Session,
    actor: Actor,
    *,
    plan_date: date,
    horizon_days: int = 1,
    territory: str | None = None,
    technician_ids: list[int] | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> OptimizationRun:
    """Queue a run for a territory and day; 409 while another one is queued or running.

    A run of that day and territory whose worker died is failed first (`fail_stale_runs`),
    so it cannot block the next one for longer than its own time limit and the grace.
    """
    fail_stale_runs(session, plan_date=plan_date, territory=territory)
    if technician_ids:
        known = set(session.scalars(select(Technician.id).where(
            Technician.id.in_(technician_ids))))
        missing = sorted(set(technician_ids) - known)
        if missing:
            raise InvalidInput({"technician_ids": [f"No technician with id {missing[0]}."]})
    run = OptimizationRun(
        plan_date=plan_date,
        horizon_days=horizon_days,
        territory=territory,
        parameters={"technician_ids": technician_ids or [], "time_limit": time_limit},
        status=RunStatus.QUEUED,
        message="queued",
        created_by_id=actor.id,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        other = _active_run(session, plan_date, territory)
        where = f"territory {territory}" if territory else "all territories"
        raise Conflict(
            f"Run {other} for {where} on {plan_date.isoformat()} is still queued or running; "
            "wait for it to finish.",
            active_run_id=other,
        ) from None
    return run


@dataclass
class TerritoryRuns:
    """What `request_territory_runs` did, territory by territory."""

    plan_date: date
    requested: list[OptimizationRun] = field(default_factory=list)
    existing: dict[str, int] = field(default_factory=dict)  # territory -> its run's id

    def summary(self) -> str:
        if not self.requested and not self.existing:
            return "nothing to plan (no active technician has a territory)"
        parts = [f"{r.territory}: run {r.id} queued" for r in self.requested]
        parts += [f"{t}: run {i} exists" for t, i in sorted(self.existing.items())]
        return "; ".join(parts)


def territories(session: Session) -> list[str]:
    """Every territory with an active technician, in order."""
    return sorted(set(session.scalars(
        select(Technician.territory).where(Technician.active.is_(True),
                                           Technician.territory.is_not(None)))))


def request_territory_runs(app, session: Session, actor: Actor, *, plan_date: date,
                           horizon_days: int = 1, time_limit: float = DEFAULT_TIME_LIMIT,
                           skip_existing: bool = False) -> TerritoryRuns:
    """Request one run per territory and hand each to the run queue once committed.

    The territories are solved apart, each by whichever worker takes it, instead of one
    after another in one job. A territory whose day has a queued or running run keeps it;
    with `skip_existing` (the nightly replan after a takeover) so does one whose day has any
    run that did not fail. Flushes; the caller commits, and the runs are queued then.
    """
    from fieldsvc.dispatch.queue import enqueue_after_commit

    outcome = TerritoryRuns(plan_date=plan_date)
    for territory in territories(session):
        blocking = [RunStatus.QUEUED, RunStatus.RUNNING]
        if skip_existing:
            blocking.append(RunStatus.FINISHED)
        exists = session.scalar(select(OptimizationRun.id).where(
            OptimizationRun.plan_date == plan_date, OptimizationRun.territory == territory,
            OptimizationRun.status.in_(blocking)).limit(1))
        if exists is not None:
            outcome.existing[territory] = exists
            continue
        try:
            run = request_run(session, actor, plan_date=plan_date, horizon_days=horizon_days,
                              territory=territory, time_limit=time_limit)
        except Conflict as exc:  # requested by someone else meanwhile
            outcome.existing[territory] = exc.extensions.get("active_run_id")
            continue
        enqueue_after_commit(app, run.id)
        outcome.requested.append(run)
    return outcome


class _Progress:
    """Write progress to the run row, at most twice a second, in its own transactions."""

    def __init__(self, session: Session, run: OptimizationRun, listener=None) -> None:
        self.session, self.run, self.last, self.listener = session, run, 0.0, listener

    def __call__(self, fraction: float, message: str) -> None:
        if self.listener is not None:
            self.listener(fraction, message)
        now = clock.monotonic()
        if now - self.last < 0.5 and fraction < 1.0:
            return
        self.last = now
        self.run.progress = round(max(0.0, min(1.0, fraction)), 3)
        self.run.message = message[:400]
        self.session.commit()


def execute_run(session: Session, run_id: int, timezone: str,
                on_progress=None) -> OptimizationRun | None:
    """Solve a queued run and store its plan; failures are recorded on the run, not raised.

    `on_progress(fraction, message)` is also told of progress (the CLI's progress bar).
    """
    # Claim the run with one conditional UPDATE, so two workers never execute the same run.
    claimed = session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run_id, OptimizationRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=utcnow(), message="building input")
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if claimed.rowcount != 1:
        return None  # someone else took it, or it is not queued any more
    run = session.get(OptimizationRun, run_id)
    try:
        params = run.parameters or {}
        snapshot = build_snapshot(
            session, run.plan_date, horizon_days=run.horizon_days, territory=run.territory,
            technician_ids=params.get("technician_ids") or None, timezone=timezone,
        )
        run.input_snapshot = describe_input(snapshot)
        session.commit()
        plan = scheduler.solve(
            snapshot.problem,
            scheduler.SolveParams(time_limit=float(params.get("time_limit",
                                                              DEFAULT_TIME_LIMIT))),
            progress=_Progress(session, run, on_progress),
        )
        violations = scheduler.validate(snapshot.problem, plan)
        run.result = {
            "origin": snapshot.origin.isoformat(),
            "plan": plan.to_dict(),
            "skipped": snapshot.skipped,
            "versions": snapshot.versions,
            "violations": [v.__dict__ for v in violations],
            # Which optimizer phases ran, how long, what each gained, why one was skipped.
            "phases": plan.stats.get("phases", []),
        }
        run.objective = {k: float(v) for k, v in plan.objective.items()}
        run.solve_seconds = plan.solve_seconds
        run.assigned_count = len(plan.assignment())
        run.unassigned_count = len(plan.unassigned) + len(snapshot.skipped)
        run.status = RunStatus.FAILED if violations else RunStatus.FINISHED
        run.message = (f"{len(violations)} hard-constraint violations; not publishable"
                       if violations else "finished")
        run.progress = 1.0
        run.finished_at = utcnow()
        session.commit()
    except Exception as exc:  # a failed run is reported on the run itself
        log.exception("optimization run %s failed", run_id)
        session.rollback()
        run = session.get(OptimizationRun, run_id)
        run.status = RunStatus.FAILED
        run.error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        run.message = "failed"
        run.finished_at = utcnow()
        session.commit()
    metrics.observe_run(run)
    log.info("optimization run %s %s: %s", run_id, run.status.value, run.message)
    return run


# A running run is failed this long after its time limit, a queued one this long after it
# was requested, unless the app's configuration says otherwise.
DEFAULT_GRACE_SECONDS = 300
DEFAULT_QUEUED_TIMEOUT_SECONDS = 3600


def _settings() -> tuple[int, int]:
    from flask import current_app, has_app_context

    if not has_app_context():
        return DEFAULT_GRACE_SECONDS, DEFAULT_QUEUED_TIMEOUT_SECONDS
    config = current_app.config
    return (int(config.get("RUN_GRACE_SECONDS", DEFAULT_GRACE_SECONDS)),
            int(config.get("RUN_QUEUED_TIMEOUT_SECONDS", DEFAULT_QUEUED_TIMEOUT_SECONDS)))


def fail_stale_runs(session: Session, *, plan_date: date | None = None,
                    territory: str | None = None, now=None) -> list[int]:
    """Fail the runs no worker will finish: running past their time limit plus the grace
    (the worker was killed, crashed or lost the database), or queued past the queue timeout
    (the job was lost with Redis). Each is failed with one conditional UPDATE, so a run a
    worker completes meanwhile keeps its result; only flushes (the caller commits)."""
    grace, queued_timeout = _settings()
    now = now or utcnow()
    stmt = select(OptimizationRun.id, OptimizationRun.status, OptimizationRun.created_at,
                  OptimizationRun.started_at, OptimizationRun.parameters).where(
        OptimizationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
    if plan_date is not None:
        stmt = stmt.where(OptimizationRun.plan_date == plan_date,
                          func.coalesce(OptimizationRun.territory, "") == (territory or ""))
    failed = []
    for run_id, status, created_at, started_at, parameters in session.execute(stmt).all():
        limit = float((parameters or {}).get("time_limit", DEFAULT_TIME_LIMIT))
        if status is RunStatus.RUNNING and started_at is not None:
            if (now - started_at).total_seconds() <= limit + grace:
                continue
            reason = (f"The run did not finish within its time limit ({limit:g} s) plus "
                      f"{grace} s: the worker executing it stopped (killed, crashed or cut "
                      "off from the database).")
        elif status is RunStatus.QUEUED:
            if (now - created_at).total_seconds() <= queued_timeout:
                continue
            reason = (f"No worker took the run within {queued_timeout} s of its request: "
                      "the queue lost it or no worker is running.")
        else:
            continue
        done = session.execute(
            update(OptimizationRun)
            .where(OptimizationRun.id == run_id, OptimizationRun.status == status)
            .values(status=RunStatus.FAILED, error=reason, message="failed: worker lost",
                    finished_at=now)
            .execution_options(synchronize_session=False))
        if done.rowcount == 1:
            log.warning("optimization run %s failed: %s", run_id, reason)
            metrics.RUNS.labels(RunStatus.FAILED.value).inc()
            failed.append(run_id)
    return failed


def fail_unqueued_run(session: Session, run_id: int, reason: str) -> None:
    """The queue refused a committed run: fail it now rather than leave it queued."""
    session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run_id, OptimizationRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.FAILED, error=reason[:4000], message="failed: not queued",
                finished_at=utcnow())
        .execution_options(synchronize_session=False))


def describe_input(snapshot) -> dict[str, Any]:
    """A compact, JSON-ready record of what the run planned with."""
    problem = snapshot.problem
    return {
        "origin": snapshot.origin.isoformat(),
        "days": problem.days,
        "technicians": [
            {"id": t.id, "skills": t.skills, "shifts": [[s.day, s.start, s.end]
                                                        for s in t.shifts],
             "absences": [[a.start, a.end] for a in t.absences]}
            for t in problem.technicians
        ],
        "jobs": [
            {"id": j.id, "priority": j.priority, "duration": j.duration,
             "skills": j.required_skills, "windows": [[w.start, w.end]
                                                      for w in j.time_windows],
             "pinned_technician": j.pinned_technician, "started": j.started}
            for j in problem.jobs
        ],
        "skipped": snapshot.skipped,
    }
