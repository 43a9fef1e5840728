"""Build the optimizer's input (`scheduler.Problem`) from the database.

Everything the optimizer sees comes from here: technicians' shifts, breaks, absences,
skills and van stock; open work orders with their windows, skills, parts, SLA, pins and
started state; warehouse stock; the customer's last technician (continuity). Ids are the
database ids as strings. Work orders that cannot even be described to the optimizer (a site
without coordinates) are returned separately with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

import scheduler
from fieldsvc.dates import configured_zone_name
from fieldsvc.models import (
    Absence,
    OptimizationRun,
    Part,
    Shift,
    Site,
    Skill,
    StockLevel,
    Technician,
    TechnicianSkill,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderWindow,
)
from fieldsvc.models.enums import RunStatus, WarehouseKind, WorkOrderStatus

# Work the optimizer may place or move.
PLANNABLE = (WorkOrderStatus.NEW, WorkOrderStatus.SCHEDULED)
# Work already with a technician today: fixed where it is.
FIXED = (WorkOrderStatus.DISPATCHED, WorkOrderStatus.EN_ROUTE, WorkOrderStatus.ON_SITE)
STARTED = (WorkOrderStatus.EN_ROUTE, WorkOrderStatus.ON_SITE)


@dataclass
class Snapshot:
    """The optimizer input plus what could not be put into it."""

    problem: scheduler.Problem
    origin: datetime
    skipped: dict[str, str] = field(default_factory=dict)  # work order id -> reason
    versions: dict[str, int] = field(default_factory=dict)  # work order id -> version


def _seconds(origin: datetime, moment: datetime) -> int:
    return int((moment - origin).total_seconds())


def _at(origin: datetime, tz: ZoneInfo, day: date, clock: time) -> int:
    return _seconds(origin, datetime.combine(day, clock, tzinfo=tz))


@dataclass
class TechnicianFacts:
    """What the optimizer needs of one technician, read from columns rather than objects."""

    id: int
    home_latitude: float
    home_longitude: float
    van_warehouse_id: int | None
    break_minutes: int
    break_window_start: time | None
    break_window_end: time | None
    max_work_minutes: int
    overtime_limit_minutes: int
    shifts: dict[int, tuple[time, time]] = field(default_factory=dict)  # weekday -> hours
    absences: list[tuple[datetime, datetime]] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)  # skill code -> level

    @classmethod
    def of(cls, tech: Technician) -> TechnicianFacts:
        """The facts of a loaded technician (shifts, absences and skills)."""
        return cls(
            id=tech.id, home_latitude=tech.home_latitude, home_longitude=tech.home_longitude,
            van_warehouse_id=tech.van_warehouse_id, break_minutes=tech.break_minutes,
            break_window_start=tech.break_window_start,
            break_window_end=tech.break_window_end, max_work_minutes=tech.max_work_minutes,
            overtime_limit_minutes=tech.overtime_limit_minutes,
            shifts={s.weekday: (s.start_time, s.end_time) for s in tech.shifts},
            absences=[(a.starts_at, a.ends_at) for a in tech.absences],
            skills={ts.skill.code: ts.level for ts in tech.skills})


# The technician columns `TechnicianFacts` is read from, in its field order.
_TECH_COLUMNS = (
    Technician.id, Technician.home_latitude, Technician.home_longitude,
    Technician.van_warehouse_id, Technician.break_minutes, Technician.break_window_start,
    Technician.break_window_end, Technician.max_work_minutes,
    Technician.overtime_limit_minutes,
)


def technician_facts(session: Session, *, territory: str | None = None,
                     technician_ids: list[int] | None = None) -> list[TechnicianFacts]:
    """Active technicians (of `territory`, or these ids) with their shifts, absences and
    skills, in four set-based queries, ordered by id."""
    stmt = select(*_TECH_COLUMNS).where(Technician.active.is_(True)).order_by(Technician.id)
    if territory is not None:
        stmt = stmt.where(Technician.territory == territory)
    if technician_ids:
        stmt = stmt.where(Technician.id.in_(technician_ids))
    facts = [TechnicianFacts(*row) for row in session.execute(stmt)]
    by_id = {f.id: f for f in facts}
    for chunk in _chunks(list(by_id)):
        for tech_id, weekday, start, end in session.execute(
                select(Shift.technician_id, Shift.weekday, Shift.start_time, Shift.end_time)
                .where(Shift.technician_id.in_(chunk))
                .order_by(Shift.technician_id, Shift.weekday, Shift.id)):
            by_id[tech_id].shifts[weekday] = (start, end)
        for tech_id, a, b in session.execute(
                select(Absence.technician_id, Absence.starts_at, Absence.ends_at)
                .where(Absence.technician_id.in_(chunk))
                .order_by(Absence.technician_id, Absence.starts_at, Absence.id)):
            by_id[tech_id].absences.append((a, b))
        for tech_id, code, level in session.execute(
                select(TechnicianSkill.technician_id, Skill.code, TechnicianSkill.level)
                .join(Skill, Skill.id == TechnicianSkill.skill_id)
                .where(TechnicianSkill.technician_id.in_(chunk))
                .order_by(TechnicianSkill.technician_id, TechnicianSkill.id)):
            by_id[tech_id].skills[code] = level
    return facts


def _technician(tech: Technician | TechnicianFacts, origin: datetime, tz: ZoneInfo,
                days: list[date], van_stock: dict[str, int]) -> scheduler.Technician:
    f = tech if isinstance(tech, TechnicianFacts) else TechnicianFacts.of(tech)
    shifts = []
    for index, day in enumerate(days):
        hours = f.shifts.get(day.weekday())
        if hours is None:
            continue
        start = _at(origin, tz, day, hours[0])
        end = _at(origin, tz, day, hours[1])
        breaks: tuple[scheduler.Break, ...] = ()
        if f.break_minutes and f.break_window_start and f.break_window_end:
            duration = f.break_minutes * 60
            window_start = max(start, _at(origin, tz, day, f.break_window_start))
            latest_start = min(end, _at(origin, tz, day, f.break_window_end)) - duration
            if latest_start >= window_start:
                breaks = (scheduler.Break(scheduler.TimeWindow(window_start, latest_start),
                                          duration),)
        shifts.append(scheduler.Shift(day=index, start=start, end=end, breaks=breaks))
    horizon_start = _seconds(origin, origin)
    horizon_end = len(days) * scheduler.model.DAY
    absences = []
    for starts_at, ends_at in f.absences:
        a, b = _seconds(origin, starts_at), _seconds(origin, ends_at)
        if b > horizon_start and a < horizon_end:
            absences.append(scheduler.TimeWindow(max(a, horizon_start), min(b, horizon_end)))
    return scheduler.Technician(
        id=str(f.id),
        start=scheduler.Location(f.home_latitude, f.home_longitude),
        shifts=shifts,
        absences=absences,
        skills=dict(f.skills),
        van_stock=van_stock,
        max_work=f.max_work_minutes * 60,
        overtime_allowance=f.overtime_limit_minutes * 60,
    )


def _last_technicians(session: Session, customer_ids: set[int]) -> dict[int, int]:
    """Customer id -> the technician of their most recently completed work order."""
    if not customer_ids:
        return {}
    latest = (
        select(WorkOrder.customer_id, func.max(WorkOrder.completed_at).label("at"))
        .where(WorkOrder.customer_id.in_(customer_ids),
               WorkOrder.status == WorkOrderStatus.COMPLETED,
               WorkOrder.technician_id.is_not(None))
        .group_by(WorkOrder.customer_id)
        .subquery()
    )
    rows = session.execute(
        select(WorkOrder.customer_id, WorkOrder.technician_id).join(
            latest,
            (WorkOrder.customer_id == latest.c.customer_id)
            & (WorkOrder.completed_at == latest.c.at),
        )
    )
    return {customer: tech for customer, tech in rows}


def _stock(session: Session, warehouse_ids: list[int]) -> dict[int, dict[str, int]]:
    """Warehouse id -> part sku -> available (on hand minus reserved)."""
    result: dict[int, dict[str, int]] = defaultdict(dict)
    if not warehouse_ids:
        return result
    rows = session.execute(
        select(StockLevel.warehouse_id, Part.sku, StockLevel.on_hand - StockLevel.reserved)
        .join(Part, Part.id == StockLevel.part_id)
        .where(StockLevel.warehouse_id.in_(warehouse_ids))
    )
    for warehouse_id, sku, available in rows:
        if available > 0:
            result[warehouse_id][sku] = available
    return result


def previous_plan(session: Session, plan_date: date, territory: str | None
                  ) -> scheduler.Plan | None:
    """The plan last published for this day and territory, for stability."""
    run = session.scalar(
        select(OptimizationRun)
        .where(OptimizationRun.plan_date == plan_date,
               OptimizationRun.territory.is_(None) if territory is None
               else OptimizationRun.territory == territory,
               OptimizationRun.status == RunStatus.FINISHED,
               OptimizationRun.published_at.is_not(None))
        .order_by(OptimizationRun.published_at.desc())
        .limit(1)
    )
    if run is None or not run.result or "plan" not in run.result:
        return None
    return scheduler.Plan.from_dict(run.result["plan"])


@dataclass
class WorkOrderFacts:
    """What the optimizer needs of one work order, read from columns rather than objects."""

    id: int
    status: WorkOrderStatus
    latitude: float | None
    longitude: float | None
    estimated_minutes: int
    priority: int
    customer_id: int
    technician_id: int | None
    pinned: bool
    scheduled_start_at: datetime | None
    arrived_at: datetime | None
    started_at: datetime | None
    response_due_at: datetime | None
    version: int = 0
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)  # skill code -> minimum level
    parts: dict[str, int] = field(default_factory=dict)  # part sku -> still to issue

    @classmethod
    def of(cls, wo: WorkOrder) -> WorkOrderFacts:
        """The facts of a loaded work order (its site, windows, skills and parts)."""
        return cls(
            id=wo.id, status=wo.status, latitude=wo.site.latitude,
            longitude=wo.site.longitude, estimated_minutes=wo.estimated_minutes,
            priority=wo.priority, customer_id=wo.customer_id, technician_id=wo.technician_id,
            pinned=wo.pinned, scheduled_start_at=wo.scheduled_start_at,
            arrived_at=wo.arrived_at, started_at=wo.started_at,
            response_due_at=wo.response_due_at, version=wo.version,
            windows=[(w.starts_at, w.ends_at) for w in wo.time_windows],
            skills={s.skill.code: s.min_level for s in wo.skills},
            parts={p.part.sku: p.quantity - p.issued for p in wo.parts
                   if p.quantity > p.issued})


# The work order columns `WorkOrderFacts` is read from, in its field order.
_FACT_COLUMNS = (
    WorkOrder.id, WorkOrder.status, Site.latitude, Site.longitude, WorkOrder.estimated_minutes,
    WorkOrder.priority, WorkOrder.customer_id, WorkOrder.technician_id, WorkOrder.pinned,
    WorkOrder.scheduled_start_at, WorkOrder.arrived_at, WorkOrder.started_at,
    WorkOrder.response_due_at, WorkOrder.version,
)


def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def work_order_facts(session: Session, stmt) -> list[WorkOrderFacts]:
    """The facts of the work orders `stmt` (a select of `_FACT_COLUMNS` joined to the site)
    yields, with their windows, skills and parts in three set-based queries."""
    facts = [WorkOrderFacts(*row) for row in session.execute(stmt)]
    by_id = {f.id: f for f in facts}
    ids = list(by_id)
    for chunk in _chunks(ids):
        for wo_id, a, b in session.execute(
                select(WorkOrderWindow.work_order_id, WorkOrderWindow.starts_at,
                       WorkOrderWindow.ends_at)
                .where(WorkOrderWindow.work_order_id.in_(chunk))
                .order_by(WorkOrderWindow.work_order_id, WorkOrderWindow.starts_at,
                          WorkOrderWindow.id)):
            by_id[wo_id].windows.append((a, b))
        for wo_id, code, level in session.execute(
                select(WorkOrderSkill.work_order_id, Skill.code, WorkOrderSkill.min_level)
                .join(Skill, Skill.id == WorkOrderSkill.skill_id)
                .where(WorkOrderSkill.work_order_id.in_(chunk))
                .order_by(WorkOrderSkill.work_order_id, WorkOrderSkill.id)):
            by_id[wo_id].skills[code] = level
        for wo_id, sku, quantity, issued in session.execute(
                select(WorkOrderPart.work_order_id, Part.sku, WorkOrderPart.quantity,
                       WorkOrderPart.issued)
                .join(Part, Part.id == WorkOrderPart.part_id)
                .where(WorkOrderPart.work_order_id.in_(chunk))
                .order_by(WorkOrderPart.work_order_id, WorkOrderPart.id)):
            if quantity > issued:
                by_id[wo_id].parts[sku] = quantity - issued
    return facts


def job_of(wo: WorkOrder | WorkOrderFacts, origin: datetime, horizon_s: int,
           last_technician: int | None, clip: bool = True) -> scheduler.Job | str | None:
    """The optimizer's job for `wo` (windows clipped to the horizon unless `clip` is off);
    None when no window falls in the horizon, a reason when it cannot be described."""
    f = wo if isinstance(wo, WorkOrderFacts) else WorkOrderFacts.of(wo)
    fixed = f.status in FIXED
    windows = []
    for starts_at, ends_at in f.windows:
        a, b = _seconds(origin, starts_at), _seconds(origin, ends_at)
        if clip:
            a, b = max(0, a), min(horizon_s, b)
        if b >= a:
            windows.append(scheduler.TimeWindow(a, b))
    if f.windows and not windows and not fixed:
        return None
    if f.latitude is None or f.longitude is None:
        return "The site has no coordinates; add them to plan this work order."
    pinned_tech = None
    pinned_start = None
    if fixed or (f.pinned and f.technician_id is not None):
        pinned_tech = str(f.technician_id)
        if f.scheduled_start_at is not None and f.scheduled_start_at >= origin:
            pinned_start = _seconds(origin, f.scheduled_start_at)
    started = f.status in STARTED
    if started:
        begun = f.arrived_at or f.started_at or f.scheduled_start_at
        pinned_start = max(0, _seconds(origin, begun)) if begun else pinned_start
    sla_due = None
    if f.response_due_at is not None:
        sla_due = _seconds(origin, f.response_due_at)
    return scheduler.Job(
        id=str(f.id),
        location=scheduler.Location(f.latitude, f.longitude),
        duration=f.estimated_minutes * 60,
        time_windows=windows,
        required_skills=dict(f.skills),
        priority=f.priority,
        sla_due=sla_due,
        parts=dict(f.parts),
        pinned_technician=pinned_tech,
        pinned_start=pinned_start,
        started=started,
        customer_id=str(f.customer_id),
        last_technician=str(last_technician) if last_technician is not None else None,
    )


@dataclass
class Fleet:
    """The technicians, depots and stock a snapshot is built on. Read once, it serves the
    snapshots of several days (the slot finder searches a few days in one request)."""

    technicians: list[TechnicianFacts]
    depots: list[tuple[int, float, float]]  # central and regional warehouses: id, lat, lon
    stock: dict[int, dict[str, int]]  # warehouse id -> part sku -> available


def load_fleet(session: Session, *, territory: str | None = None,
               technician_ids: list[int] | None = None) -> Fleet:
    """The active technicians of `territory` (or these ids), the depots and their stock."""
    techs = technician_facts(session, territory=territory, technician_ids=technician_ids)
    depots = [tuple(row) for row in session.execute(
        select(Warehouse.id, Warehouse.latitude, Warehouse.longitude)
        .where(Warehouse.kind.in_([WarehouseKind.CENTRAL, WarehouseKind.REGIONAL]),
               Warehouse.latitude.is_not(None), Warehouse.longitude.is_not(None))
        .order_by(Warehouse.id))]
    van_ids = [t.van_warehouse_id for t in techs if t.van_warehouse_id]
    stock = _stock(session, van_ids + [d[0] for d in depots])
    return Fleet(technicians=techs, depots=depots, stock=stock)


def build_snapshot(
    session: Session,
    plan_date: date,
    *,
    horizon_days: int = 1,
    territory: str | None = None,
    technician_ids: list[int] | None = None,
    timezone: str | None = None,
    weights: scheduler.Weights | None = None,
    with_previous: bool = True,
    fleet: Fleet | None = None,
    work_order_ids: Collection[int] | None = None,
) -> Snapshot:
    """Describe `horizon_days` from `plan_date` (local midnight in `timezone`, by default the
    configured zone) as a Problem. `with_previous` off leaves out the last published plan
    (only the optimizer's stability term reads it; an insertion works on the plan in force).
    `fleet` reuses technicians already read (of the same territory); `work_order_ids` limits
    the jobs to these work orders (an insertion needs only the ones on the routes it
    changes), each still subject to the usual conditions."""
    tz = ZoneInfo(timezone or configured_zone_name())
    origin = datetime.combine(plan_date, time(0), tzinfo=tz)
    days = [plan_date + timedelta(days=i) for i in range(horizon_days)]
    horizon_end = origin + timedelta(days=horizon_days)
    if fleet is None:
        fleet = load_fleet(session, territory=territory, technician_ids=technician_ids)
    techs = fleet.technicians
    stock = fleet.stock

    tech_ids = {t.id for t in techs}
    # Only this run's work leaves the database: plannable work with no window or a window
    # that meets the horizon, and fixed work of these technicians starting in it. (The
    # status, site territory, window and scheduled-start indexes serve these conditions.)
    window = aliased(WorkOrderWindow)
    any_window = select(window.id).where(window.work_order_id == WorkOrder.id)
    meets_horizon = any_window.where(window.ends_at >= origin,
                                     window.starts_at <= horizon_end)
    wo_query = (
        select(*_FACT_COLUMNS)
        .join(Site, Site.id == WorkOrder.site_id)
        .where(or_(
            and_(WorkOrder.status.in_(PLANNABLE),
                 or_(~any_window.exists(), meets_horizon.exists())),
            and_(WorkOrder.status.in_(FIXED),
                 WorkOrder.technician_id.in_(sorted(tech_ids) or [-1]),
                 WorkOrder.scheduled_start_at >= origin,
                 WorkOrder.scheduled_start_at < horizon_end),
        ))
        .order_by(WorkOrder.id)
    )
    if territory is not None:
        wo_query = wo_query.where(Site.territory == territory)
    # Read as columns and three set-based queries, not as ORM objects: materialising a
    # thousand work orders with their collections was most of a slot search's time.
    if work_order_ids is None:
        work_orders = work_order_facts(session, wo_query)
    else:
        work_orders = []
        for chunk in _chunks(sorted(work_order_ids)):
            work_orders += work_order_facts(session, wo_query.where(WorkOrder.id.in_(chunk)))

    snapshot_jobs: list[scheduler.Job] = []
    skipped: dict[str, str] = {}
    versions: dict[str, int] = {}
    last_tech = _last_technicians(session, {wo.customer_id for wo in work_orders})
    horizon_s = _seconds(origin, horizon_end)
    for wo in work_orders:
        key = str(wo.id)
        if wo.status in FIXED:
            # Work already handed to a technician belongs to that technician's day only.
            if wo.technician_id not in tech_ids or wo.scheduled_start_at is None:
                continue
            if not (origin <= wo.scheduled_start_at < horizon_end):
                continue
        job = job_of(wo, origin, horizon_s, last_tech.get(wo.customer_id))
        if job is None:
            continue  # none of its windows falls in the horizon: not this run's work
        if isinstance(job, str):
            skipped[key] = job
            continue
        snapshot_jobs.append(job)
        versions[key] = wo.version

    technicians = [
        _technician(t, origin, tz, days, stock.get(t.van_warehouse_id, {}) if
                    t.van_warehouse_id else {})
        for t in techs
    ]
    warehouses = [
        scheduler.Warehouse(id=str(ident), location=scheduler.Location(lat, lon),
                            stock=dict(stock.get(ident, {})))
        for ident, lat, lon in fleet.depots
    ]
    problem = scheduler.Problem(
        origin=origin,
        technicians=technicians,
        jobs=snapshot_jobs,
        warehouses=warehouses,
        previous=previous_plan(session, plan_date, territory) if with_previous else None,
        weights=weights or scheduler.Weights(),
        days=horizon_days,
    )
    return Snapshot(problem=problem, origin=origin, skipped=skipped, versions=versions)
