"""SLA due times: response and resolution targets counted within contract coverage hours.

The arithmetic (`add_covered_minutes`, `due_times`) is pure and needs no database; the
lookup of the governing contract (`find_contract`) and `apply_sla` take a session.

Rules:

- The governing contract of a work order is, in order: a contract linked to the asset
  (`AssetContract`) whose period covers the creation date; else a *customer-level*
  contract of the customer — one covering no asset in particular (no `AssetContract`
  rows) — whose period covers the creation date. The creation date is read in the
  contract's time zone. Among several, the one that started last wins (then lowest id).
- Targets come from the contract's `SlaTarget` for the work order's priority and are
  counted only within coverage hours: weekdays in `coverage_days` (digits, Monday=0)
  between `coverage_start` and `coverage_end` local time. A window whose end is at or
  before its start crosses midnight (22:00–06:00 runs from the listed day into the next);
  equal start and end mean the whole day. `coverage_24x7` counts wall-clock time.
- Without a contract, or when the contract has no target for the priority, the defaults
  of `DEFAULT_TARGETS` apply, counted in wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from fieldsvc.dates import today_in
from fieldsvc.models import AssetContract, ServiceContract, WorkOrder
from fieldsvc.models.enums import WorkOrderStatus

# priority → (response minutes, resolution minutes), wall-clock, when no contract applies.
DEFAULT_TARGETS: dict[int, tuple[int, int]] = {
    1: (4 * 60, 8 * 60),
    2: (8 * 60, 24 * 60),
    3: (24 * 60, 72 * 60),
    4: (72 * 60, 168 * 60),
}


@dataclass(frozen=True)
class Coverage:
    """When the SLA clock runs: weekdays (Monday=0) between two local times in a zone."""

    days: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo
    always: bool = False

    @classmethod
    def from_contract(cls, contract: ServiceContract) -> Coverage:
        try:
            tz = ZoneInfo(contract.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            tz = ZoneInfo("UTC")
        days = frozenset(int(c) for c in (contract.coverage_days or "") if c in "0123456")
        # A contract covering no weekday at all would never start the clock; treat it as
        # round the clock rather than promising an SLA that can never fall due.
        always = bool(contract.coverage_24x7) or not days
        return cls(days=days, start=contract.coverage_start or time(0),
                   end=contract.coverage_end or time(0), tz=tz, always=always)


WALL_CLOCK = Coverage(days=frozenset(range(7)), start=time(0), end=time(0), tz=ZoneInfo("UTC"),
                      always=True)


@dataclass(frozen=True)
class SlaDue:
    response_due_at: datetime
    resolution_due_at: datetime
    contract_id: int | None


def _windows_from(day: date, coverage: Coverage):
    """Yield coverage windows (aware, UTC) starting on `day` and each following day."""
    while True:
        if day.weekday() in coverage.days:
            starts = datetime.combine(day, coverage.start, tzinfo=coverage.tz)
            end_day = day if coverage.end > coverage.start else day + timedelta(days=1)
            ends = datetime.combine(end_day, coverage.end, tzinfo=coverage.tz)
            yield starts.astimezone(UTC), ends.astimezone(UTC)
        day += timedelta(days=1)


def add_covered_minutes(start: datetime, minutes: int, coverage: Coverage | None) -> datetime:
    """Return the moment `minutes` of covered time have elapsed after `start`.

    `start` must be timezone-aware; the result is in UTC. A start outside coverage waits
    for the next window; windows crossing midnight and DST changes are handled by
    building each window from local wall times.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if coverage is None or coverage.always:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    # An overnight window that began yesterday may still be open at `start`.
    local_day = start.astimezone(coverage.tz).date() - timedelta(days=1)
    for win_start, win_end in _windows_from(local_day, coverage):
        if win_end <= start:
            continue
        begin = max(win_start, start)
        available = win_end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable: coverage windows are endless")  # pragma: no cover


def due_times(created_at: datetime, priority: int, contract: ServiceContract | None) -> SlaDue:
    """Response and resolution due times of a work order created at `created_at`."""
    target = None
    if contract is not None:
        target = next((t for t in contract.targets if t.priority == priority), None)
    if target is None:
        response, resolution = DEFAULT_TARGETS[priority]
        coverage = WALL_CLOCK
    else:
        response, resolution = target.response_minutes, target.resolution_minutes
        coverage = Coverage.from_contract(contract)
    return SlaDue(
        response_due_at=add_covered_minutes(created_at, response, coverage),
        resolution_due_at=add_covered_minutes(created_at, resolution, coverage),
        contract_id=contract.id if contract is not None and target is not None else None,
    )


def _local_date(moment: datetime, contract: ServiceContract) -> date:
    return today_in(contract.timezone, moment)


def _pick(contracts, at: datetime) -> ServiceContract | None:
    covering = [c for c in contracts if c.starts_on <= _local_date(at, c) <= c.ends_on]
    covering.sort(key=lambda c: (-c.starts_on.toordinal(), c.id))
    return covering[0] if covering else None


def pick_contract(contracts, at: datetime) -> ServiceContract | None:
    """The contract of `contracts` covering `at` (latest start, then lowest id), as
    `find_contract` chooses among the contracts it loads; None when none covers it."""
    return _pick(contracts, at)


def find_contract(session: Session, customer_id: int, asset_id: int | None,
                  at: datetime) -> ServiceContract | None:
    """The service contract governing work for this asset/customer at moment `at`."""
    # A day of slack either side: the period is compared in each contract's own zone below.
    lo, hi = (at - timedelta(days=1)).date(), (at + timedelta(days=1)).date()
    period = (ServiceContract.starts_on <= hi) & (ServiceContract.ends_on >= lo)
    if asset_id is not None:
        linked = session.scalars(
            select(ServiceContract)
            .join(AssetContract, AssetContract.contract_id == ServiceContract.id)
            .where(AssetContract.asset_id == asset_id, period)
        ).all()
        found = _pick(linked, at)
        if found is not None:
            return found
    customer_level = session.scalars(
        select(ServiceContract).where(
            ServiceContract.customer_id == customer_id,
            period,
            ~exists().where(AssetContract.contract_id == ServiceContract.id),
        )
    ).all()
    return _pick(customer_level, at)


def apply_sla(session: Session, work_order: WorkOrder, created_at: datetime | None = None) -> None:
    """Set contract_id, response_due_at and resolution_due_at of `work_order`.

    The clock starts at the work order's creation (`created_at`, defaulting to the
    work order's own `created_at`); call again after a priority change.
    """
    start = created_at or work_order.created_at
    if start is None:
        raise ValueError("the work order has no creation time yet")
    contract = find_contract(session, work_order.customer_id, work_order.asset_id, start)
    due = due_times(start, work_order.priority, contract)
    work_order.contract_id = contract.id if contract is not None else None
    work_order.response_due_at = due.response_due_at
    work_order.resolution_due_at = due.resolution_due_at


def breached_clause(now: datetime):
    """SQL condition: the work order missed (or is now past) its response or resolution due.

    Response is met by arrival on site, resolution by completion; cancelled work orders
    never count as breached.
    """
    now = literal(now, WorkOrder.__table__.c.arrived_at.type)
    response_late = and_(WorkOrder.response_due_at.is_not(None),
                         func.coalesce(WorkOrder.arrived_at, now) > WorkOrder.response_due_at)
    resolution_late = and_(WorkOrder.resolution_due_at.is_not(None),
                           func.coalesce(WorkOrder.completed_at, now)
                           > WorkOrder.resolution_due_at)
    return and_(WorkOrder.status != WorkOrderStatus.CANCELLED,
                or_(response_late, resolution_late))
