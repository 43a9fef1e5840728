"""Preventive maintenance generation: turn due plan occurrences into work orders, once.

`generate_due_work_orders` is called by `fieldsvc pm-generate` and by the scheduler
process; it flushes and never commits (the caller commits once).

Rules:

- **Which plans.** Every active plan (or the active plans among `plan_ids`). Inactive plans
  are not examined.
- **Calendar plans** (RRULE): the occurrences (`pm_plans.occurrences`, wall-clock in the
  plan's time zone) whose *local due day* lies between the plan's local today and today +
  `lead_days` inclusive (`horizon_days` replaces `lead_days` when given). Days before the
  local today are not back-filled: with a lead time the generator has had `lead_days` runs
  to create them.
- **Meter plans**: per asset, the readings in the plan's unit taken up to `now`. Let B be the
  highest reading on or before the last generated occurrence's due day for (plan, asset)
  (0 when none). The plan is due when the latest reading has crossed a higher multiple of
  `meter_interval` than B; the due day is the local date of the first later reading that
  reached that multiple. A reading that jumps several intervals at once gives one work
  order. No reading → not due (reported as skipped).
- **Exactly once**: one work order per (plan, asset, local due day), enforced by the unique
  constraint `uq_work_order_pm`; rows go in with INSERT … ON CONFLICT DO NOTHING RETURNING,
  so concurrent generators each create a given work order at most once between them.
  Skills, parts, the time window and the `None → new` history row are added only for the
  rows this call inserted.
- **Work order**: type preventive, the plan's priority, estimate, checklist, skills and
  parts; summary "plan name (asset serial or VIN)"; customer and site from the asset (an
  asset without a site, or of an erased customer, is skipped with a reason).
- **Time window**: from the start of the local due day minus `lead_days` (or `now` when
  later) to the end of the local due day. For meter plans the lead time is the grace after
  the crossing reading: from `now` to the end of due day + `lead_days`. No window when it
  would already be over (an overdue meter occurrence may be done at any time).
- **SLA**: the contract governing the asset (same choice as `sla.find_contract`) and
  `sla.due_times`, with the clock starting at the start of the local due day, or at `now`
  when that is later — generating ahead of time must not make a job late before it is due.
- **Parts**: each required part is reserved (`stock.reserve_many`: the same rules as
  `stock.reserve`, guarded UPDATEs per warehouse and part) from the first of these
  warehouses that has the whole quantity available: the regional warehouses of the site's
  region (nearest first), then every other regional or central warehouse, nearest to the
  site first (warehouses or sites without coordinates after those with, then by id). Vans,
  quarantine and dealership stock are never used. A part no warehouse can cover stays
  unreserved (`parts[].reserved` = 0 in the API) and the work order's description ends with
  a "Parts missing" line naming it.
- **Audit**: rows go in with bulk Core inserts, which the per-row audit hook does not see;
  each run writes one summary audit entry (action `pm-generate`) with its counts and ids.
  Reservations go through the stock ledger as usual.
- **API**: `POST /api/v1/pm-plans/generate` (`generate_now`) runs the same generation at
  the server's clock with `days` and `plan_ids` from the body.
- **Speed**: rows go to the driver as multi-row VALUES with each column's SQLAlchemy bind
  processor applied once per distinct value (`_Bulk`); on PostgreSQL with COPY instead
  (work orders through a staging table and one INSERT … SELECT … ON CONFLICT DO NOTHING
  RETURNING, their children straight into their tables, see `pg_copy`); already existing
  (plan, asset, day) keys are found with one query before anything is built, so a second
  run inserts nothing.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from fieldsvc.context import Actor
from fieldsvc.events import work_orders as work_order_events
from fieldsvc.models import (
    Asset,
    AssetContract,
    AuditEntry,
    Customer,
    MeterReading,
    Part,
    PmPlan,
    PmPlanAsset,
    PmPlanPart,
    PmPlanSkill,
    ServiceContract,
    Site,
    StockLevel,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderTransition,
    WorkOrderWindow,
)
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WarehouseKind, WorkOrderStatus, WorkOrderType
from fieldsvc.problems import InvalidInput
from fieldsvc.services import pg_copy, sla, stock
from fieldsvc.services.pm_plans import RuleError, occurrences, zone

CHUNK = 2000
AUDIT_ID_LIMIT = 1000
RESERVE_FROM = (WarehouseKind.REGIONAL, WarehouseKind.CENTRAL)

wo_t = WorkOrder.__table__


@dataclass(frozen=True)
class Skip:
    plan_id: int
    asset_id: int | None
    reason: str


@dataclass(frozen=True)
class MissingPart:
    work_order_id: int
    part_id: int
    quantity: int


@dataclass
class GenerationReport:
    """What one generation run found and did."""

    now: datetime
    horizon_days: int | None
    plans_examined: int = 0
    occurrences_found: int = 0
    work_orders_created: int = 0
    already_existing: int = 0
    skipped: list[Skip] = field(default_factory=list)
    parts_reserved: int = 0
    parts_missing: list[MissingPart] = field(default_factory=list)
    work_order_ids: list[int] = field(default_factory=list)
    # Seconds spent per phase (load, occurrences, insert, children, parts, audit).
    timings: dict[str, float] = field(default_factory=dict)

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(s.reason for s in self.skipped).items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "horizon_days": self.horizon_days,
            "plans_examined": self.plans_examined,
            "occurrences_found": self.occurrences_found,
            "work_orders_created": self.work_orders_created,
            "already_existing": self.already_existing,
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason(),
            "parts_reserved": self.parts_reserved,
            "parts_missing": len(self.parts_missing),
        }

    def lines(self) -> list[str]:
        """The report as a person reads it (the CLI prints these)."""
        ahead = (f"{self.horizon_days} days" if self.horizon_days is not None
                 else "each plan's lead time")
        out = [
            f"PM generation at {self.now.isoformat()} (look-ahead: {ahead})",
            f"  plans examined:      {self.plans_examined}",
            f"  occurrences found:   {self.occurrences_found}",
            f"  work orders created: {self.work_orders_created}",
            f"  already existing:    {self.already_existing}",
            f"  skipped:             {len(self.skipped)}",
        ]
        out += [f"    {reason}: {count}" for reason, count in self.skipped_by_reason().items()]
        out += [f"  parts reserved:      {self.parts_reserved}",
                f"  parts missing:       {len(self.parts_missing)}"]
        out += [f"    work order {m.work_order_id}: part {m.part_id} × {m.quantity}"
                for m in self.parts_missing[:20]]
        if len(self.parts_missing) > 20:
            out.append(f"    … and {len(self.parts_missing) - 20} more")
        return out


# --- occurrences ------------------------------------------------------------------------


def _rule_params(text: str) -> dict[str, str]:
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return dict(kv.split("=", 1) for kv in text.upper().split(";") if "=" in kv)


def rebased_dtstart(plan_rrule: str, dtstart: datetime, tz: ZoneInfo,
                    window_start: datetime) -> datetime:
    """An equivalent, later dtstart: same occurrences from `window_start` on, less iteration.

    dateutil walks a rule period by period from dtstart, so a plan started years ago costs
    hundreds of steps. Moving dtstart forward by a whole number of INTERVAL periods (same
    wall-clock time, same weekday/day of month/day of year) keeps every occurrence after
    the new start; it stays at least one INTERVAL before the window. When the rule names its
    days itself (BYDAY, BYMONTHDAY, ...), dtstart's date only bounds the rule from below and
    sets the INTERVAL phase, so the moved start may also go back to the first day of its
    month or year (or week, for weekly rules without INTERVAL), which makes plans share
    one evaluation. Rules with COUNT (counted from the original start) are left alone, and
    so are starts on days not present in every month or year unless the rule names its days.
    """
    local = dtstart.astimezone(tz)
    params = _rule_params(plan_rrule)
    if "COUNT" in params:
        return local
    try:
        interval = max(1, int(params.get("INTERVAL", "1")))
    except ValueError:
        return local
    # Without these, dateutil takes the weekday, day of month or month from dtstart.
    named = bool({"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYEASTER"} & params.keys())
    freq = params.get("FREQ")
    ws = window_start.astimezone(tz).date()
    if freq in ("DAILY", "WEEKLY"):
        step = interval * (7 if freq == "WEEKLY" else 1)
        k = (ws - local.date()).days // step - 1
        if k <= 0:
            return local
        moved = local + timedelta(days=k * step)
        if freq == "WEEKLY" and interval == 1 and named:
            moved -= timedelta(days=moved.weekday())
        return moved
    if freq == "MONTHLY" and (local.day <= 28 or named):
        k = ((ws.year - local.year) * 12 + ws.month - local.month) // interval - 1
        if k <= 0:
            return local
        month0 = local.month - 1 + k * interval
        return local.replace(year=local.year + month0 // 12, month=month0 % 12 + 1,
                             day=1 if named else local.day)
    if freq == "YEARLY" and ((local.month, local.day) != (2, 29) or named):
        k = (ws.year - local.year) // interval - 1
        if k <= 0:
            return local
        if named:
            return local.replace(year=local.year + k * interval, month=1, day=1)
        return local.replace(year=local.year + k * interval)
    return local


class _Occurrences:
    """Due days of calendar plans, memoised per (rule, start, zone, window) within a run."""

    def __init__(self) -> None:
        self._cache: dict[tuple, list[date]] = {}

    def due_days(self, plan_rrule: str, dtstart: datetime, tz_name: str, first: date,
                 last: date) -> list[date]:
        tz = zone(tz_name)
        start = _day_start(first, tz)
        end = _day_start(last + timedelta(days=1), tz)
        anchor = rebased_dtstart(plan_rrule, dtstart, tz, start)
        key = (plan_rrule, anchor, tz_name, start, end)
        days = self._cache.get(key)
        if days is None:
            found = occurrences(plan_rrule, anchor, tz_name, start, end)
            days = sorted({when.date() for when in found})
            self._cache[key] = days
        return days


class _Stopwatch:
    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.last = into, perf_counter()

    def lap(self, name: str) -> None:
        now = perf_counter()
        self.into[name] = round(self.into.get(name, 0.0) + now - self.last, 3)
        self.last = now


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of local `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def meter_due_day(readings: list[tuple[datetime, float]], interval: float,
                  last_due: date | None, tz: ZoneInfo) -> date | None:
    """The due day of a meter plan for one asset, or None when nothing new is due.

    `readings` are (read_at, value) in the plan's unit, oldest first.
    """
    if not readings or interval <= 0:
        return None

    def day_of(moment: datetime) -> date:
        return moment.astimezone(tz).date()

    covered = [v for at, v in readings if last_due is not None and day_of(at) <= last_due]
    baseline = max(covered, default=0.0)
    latest = readings[-1][1]
    reached = math.floor(latest / interval)
    if reached <= math.floor(baseline / interval):
        return None
    target = reached * interval
    for at, value in readings:
        if (last_due is None or day_of(at) > last_due) and value >= target:
            return day_of(at)
    return None  # pragma: no cover - the latest reading always qualifies


# --- loading ----------------------------------------------------------------------------


@dataclass
class _Plan:
    id: int
    name: str
    description: str | None
    rrule: str | None
    dtstart: datetime | None
    timezone: str
    meter_interval: float | None
    meter_unit: str | None
    lead_days: int
    estimated_minutes: int
    priority: int
    checklist: list | None
    assets: list[int] = field(default_factory=list)
    skills: list[tuple[int, int]] = field(default_factory=list)
    parts: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class _Asset:
    id: int
    customer_id: int
    site_id: int | None
    label: str
    erased: bool


def _plan_filter(plan_ids: list[int] | None):
    cond = PmPlan.active.is_(True)
    return and_(cond, PmPlan.id.in_(plan_ids)) if plan_ids is not None else cond


def _load_plans(session: Session, plan_ids: list[int] | None) -> dict[int, _Plan]:
    cols = (PmPlan.id, PmPlan.name, PmPlan.description, PmPlan.rrule, PmPlan.dtstart,
            PmPlan.timezone, PmPlan.meter_interval, PmPlan.meter_unit, PmPlan.lead_days,
            PmPlan.estimated_minutes, PmPlan.priority, PmPlan.checklist)
    plans = {row.id: _Plan(*row) for row in session.execute(
        select(*cols).where(_plan_filter(plan_ids)).order_by(PmPlan.id))}
    active = _plan_filter(plan_ids)
    for plan_id, asset_id in session.execute(
            select(PmPlanAsset.pm_plan_id, PmPlanAsset.asset_id)
            .join(PmPlan, PmPlan.id == PmPlanAsset.pm_plan_id).where(active)
            .order_by(PmPlanAsset.pm_plan_id, PmPlanAsset.asset_id)):
        plans[plan_id].assets.append(asset_id)
    for plan_id, skill_id, level in session.execute(
            select(PmPlanSkill.pm_plan_id, PmPlanSkill.skill_id, PmPlanSkill.min_level)
            .join(PmPlan, PmPlan.id == PmPlanSkill.pm_plan_id).where(active)
            .order_by(PmPlanSkill.id)):
        plans[plan_id].skills.append((skill_id, level))
    for plan_id, part_id, quantity in session.execute(
            select(PmPlanPart.pm_plan_id, PmPlanPart.part_id, PmPlanPart.quantity)
            .join(PmPlan, PmPlan.id == PmPlanPart.pm_plan_id).where(active)
            .order_by(PmPlanPart.id)):
        plans[plan_id].parts.append((part_id, quantity))
    return plans


def _plan_assets(plan_ids: list[int] | None):
    """Subquery: ids of the assets of the plans being generated."""
    return (select(PmPlanAsset.asset_id).join(PmPlan, PmPlan.id == PmPlanAsset.pm_plan_id)
            .where(_plan_filter(plan_ids)))


def _load_assets(session: Session, plan_ids: list[int] | None) -> dict[int, _Asset]:
    rows = session.execute(
        select(Asset.id, Asset.customer_id, Asset.site_id, Asset.serial_number, Asset.vin,
               Customer.erased_at)
        .join(Customer, Customer.id == Asset.customer_id)
        .where(Asset.id.in_(_plan_assets(plan_ids))))
    return {r.id: _Asset(r.id, r.customer_id, r.site_id,
                         r.serial_number or r.vin or f"asset {r.id}", r.erased_at is not None)
            for r in rows}


def _load_readings(session: Session, plan_ids: list[int] | None, now: datetime
                   ) -> dict[int, list[tuple[datetime, float, str]]]:
    meter_assets = (select(PmPlanAsset.asset_id).join(PmPlan, PmPlan.id == PmPlanAsset.pm_plan_id)
                    .where(_plan_filter(plan_ids), PmPlan.meter_interval.is_not(None)))
    out: dict[int, list[tuple[datetime, float, str]]] = defaultdict(list)
    for asset_id, read_at, value, unit in session.execute(
            select(MeterReading.asset_id, MeterReading.read_at, MeterReading.value,
                   MeterReading.unit)
            .where(MeterReading.asset_id.in_(meter_assets), MeterReading.read_at <= now)
            .order_by(MeterReading.asset_id, MeterReading.read_at, MeterReading.id)):
        out[asset_id].append((read_at, value, unit))
    return out


def _last_meter_due(session: Session, plan_ids: list[int] | None
                    ) -> dict[tuple[int, int], date]:
    rows = session.execute(
        select(WorkOrder.pm_plan_id, WorkOrder.asset_id, func.max(WorkOrder.pm_due_on))
        .join(PmPlan, PmPlan.id == WorkOrder.pm_plan_id)
        .where(_plan_filter(plan_ids), PmPlan.meter_interval.is_not(None))
        .group_by(WorkOrder.pm_plan_id, WorkOrder.asset_id))
    return {(p, a): d for p, a, d in rows}


def _existing(session: Session, plan_ids: list[int] | None, first: date, last: date
              ) -> set[tuple[int, int, date]]:
    rows = session.execute(
        select(WorkOrder.pm_plan_id, WorkOrder.asset_id, WorkOrder.pm_due_on)
        .join(PmPlan, PmPlan.id == WorkOrder.pm_plan_id)
        .where(_plan_filter(plan_ids), WorkOrder.pm_due_on.between(first, last)))
    return {(p, a, d) for p, a, d in rows}


# --- SLA --------------------------------------------------------------------------------


class _Contracts:
    """The contracts that may govern the generated work orders, loaded in two queries."""

    def __init__(self, session: Session, plan_ids: list[int] | None, first: date,
                 last: date) -> None:
        period = and_(ServiceContract.starts_on <= last + timedelta(days=1),
                      ServiceContract.ends_on >= first - timedelta(days=1))
        assets = _plan_assets(plan_ids)
        self.by_asset: dict[int, list[ServiceContract]] = defaultdict(list)
        for asset_id, contract in session.execute(
                select(AssetContract.asset_id, ServiceContract)
                .join(ServiceContract, ServiceContract.id == AssetContract.contract_id)
                .where(AssetContract.asset_id.in_(assets), period)
                .options(selectinload(ServiceContract.targets))):
            self.by_asset[asset_id].append(contract)
        customers = select(Asset.customer_id).where(Asset.id.in_(assets))
        self.by_customer: dict[int, list[ServiceContract]] = defaultdict(list)
        for contract in session.scalars(
                select(ServiceContract)
                .where(ServiceContract.customer_id.in_(customers), period,
                       ~exists().where(AssetContract.contract_id == ServiceContract.id))
                .options(selectinload(ServiceContract.targets))):
            self.by_customer[contract.customer_id].append(contract)
        self._due: dict[tuple, sla.SlaDue] = {}
        self._contract: dict[tuple, ServiceContract | None] = {}

    def due(self, customer_id: int, asset_id: int, priority: int,
            clock: datetime) -> sla.SlaDue:
        # Most assets have no contract of their own: their answer is the customer's.
        linked = self.by_asset.get(asset_id)
        where = (asset_id if linked else None, customer_id, clock)
        if where in self._contract:
            contract = self._contract[where]
        else:
            # The same choice as sla.find_contract: the asset's contract, else customer-level.
            contract = self._contract[where] = (
                sla.pick_contract(linked or (), clock)
                or sla.pick_contract(self.by_customer.get(customer_id, ()), clock))
        # Due times depend on the contract's terms, not on which contract it is: contracts
        # on the same coverage and targets share one computation.
        key = (clock, priority, _terms(contract, priority))
        found = self._due.get(key)
        if found is None:
            found = self._due[key] = sla.due_times(clock, priority, contract)
        # As sla.apply_sla: the governing contract is named even without a target for
        # this priority (the default targets then apply).
        contract_id = contract.id if contract is not None else None
        return found if found.contract_id == contract_id else replace(found,
                                                                       contract_id=contract_id)


def _terms(contract: ServiceContract | None, priority: int) -> tuple | None:
    if contract is None:
        return None
    target = next(((t.response_minutes, t.resolution_minutes) for t in contract.targets
                   if t.priority == priority), None)
    return (target, contract.timezone, contract.coverage_24x7, contract.coverage_days,
            contract.coverage_start, contract.coverage_end)


# --- parts ------------------------------------------------------------------------------


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 12742.0 * math.asin(min(1.0, math.sqrt(h)))


def warehouse_order(site: Site | Any, warehouses: Iterable[Any]) -> list[int]:
    """Warehouse ids to reserve from for `site`, best first (see the module docstring)."""
    region = (site.region or "").strip().casefold()
    here = (site.latitude, site.longitude)

    def key(w) -> tuple:
        same_region = (bool(region) and w.kind == WarehouseKind.REGIONAL
                       and (w.region or "").strip().casefold() == region)
        located = None not in here and None not in (w.latitude, w.longitude)
        distance = _distance_km(here, (w.latitude, w.longitude)) if located else math.inf
        return (not same_region, distance, w.id)

    return [w.id for w in sorted(warehouses, key=key)]


def _reserve_parts(session: Session, created: list[tuple[int, _Plan, _Asset]],
                   actor: Actor, report: GenerationReport) -> dict[int, list[MissingPart]]:
    needing = [(wo_id, plan, asset) for wo_id, plan, asset in created if plan.parts]
    if not needing:
        return {}
    warehouses = list(session.execute(
        select(Warehouse.id, Warehouse.kind, Warehouse.region, Warehouse.latitude,
               Warehouse.longitude).where(Warehouse.kind.in_(RESERVE_FROM))))
    part_ids = {p for _, plan, _ in needing for p, _ in plan.parts}
    available: dict[tuple[int, int], int] = {}
    for wh_id, part_id, on_hand, reserved in session.execute(
            select(StockLevel.warehouse_id, StockLevel.part_id, StockLevel.on_hand,
                   StockLevel.reserved)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Warehouse.kind.in_(RESERVE_FROM), StockLevel.part_id.in_(part_ids))):
        available[(wh_id, part_id)] = on_hand - reserved
    site_ids = {asset.site_id for _, _, asset in needing}
    sites = {s.id: s for s in session.execute(
        select(Site.id, Site.region, Site.latitude, Site.longitude)
        .where(Site.id.in_(site_ids)))}
    orders: dict[int, list[int]] = {}
    for _, _, asset in needing:
        if asset.site_id not in orders:
            orders[asset.site_id] = warehouse_order(sites[asset.site_id], warehouses)
    # Every line starts at the first warehouse of its site's order that the figures read
    # above say can cover it; the stock service takes them in bulk, guarded. A line it
    # refuses (another transaction took that stock meanwhile) tries its next warehouse.
    pending = [(wo_id, plan, asset, n, part_id, quantity, 0)
               for wo_id, plan, asset in needing
               for n, (part_id, quantity) in enumerate(plan.parts)]
    short: list[tuple[int, int, MissingPart]] = []
    while pending:
        batch, lines = [], []
        for wo_id, plan, asset, n, part_id, quantity, start in pending:
            order = orders[asset.site_id]
            at = next((k for k in range(start, len(order))
                       if available.get((order[k], part_id), 0) >= quantity), None)
            if at is None:
                short.append((wo_id, n, MissingPart(wo_id, part_id, quantity)))
                continue
            available[(order[at], part_id)] -= quantity
            batch.append((wo_id, plan, asset, n, part_id, quantity, at))
            lines.append(stock.ReserveLine(part_id, quantity, order[at], wo_id,
                                           note=f"PM plan {plan.id}"))
        pending = []
        for line, ok, item in zip(lines, stock.reserve_many(session, lines, actor), batch,
                                  strict=True):
            if ok:
                report.parts_reserved += 1
            else:  # our figure was stale: that warehouse is out of it
                available[(line.warehouse_id, line.part_id)] = 0
                pending.append((*item[:6], item[6] + 1))
    missing: dict[int, list[MissingPart]] = defaultdict(list)
    for wo_id, _n, line in sorted(short, key=lambda m: m[:2]):
        missing[wo_id].append(line)
    return missing


def _missing_note(lines: list[MissingPart], skus: dict[int, str]) -> str:
    listed = ", ".join(f"{m.quantity} × {skus.get(m.part_id, m.part_id)} (part {m.part_id})"
                       for m in lines)
    return f"Parts missing (not in stock when the work order was generated): {listed}."


# --- the run ----------------------------------------------------------------------------


class _Bulk:
    """Multi-row INSERTs through the driver, values converted once per distinct value.

    SQLAlchemy's per-row parameter handling (type processors for enums, aware datetimes,
    JSON, dates) was most of the cost of inserting 175k work orders. The rows here repeat
    few distinct values per column, so each column's bind processor runs once per distinct
    value and the statement goes to the driver as one multi-row VALUES with a flat tuple —
    exactly the values SQLAlchemy itself would send. On PostgreSQL the same rows go with
    COPY instead (`pg_copy`): through a staging table when `suffix` resolves conflicts.
    """

    ROWS = 1000  # per statement: 20 columns × 1000 rows stays under both databases' limits

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self._memo: dict[tuple[str, str], dict[Any, Any]] = {}

    def processor(self, table, column: str):
        """value → the driver's value for `table.column` (memoised when hashable)."""
        proc = table.c[column].type._cached_bind_processor(self.dialect)
        if proc is None:
            return lambda value: value
        memo = self._memo.setdefault((table.name, column), {})

        def convert(value):
            try:
                return memo[value]
            except KeyError:
                out = memo[value] = proc(value)
                return out
            except TypeError:  # unhashable (lists for JSON)
                return proc(value)

        return convert

    def insert(self, table, columns: list[str], rows: list[tuple], *, suffix: str = ""
               ) -> list[tuple]:
        """Insert `rows` (already converted); the rows RETURNING (in `suffix`) gave back."""
        if self.dialect.name == "postgresql":
            if suffix:
                return pg_copy.insert_staged(self.session, table, columns, rows, suffix)
            pg_copy.copy_rows(self.session, table, columns, rows)
            return []
        out: list[tuple] = []
        if not rows:
            return out
        head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
        one = "(" + ", ".join([self.mark] * len(columns)) + ")"
        conn = self.session.connection()
        for i in range(0, len(rows), self.ROWS):
            chunk = rows[i:i + self.ROWS]
            sql = head + ", ".join([one] * len(chunk)) + suffix
            params = tuple(v for row in chunk for v in row)
            result = conn.exec_driver_sql(sql, params)
            if result.returns_rows:
                out += [tuple(r) for r in result]
        return out


WO_COLUMNS = ["type", "status", "priority", "summary", "description", "customer_id", "site_id",
              "asset_id", "contract_id", "estimated_minutes", "response_due_at",
              "resolution_due_at", "pinned", "checklist", "pm_plan_id", "pm_due_on", "version",
              "created_at", "updated_at"]
WO_RETURNING = (" ON CONFLICT (pm_plan_id, pm_due_on, asset_id) DO NOTHING"
                " RETURNING id, pm_plan_id, asset_id, pm_due_on")


def _summary(plan: _Plan, asset: _Asset) -> str:
    suffix = f" ({asset.label})"
    room = 200 - len(suffix)
    name = plan.name if len(plan.name) <= room else plan.name[:room - 1] + "…"
    return (name + suffix)[:200]


def _window(plan: _Plan, due: date, now: datetime, tz: ZoneInfo
            ) -> tuple[datetime, datetime] | None:
    if plan.meter_interval is not None:
        starts, ends = _day_start(due, tz), _day_start(due + timedelta(days=plan.lead_days + 1),
                                                       tz)
    else:
        starts = _day_start(due - timedelta(days=plan.lead_days), tz)
        ends = _day_start(due + timedelta(days=1), tz)
    starts = max(starts, now)
    return (starts, ends) if ends > starts else None


def generate_due_work_orders(session: Session, *, now: datetime,
                             horizon_days: int | None = None,
                             plan_ids: Iterable[int] | None = None,
                             actor: Actor) -> GenerationReport:
    """Create the work orders of every active plan's due occurrences; flush, never commit.

    `now` must be timezone-aware. `horizon_days` replaces each plan's `lead_days` as the
    look-ahead of calendar plans. `plan_ids` limits the run to those plans.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if horizon_days is not None and horizon_days < 0:
        raise ValueError("horizon_days must not be negative")
    now = now.astimezone(UTC)
    wanted = sorted(set(plan_ids)) if plan_ids is not None else None
    report = GenerationReport(now=now, horizon_days=horizon_days)
    session.flush()

    watch = _Stopwatch(report.timings)
    plans = _load_plans(session, wanted)
    if wanted is not None:
        known = dict(session.execute(select(PmPlan.id, PmPlan.active)
                                     .where(PmPlan.id.in_(wanted))).all())
        for plan_id in wanted:
            if plan_id not in known:
                report.skipped.append(Skip(plan_id, None, "no such plan"))
            elif not known[plan_id]:
                report.skipped.append(Skip(plan_id, None, "plan is inactive"))
    report.plans_examined = len(plans)
    assets = _load_assets(session, wanted)
    readings = _load_readings(session, wanted, now)
    last_meter = _last_meter_due(session, wanted)
    occ = _Occurrences()
    watch.lap("load")

    # (plan, asset, due day) of every occurrence due now, in a stable order.
    found: list[tuple[_Plan, _Asset, date]] = []
    for plan in plans.values():
        if not plan.assets:
            report.skipped.append(Skip(plan.id, None, "plan has no assets"))
            continue
        try:
            tz = zone(plan.timezone)
        except RuleError:
            report.skipped.append(Skip(plan.id, None, "unknown time zone"))
            continue
        eligible = []
        for asset_id in plan.assets:
            asset = assets[asset_id]
            if asset.site_id is None:
                report.skipped.append(Skip(plan.id, asset_id, "asset has no site"))
            elif asset.erased:
                report.skipped.append(Skip(plan.id, asset_id, "customer erased"))
            else:
                eligible.append(asset)
        if not eligible:
            continue
        if plan.rrule is not None:
            if plan.dtstart is None:
                report.skipped.append(Skip(plan.id, None, "invalid recurrence rule"))
                continue
            today = now.astimezone(tz).date()
            ahead = plan.lead_days if horizon_days is None else horizon_days
            try:
                days = occ.due_days(plan.rrule, plan.dtstart, plan.timezone, today,
                                    today + timedelta(days=ahead))
            except (RuleError, ValueError, OverflowError):
                report.skipped.append(Skip(plan.id, None, "invalid recurrence rule"))
                continue
            found += [(plan, asset, day) for asset in eligible for day in days]
        else:
            unit = (plan.meter_unit or "").strip().casefold()
            for asset in eligible:
                series = [(at, value) for at, value, u in readings.get(asset.id, ())
                          if u.strip().casefold() == unit]
                if not series:
                    report.skipped.append(Skip(plan.id, asset.id, "no meter reading"))
                    continue
                day = meter_due_day(series, plan.meter_interval,
                                    last_meter.get((plan.id, asset.id)), tz)
                if day is not None:
                    found.append((plan, asset, day))
    report.occurrences_found = len(found)
    watch.lap("occurrences")
    if not found:
        _audit(session, report, wanted, actor)
        return report

    first = min(day for _, _, day in found)
    last = max(day for _, _, day in found)
    existing = _existing(session, wanted, first, last)
    todo = [(p, a, d) for p, a, d in found if (p.id, a.id, d) not in existing]
    report.already_existing = len(found) - len(todo)
    contracts = _Contracts(session, wanted, now.date(), last + timedelta(days=1))
    created_at = utcnow()

    created: list[tuple[int, _Plan, _Asset]] = []
    windows: dict[int, tuple[datetime, datetime]] = {}
    bulk = _Bulk(session)
    conv = {c: bulk.processor(wo_t, c) for c in WO_COLUMNS}
    # Per plan, once: its zone and the converted values every one of its rows shares.
    fixed = (conv["type"](WorkOrderType.PREVENTIVE), conv["status"](WorkOrderStatus.NEW))
    tail = (conv["version"](1), conv["created_at"](created_at), conv["updated_at"](created_at))
    pinned = conv["pinned"](False)
    per_plan: dict[int, tuple] = {}
    day_of: dict[Any, date] = {}  # the database's form of a due day → the day
    by_key: dict[tuple[int, int, Any], tuple[_Plan, _Asset, date]] = {}
    rows: list[tuple] = []
    for plan, asset, day in todo:
        shared = per_plan.get(plan.id)
        if shared is None:
            checklist = list(plan.checklist) if plan.checklist is not None else None
            shared = per_plan[plan.id] = (
                zone(plan.timezone), conv["priority"](plan.priority),
                conv["description"](plan.description),
                conv["estimated_minutes"](plan.estimated_minutes),
                conv["checklist"](checklist), conv["pm_plan_id"](plan.id))
        tz, priority, description, minutes, checklist, plan_key = shared
        clock = max(_day_start(day, tz), now)
        due = contracts.due(asset.customer_id, asset.id, plan.priority, clock)
        day_key = conv["pm_due_on"](day)
        day_of[day_key] = day
        by_key[(plan.id, asset.id, day_key)] = (plan, asset, day)
        rows.append((*fixed, priority, _summary(plan, asset), description, asset.customer_id,
                     asset.site_id, asset.id, due.contract_id, minutes,
                     conv["response_due_at"](due.response_due_at),
                     conv["resolution_due_at"](due.resolution_due_at), pinned, checklist,
                     plan_key, day_key, *tail))
    for wo_id, plan_id, asset_id, day_key in bulk.insert(wo_t, WO_COLUMNS, rows,
                                                         suffix=WO_RETURNING):
        if day_key not in day_of:  # some drivers hand dates back as datetimes
            day_key = conv["pm_due_on"](day_key.date() if isinstance(day_key, datetime)
                                        else day_key)
        plan, asset, day = by_key[(plan_id, asset_id, day_key)]
        created.append((wo_id, plan, asset))
        window = _window(plan, day, now, per_plan[plan.id][0])
        if window is not None:
            windows[wo_id] = window
    created.sort(key=lambda c: c[0])
    report.work_orders_created = len(created)
    # Rows another generator inserted between our look-up and our insert.
    report.already_existing += len(todo) - len(created)
    report.work_order_ids = [wo_id for wo_id, _, _ in created]

    watch.lap("insert")
    _add_children(session, created, windows, created_at, actor)
    watch.lap("children")
    missing = _reserve_parts(session, created, actor, report)
    for _wo_id, lines in sorted(missing.items()):
        report.parts_missing += lines
    if missing:
        descriptions = {wo_id: plan.description for wo_id, plan, _ in created if wo_id in missing}
        skus = dict(session.execute(select(Part.id, Part.sku).where(
            Part.id.in_({m.part_id for m in report.parts_missing}))).all())
        notes = []
        for wo_id, lines in sorted(missing.items()):
            note = _missing_note(lines, skus)
            text = f"{descriptions[wo_id]}\n\n{note}" if descriptions[wo_id] else note
            notes.append({"wo_id": wo_id, "text": text})
        session.execute(update(wo_t).where(wo_t.c.id == bindparam("wo_id"))
                        .values(description=bindparam("text")), notes)
    watch.lap("parts")
    work_order_events.created_in_bulk(session, report.work_order_ids)
    watch.lap("events")
    _audit(session, report, wanted, actor)
    watch.lap("audit")
    return report


def generate_now(session: Session, data: dict[str, Any], actor: Actor) -> GenerationReport:
    """The API's generation: `days` (else each plan's lead time) from now, every active plan
    or the given `plan_ids` (422 naming any that do not exist); flushes, never commits."""
    plan_ids = data.get("plan_ids")
    if plan_ids is not None:
        wanted = sorted(set(plan_ids))
        known = set(session.scalars(select(PmPlan.id).where(PmPlan.id.in_(wanted))))
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise InvalidInput({"plan_ids": [
                "No maintenance plan with id " + ", ".join(map(str, unknown[:20]))
                + (" …" if len(unknown) > 20 else "") + "."]})
    return generate_due_work_orders(session, now=utcnow(), horizon_days=data.get("days"),
                                    plan_ids=plan_ids, actor=actor)


def _add_children(session: Session, created: list[tuple[int, _Plan, _Asset]],
                  windows: dict[int, tuple[datetime, datetime]], at: datetime,
                  actor: Actor) -> None:
    bulk = _Bulk(session)
    tables = {"skill": (WorkOrderSkill.__table__, ["work_order_id", "skill_id", "min_level"]),
              "part": (WorkOrderPart.__table__,
                       ["work_order_id", "part_id", "quantity", "reserved", "issued"]),
              "history": (WorkOrderTransition.__table__,
                          ["work_order_id", "from_status", "to_status", "actor_id",
                           "actor_name", "at", "reason"]),
              "window": (WorkOrderWindow.__table__, ["work_order_id", "starts_at", "ends_at"])}
    rows: dict[str, list[tuple]] = {name: [] for name in tables}
    wt = WorkOrderTransition.__table__
    new, when = bulk.processor(wt, "to_status")(WorkOrderStatus.NEW), bulk.processor(wt, "at")(at)
    to_start = bulk.processor(WorkOrderWindow.__table__, "starts_at")
    to_end = bulk.processor(WorkOrderWindow.__table__, "ends_at")
    reasons: dict[int, str] = {}
    for wo_id, plan, _asset in created:
        rows["skill"] += [(wo_id, s, lvl) for s, lvl in plan.skills]
        rows["part"] += [(wo_id, p, q, 0, 0) for p, q in plan.parts]
        reason = reasons.get(plan.id)
        if reason is None:
            reason = reasons[plan.id] = f"Generated by preventive maintenance plan {plan.id}"
        rows["history"].append((wo_id, None, new, actor.id, actor.name, when, reason))
        if wo_id in windows:
            starts, ends = windows[wo_id]
            rows["window"].append((wo_id, to_start(starts), to_end(ends)))
    for name, (table, columns) in tables.items():
        bulk.insert(table, columns, rows[name])


def _audit(session: Session, report: GenerationReport, plan_ids: list[int] | None,
           actor: Actor) -> None:
    ids = report.work_order_ids
    changes = report.as_dict() | {"plan_ids": plan_ids}
    if len(ids) <= AUDIT_ID_LIMIT:
        changes["work_order_ids"] = ids
    else:
        changes["work_order_ids"] = {"count": len(ids), "first": ids[0], "last": ids[-1]}
    session.add(AuditEntry(at=utcnow(), actor_id=actor.id, actor_name=actor.name,
                           source=actor.source, action="pm-generate",
                           entity_type="work_order", entity_id=None, changes=changes))
    session.flush()
