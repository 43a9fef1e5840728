"""Optimization runs: request one, execute it outside the request, keep its result."""

from __future__ import annotations

import logging
import time as clock
import traceback
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.context import Actor
from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.errors import Conflict, InvalidInput
from fieldsvc.models import OptimizationRun, Technician
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import RunStatus

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
    """Queue a run for a territory and day; 409 while another one is queued or running."""
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
    return run


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
