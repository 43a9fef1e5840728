"""The dispatch board as data: a day of a territory, one lane per technician, the queue.

Read-only views of the database and the plans for the console (no Flask here), plus the one
write the board adds: assign and pin a work order by hand (through the work-order service).

Where the bars come from: jobs from the work orders' schedules (the truth, whoever set
them); travel legs, breaks and warehouse stops from the plan in force for the day (the last
published run, or the plan left by the last accepted emergency insertion), shown only where
the plan still agrees with the work order (a job moved by hand has no planned drive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

import scheduler
import scheduler.explain
import scheduler.instance
from fieldsvc.context import Actor
from fieldsvc.dates import configured_zone_name
from fieldsvc.dispatch import feasibility
from fieldsvc.dispatch.insertion import current_plan
from fieldsvc.dispatch.offer import waiting_offers
from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.models import (
    InsertionProposal,
    OptimizationRun,
    Site,
    Technician,
    TechnicianSkill,
    WorkOrder,
    WorkOrderSkill,
    WorkOrderWindow,
)
from fieldsvc.models.enums import RunStatus, WorkOrderStatus
from fieldsvc.problems import InvalidInput
from fieldsvc.services import work_orders as wo_service

S = WorkOrderStatus
ON_BOARD = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED, S.ON_HOLD,
            S.CANNOT_COMPLETE)
QUEUE_LIMIT = 200
DEFAULT_AXIS = (7, 19)  # hours shown when the day has nothing outside them


@dataclass
class Bar:
    kind: str  # job | travel | break | warehouse | absence
    start: datetime
    end: datetime
    label: str = ""
    work_order: WorkOrder | None = None
    risk: str | None = None  # late | at_risk
    left: float = 0.0  # percent of the axis
    width: float = 0.0


@dataclass
class Lane:
    technician: Technician
    bars: list[Bar] = field(default_factory=list)
    shift: tuple[datetime, datetime] | None = None
    shift_left: float = 0.0
    shift_width: float = 0.0

    @property
    def jobs(self) -> list[Bar]:
        return [b for b in self.bars if b.kind == "job"]


@dataclass
class QueueItem:
    work_order: WorkOrder
    reason: str
    risk: str | None
    placeable: bool = True  # False: a hard rule rules out every technician-day (no offer)


@dataclass
class Board:
    day: date
    territory: str | None
    timezone: ZoneInfo
    axis_start: datetime
    axis_end: datetime
    lanes: list[Lane]
    queue: list[QueueItem]
    queue_total: int
    published_run: OptimizationRun | None
    latest_run: OptimizationRun | None
    active_run: OptimizationRun | None
    hours: list[tuple[str, float]] = field(default_factory=list)
    whole_day: bool = False
    # Insertion proposals waiting for the dispatcher (e.g. made by the SLA watch's P1s).
    offers: list[InsertionProposal] = field(default_factory=list)

    @property
    def axis_minutes(self) -> int:
        return int((self.axis_end - self.axis_start).total_seconds() // 60)

    @property
    def at_risk(self) -> int:
        return (sum(1 for lane in self.lanes for b in lane.jobs if b.risk)
                + sum(1 for q in self.queue if q.risk))


def _ceil_hour(local: datetime) -> int:
    """The hour of `local`, rounded up to the next whole hour when past it."""
    return local.hour + (1 if local.minute or local.second else 0)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, as aware times."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def published_run(session: Session, day: date, territory: str | None
                  ) -> OptimizationRun | None:
    """The last published run of the day for this territory (or for all territories)."""
    return session.scalar(
        select(OptimizationRun)
        .where(OptimizationRun.plan_date == day,
               OptimizationRun.status == RunStatus.FINISHED,
               OptimizationRun.published_at.is_not(None),
               OptimizationRun.territory.is_(None) if territory is None
               else or_(OptimizationRun.territory == territory,
                        OptimizationRun.territory.is_(None)))
        .order_by(OptimizationRun.published_at.desc(), OptimizationRun.id.desc()).limit(1))


def _runs(session: Session, day: date, territory: str | None, *statuses: RunStatus
          ) -> OptimizationRun | None:
    return session.scalar(
        select(OptimizationRun)
        .where(OptimizationRun.plan_date == day,
               func.coalesce(OptimizationRun.territory, "") == (territory or ""),
               OptimizationRun.status.in_(statuses))
        .order_by(OptimizationRun.id.desc()).limit(1))


def sla_risk(wo: WorkOrder, planned_start: datetime | None, now: datetime,
             margin: timedelta) -> str | None:
    """`late` when the visit starts after the response due time, `at_risk` within `margin`.

    Unplanned work is measured from now; the SLA watch's own flags count as well.
    """
    flags = wo.sla_flags or {}
    states = {(v or {}).get("state") for v in flags.values() if isinstance(v, dict)}
    due = wo.response_due_at
    if wo.arrived_at is not None:
        due = wo.resolution_due_at if wo.completed_at is None else None
    moment = planned_start or now
    if due is not None and moment > due or "breached" in states:
        return "late"
    if due is not None and moment + margin > due or "at_risk" in states:
        return "at_risk"
    return None


def bar_risk(wo: WorkOrder, start: datetime, end: datetime, margin: timedelta) -> str | None:
    """The SLA colour of a job on a lane: only when its plan truly risks a due time.

    `late` when the planned arrival is after the response due time (before the technician
    arrived) or the planned end after the resolution due time, or when the SLA watch found
    a due time already missed; `at_risk` when the planned end falls within `margin` before
    the resolution due time. A planned arrival before its response due time is on time: a
    plan usually brings the technician shortly before it, and colouring those would mark
    almost every bar of a busy day.
    """
    flags = wo.sla_flags or {}
    if any(isinstance(v, dict) and v.get("state") == "breached" for v in flags.values()):
        return "late"
    resolution, response = wo.resolution_due_at, wo.response_due_at
    if (resolution is not None and end > resolution
            or wo.arrived_at is None and response is not None and start > response):
        return "late"
    if resolution is not None and end + margin > resolution:
        return "at_risk"
    return None


def _place(bar_or_lane_start: datetime, end: datetime, axis: tuple[datetime, datetime]
           ) -> tuple[float, float]:
    span = (axis[1] - axis[0]).total_seconds()
    a = max(axis[0], min(axis[1], bar_or_lane_start))
    b = max(axis[0], min(axis[1], end))
    return (round((a - axis[0]).total_seconds() / span * 100, 3),
            round(max(0.0, (b - a).total_seconds()) / span * 100, 3))


def build_board(session: Session, day: date, territory: str | None, timezone: str, *,
                now: datetime | None = None, risk_minutes: int = 60,
                skill_id: int | None = None, whole_day: bool = False) -> Board:
    """Everything the board page shows for `day` (local) and `territory` (None = all);
    with `skill_id`, only the technicians who have that skill and the waiting work that
    needs it; with `whole_day`, the time axis runs midnight to midnight instead of the
    working hours."""
    tz = ZoneInfo(timezone)
    now = now or datetime.now(UTC)
    margin = timedelta(minutes=risk_minutes)
    start, end = day_bounds(day, tz)
    techs_stmt = (select(Technician).where(Technician.active.is_(True))
                  .options(selectinload(Technician.shifts), selectinload(Technician.absences))
                  .order_by(Technician.name, Technician.id))
    if territory is not None:
        techs_stmt = techs_stmt.where(Technician.territory == territory)
    if skill_id is not None:
        techs_stmt = techs_stmt.where(Technician.id.in_(
            select(TechnicianSkill.technician_id).where(TechnicianSkill.skill_id == skill_id)))
    techs = list(session.scalars(techs_stmt))
    lanes = {t.id: Lane(technician=t) for t in techs}

    orders = list(session.scalars(
        select(WorkOrder)
        .where(WorkOrder.technician_id.in_(list(lanes) or [0]),
               WorkOrder.status.in_(ON_BOARD),
               WorkOrder.scheduled_start_at >= start.astimezone(UTC),
               WorkOrder.scheduled_start_at < end.astimezone(UTC))
        .options(selectinload(WorkOrder.site), selectinload(WorkOrder.customer))
        .order_by(WorkOrder.scheduled_start_at, WorkOrder.id)))

    published = published_run(session, day, territory)
    plan = current_plan(session, published) if published and published.result else None
    origin = (datetime.fromisoformat(published.result["origin"]) if plan is not None
              else start)

    def at(seconds: int) -> datetime:
        return origin + timedelta(seconds=seconds)

    planned_jobs: dict[str, tuple[str, scheduler.model.Stop]] = {}
    if plan is not None:
        for route in plan.routes:
            if route.day != 0 or not route.technician_id.isdigit():
                continue
            lane = lanes.get(int(route.technician_id))
            if lane is None:
                continue
            for stop in route.stops:
                if stop.kind == scheduler.model.STOP_JOB and stop.job_id:
                    planned_jobs[stop.job_id] = (route.technician_id, stop)
                    continue
                if stop.travel_seconds:
                    lane.bars.append(Bar("travel", at(stop.arrival - stop.travel_seconds),
                                         at(stop.arrival), f"{stop.travel_seconds // 60} min"))
                label = {"break": "Break", "warehouse": "Parts pick-up",
                         "absence": "Absent"}.get(stop.kind, stop.kind)
                lane.bars.append(Bar(stop.kind, at(stop.start), at(stop.end), label))

    for wo in orders:
        lane = lanes[wo.technician_id]
        wo_end = wo.scheduled_end_at or wo.scheduled_start_at + timedelta(
            minutes=wo.estimated_minutes)
        planned = planned_jobs.get(str(wo.id))
        if (planned and planned[0] == str(wo.technician_id)
                and at(planned[1].start) == wo.scheduled_start_at
                and planned[1].travel_seconds):
            stop = planned[1]
            lane.bars.append(Bar("travel", at(stop.arrival - stop.travel_seconds),
                                 at(stop.arrival), f"{stop.travel_seconds // 60} min"))
        planned_start = wo.eta_at or wo.scheduled_start_at
        # Finished work (done, or could not be done: its follow-up carries the due times)
        # risks nothing any more.
        risk = (None if wo.status in wo_service.TERMINAL
                else bar_risk(wo, planned_start, planned_start + (wo_end - wo.scheduled_start_at),
                              margin))
        lane.bars.append(Bar("job", wo.scheduled_start_at, wo_end, wo.summary, wo, risk))

    for lane in lanes.values():
        pattern = next((s for s in lane.technician.shifts if s.weekday == day.weekday()), None)
        if pattern is not None:
            lane.shift = (datetime.combine(day, pattern.start_time, tzinfo=tz),
                          datetime.combine(day, pattern.end_time, tzinfo=tz))
        for absence in lane.technician.absences:
            if absence.starts_at < end and absence.ends_at > start:
                lane.bars.append(Bar("absence", max(absence.starts_at, start),
                                     min(absence.ends_at, end), absence.reason or "Absent"))

    # The axis: by default the working hours, an hour before the earliest shift start to an
    # hour after the latest shift end of the technicians shown, widened to whole hours
    # covering the work (the usual working day when nobody works). `whole_day` shows
    # midnight to midnight. An absence (a whole day off is midnight to midnight) does not
    # stretch it to the night: its bar is cut to the axis like any other.
    moments = [m for lane in lanes.values() for b in lane.bars if b.kind != "absence"
               for m in (b.start, b.end)]
    shifts = [lane.shift for lane in lanes.values() if lane.shift]
    if shifts:
        first_hour = max(0, min(s[0].astimezone(tz).hour for s in shifts) - 1)
        last_hour = min(24, max(_ceil_hour(s[1].astimezone(tz)) for s in shifts) + 1)
    else:
        first_hour, last_hour = DEFAULT_AXIS
    for m in moments:
        local = m.astimezone(tz)
        if local.date() < day:
            first_hour = 0
        elif local.date() > day:
            last_hour = 24
        else:
            first_hour = min(first_hour, local.hour)
            last_hour = max(last_hour, _ceil_hour(local))
    if whole_day:
        first_hour, last_hour = 0, 24
    axis = (start + timedelta(hours=first_hour), start + timedelta(hours=last_hour))
    for lane in lanes.values():
        lane.bars.sort(key=lambda b: (b.start, b.kind != "travel"))
        for bar in lane.bars:
            bar.left, bar.width = _place(bar.start, bar.end, axis)
        if lane.shift:
            lane.shift_left, lane.shift_width = _place(*lane.shift, axis)
    hours = [(f"{h:02d}:00", round((h - first_hour) / (last_hour - first_hour) * 100, 3))
             for h in range(first_hour, last_hour + 1)]

    # The day's waiting work: new work orders without windows or with one meeting the day.
    window = aliased(WorkOrderWindow)
    any_window = select(window.id).where(window.work_order_id == WorkOrder.id)
    meets_day = any_window.where(window.ends_at >= start, window.starts_at < end)
    queue_stmt = (select(WorkOrder).join(Site, Site.id == WorkOrder.site_id)
                  .where(WorkOrder.status == S.NEW,
                         or_(~any_window.exists(), meets_day.exists())))
    if territory is not None:
        queue_stmt = queue_stmt.where(Site.territory == territory)
    if skill_id is not None:
        queue_stmt = queue_stmt.where(WorkOrder.id.in_(
            select(WorkOrderSkill.work_order_id).where(WorkOrderSkill.skill_id == skill_id)))
    total = session.scalar(select(func.count()).select_from(queue_stmt.subquery()))
    waiting = list(session.scalars(
        queue_stmt.options(selectinload(WorkOrder.site), selectinload(WorkOrder.customer))
        .order_by(WorkOrder.priority, WorkOrder.response_due_at.is_(None),
                  WorkOrder.response_due_at, WorkOrder.id).limit(QUEUE_LIMIT)))
    latest = _runs(session, day, territory, RunStatus.FINISHED)
    reasons = queue_reasons(session, latest, waiting, day, territory, timezone)
    # Waiting work can start at the first shift of the day at the earliest (or now).
    earliest = max([now] + [min((lane.shift[0] for lane in lanes.values() if lane.shift),
                                default=start)])
    queue = [QueueItem(wo, reasons[wo.id][0], sla_risk(wo, None, earliest, margin),
                       reasons[wo.id][1])
             for wo in waiting]
    active = _runs(session, day, territory, RunStatus.QUEUED, RunStatus.RUNNING)
    return Board(day=day, territory=territory, timezone=tz, axis_start=axis[0],
                 axis_end=axis[1], lanes=list(lanes.values()), queue=queue,
                 queue_total=total or 0, published_run=published,
                 latest_run=_runs(session, day, territory, RunStatus.FINISHED, RunStatus.FAILED),
                 active_run=active, hours=hours, whole_day=whole_day,
                 offers=waiting_offers(session, published) if published else [])


EXPLAINED_AT_MOST = 50  # waiting jobs explained afresh per board (a snapshot of the day)
# Explanations that leave no technician-day at all: no emergency insertion can place these.
NOWHERE = {scheduler.model.NO_SKILL, scheduler.model.NO_SKILLED_ON_DAY,
           scheduler.model.PINNED_UNAVAILABLE, scheduler.model.WINDOW_UNREACHABLE,
           scheduler.model.TOO_LONG, scheduler.model.DEMAND_TOO_LARGE,
           scheduler.model.INVALID}


def queue_reasons(session: Session, run: OptimizationRun | None, waiting: list[WorkOrder],
                  day: date, territory: str | None, timezone: str
                  ) -> dict[int, tuple[str, bool]]:
    """Why each waiting work order is not on the day's plan, and whether anything could
    place it (False when a hard rule leaves it no technician-day).

    The run's own explanation when it left the job out; "new or changed since" only when
    the job's version differs from the run's snapshot or the run never saw a job created
    after it; otherwise (a job the run planned but that waits again, or one it did not see)
    the explainer's reason for the day as it is now.
    """
    if run is None:
        return {wo.id: ("Not planned yet: run the optimizer for this day.", True)
                for wo in waiting}
    left_out = unassigned_reasons(run)
    codes = {k: v.get("code") for k, v in
             ((run.result or {}).get("plan", {}).get("unassigned") or {}).items()}
    skipped = (run.result or {}).get("skipped") or {}
    versions: dict[str, int] = (run.result or {}).get("versions") or {}
    out: dict[int, tuple[str, bool]] = {}
    fresh: list[WorkOrder] = []
    for wo in waiting:
        key = str(wo.id)
        seen = versions.get(key)
        if seen is not None and seen != wo.version or seen is None and (
                wo.created_at >= (run.started_at or run.created_at)):
            out[wo.id] = (f"New or changed since run {run.id}; run it again.", True)
        elif seen is not None and key in left_out:
            out[wo.id] = (left_out[key], codes.get(key) not in NOWHERE)
        elif key in skipped:
            out[wo.id] = (skipped[key], False)
        elif seen is not None and run.published_at is None:
            out[wo.id] = (f"Planned by run {run.id}, which is not published yet.", True)
        else:
            fresh.append(wo)
    if fresh:
        snapshot = build_snapshot(session, day, territory=territory, timezone=timezone)
        inst = scheduler.instance.Instance(snapshot.problem, lazy=True)
        jobs = {j.id: j for j in snapshot.problem.jobs}
        for k, wo in enumerate(fresh):
            key = str(wo.id)
            if key in snapshot.skipped:
                out[wo.id] = (snapshot.skipped[key], False)
            elif key in jobs and k < EXPLAINED_AT_MOST:
                why = scheduler.explain.reason(inst, jobs[key])
                out[wo.id] = (why.reason, why.code not in NOWHERE)
            else:
                out[wo.id] = (f"Not in run {run.id}'s plan; run it again.", True)
    return out


def unassigned_reasons(run: OptimizationRun | None) -> dict[str, str]:
    """Work order id -> why the run left it out (the optimizer's sentence or the snapshot's)."""
    if run is None or not run.result:
        return {}
    reasons = {k: v.get("reason") or v.get("code", "")
               for k, v in (run.result.get("plan", {}).get("unassigned") or {}).items()}
    reasons.update(run.result.get("skipped") or {})
    return reasons


# ------------------------------------------------------------------ proposed plan review


@dataclass
class Move:
    work_order: WorkOrder
    old_technician: Technician | None
    old_start: datetime | None
    new_technician: Technician | None
    new_start: datetime | None
    reason: str = ""


@dataclass
class PlanDiff:
    run: OptimizationRun
    scheduled: list[Move] = field(default_factory=list)  # from the queue into the plan
    moved: list[Move] = field(default_factory=list)  # another technician or time
    unscheduled: list[Move] = field(default_factory=list)  # planned now, not in the proposal
    left_out: list[Move] = field(default_factory=list)  # stays in the queue, with the reason
    changed_since_run: list[Move] = field(default_factory=list)
    unchanged: int = 0
    fixed: int = 0  # pinned or already with the technician

    @property
    def changes(self) -> int:
        return len(self.scheduled) + len(self.moved) + len(self.unscheduled)


def plan_diff(session: Session, run: OptimizationRun) -> PlanDiff:
    """What publishing `run` would change against the schedule in force (as publish does)."""
    diff = PlanDiff(run=run)
    if not run.result or "plan" not in run.result:
        return diff
    plan = scheduler.Plan.from_dict(run.result["plan"])
    origin = datetime.fromisoformat(run.result["origin"])
    versions: dict[str, int] = run.result.get("versions", {})
    reasons = unassigned_reasons(run)
    stops = {s.job_id: (int(r.technician_id), origin + timedelta(seconds=s.start))
             for r in plan.routes for s in r.stops
             if s.kind == scheduler.model.STOP_JOB and s.job_id is not None}
    ids = [int(k) for k in versions] + [int(k) for k in run.result.get("skipped") or {}]
    orders = {w.id: w for w in session.scalars(
        select(WorkOrder).where(WorkOrder.id.in_(ids or [0])).options(
            selectinload(WorkOrder.technician)))}
    tech_ids = {t for t, _ in stops.values()}
    techs = {t.id: t for t in session.scalars(
        select(Technician).where(Technician.id.in_(tech_ids or [0])))}
    for key in sorted(versions, key=int):
        wo = orders.get(int(key))
        if wo is None:
            continue
        new_tech, new_start = stops.get(key, (None, None))
        move = Move(wo, wo.technician, wo.scheduled_start_at, techs.get(new_tech), new_start,
                    reasons.get(key, ""))
        if wo.version != versions[key]:
            diff.changed_since_run.append(move)
        elif wo.status not in (S.NEW, S.SCHEDULED):
            diff.fixed += 1
        elif new_tech is None:
            if wo.status is S.SCHEDULED and not wo.pinned:
                diff.unscheduled.append(move)
            elif wo.status is S.NEW:
                diff.left_out.append(move)
            else:
                diff.fixed += 1
        elif wo.status is S.NEW:
            diff.scheduled.append(move)
        elif wo.technician_id == new_tech and wo.scheduled_start_at == new_start:
            diff.unchanged += 1
        elif wo.pinned:
            diff.fixed += 1
        else:
            diff.moved.append(move)
    for key, reason in (run.result.get("skipped") or {}).items():
        wo = orders.get(int(key))
        if wo is not None and wo.status is S.NEW:
            diff.left_out.append(Move(wo, None, None, None, None, reason))
    return diff


# ------------------------------------------------------------------ assign and pin


def assign_and_pin(session: Session, wo: WorkOrder, technician_id: int, start: datetime,
                   actor: Actor, *, timezone: str | None = None,
                   override_reason: str | None = None) -> WorkOrder:
    """Put `wo` on a technician at `start` and pin it there (the optimizer will not move it).

    The placement must keep the optimizer's rules (409 naming the broken ones) unless
    `override_reason` says why it goes ahead anyway (audited). A new work order is scheduled
    through the status machine; a scheduled or dispatched one is changed through the
    work-order service (which refuses work already under way).
    """
    if start.tzinfo is None:
        raise InvalidInput({"start": ["Give a time zone."]})
    if wo.status is S.NEW:
        wo_service.transition(session, wo, S.SCHEDULED, actor, technician_id=technician_id,
                              scheduled_start_at=start, reason="assigned on the dispatch board")
        data: dict[str, Any] = {"pinned": True}
    else:
        data = {"technician_id": technician_id, "scheduled_start_at": start,
                "scheduled_end_at": start + timedelta(minutes=wo.estimated_minutes),
                "pinned": True}
    wo_service.update_work_order(session, wo, data, actor)
    feasibility.enforce(session, wo, technician_id, start, actor,
                        timezone=timezone or configured_zone_name(),
                        override_reason=override_reason)
    wo.eta_at = wo.scheduled_start_at
    session.flush()
    return wo
