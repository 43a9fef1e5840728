"""Warehouse pick-ups: the plan's stops before a job whose parts are not on the van.

The optimizer puts a warehouse stop in a route before a job that needs parts the van does
not carry (`scheduler.model.Stop`, kind "warehouse", parts by SKU). The plan in force for a
technician's day is the last published run's, or the plan left by the last emergency
insertion accepted on top of it (`fieldsvc.dispatch.insertion.current_plan`). A plan holds
at most one pick-up per job (a pick-up and its job are one pair), so a pick-up is named by
the job it serves.

Reading: `planned_pickups` finds them for the jobs of a day in a fixed number of queries
(none when no job of the day lists a part). Recording: `record_pickup` moves the parts from
the warehouse to the van through the stock ledger - a reservation the job held in the
warehouse is released first, the units are transferred (the movements name the job, so the
dispatcher sees them under stock-movements?work_order_id=), and held on the van for the job.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import (
    InsertionProposal,
    OptimizationRun,
    Part,
    StockMovement,
    Technician,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
)
from fieldsvc.models.enums import MovementKind, RunStatus
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.services import stock
from scheduler.model import STOP_JOB, STOP_WAREHOUSE

PENDING, PARTIAL, DONE = "pending", "partial", "done"


class NothingToPickUp(Conflict):
    slug, title = "nothing-to-pick-up", "Nothing to pick up"


@dataclass
class PickupPart:
    part_id: int
    sku: str
    name: str
    serialized: bool
    quantity: int  # to take, as planned
    picked_up: int = 0  # already moved from this warehouse to the van for the job


@dataclass
class Pickup:
    """A planned pick-up: the warehouse, the time and the parts for one job."""

    job_id: int
    warehouse: dict[str, Any]
    arrival_at: datetime
    start_at: datetime
    end_at: datetime
    parts: list[PickupPart] = field(default_factory=list)
    run_id: int | None = None

    @property
    def status(self) -> str:
        if all(p.picked_up >= p.quantity for p in self.parts):
            return DONE
        return PARTIAL if any(p.picked_up for p in self.parts) else PENDING

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.job_id, "kind": "pickup", "job_id": self.job_id,
            "warehouse": self.warehouse, "arrival_at": self.arrival_at.isoformat(),
            "start_at": self.start_at.isoformat(), "end_at": self.end_at.isoformat(),
            "status": self.status,
            "parts": [{"part_id": p.part_id, "sku": p.sku, "name": p.name,
                       "serialized": p.serialized, "quantity": p.quantity,
                       "picked_up": min(p.picked_up, p.quantity),
                       "to_pick_up": max(0, p.quantity - p.picked_up)} for p in self.parts],
        }


class PlanStops:
    """The warehouse stops of a stored plan, by technician: (job id, stop) pairs."""

    def __init__(self, plan: dict[str, Any], origin: str) -> None:
        self.origin = datetime.fromisoformat(origin)
        self.by_technician: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for route in plan.get("routes", []):
            if route.get("day") != 0:
                continue
            stops = sorted(route.get("stops", []), key=lambda s: s["start"])
            for k, s in enumerate(stops):
                if s.get("kind") != STOP_WAREHOUSE or not s.get("parts"):
                    continue
                job = next((t for t in stops[k + 1:] if t.get("kind") == STOP_JOB), None)
                if job is not None and str(job.get("job_id", "")).isdigit():
                    self.by_technician[route["technician_id"]].append((int(job["job_id"]), s))


class PlanCache:
    """(run id, published at, accepted proposal id, accepted at) -> PlanStops. A published
    run's plan and an accepted proposal never change, so an entry never goes stale; the key
    moves on instead (the times guard against an id used again after a delete)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple, PlanStops | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, load):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def _load_stops(session: Session, run_id: int, proposal_id: int | None) -> PlanStops | None:
    result = session.scalar(select(OptimizationRun.result).where(OptimizationRun.id == run_id))
    plan = (result or {}).get("plan")
    if proposal_id is not None:
        plan = (session.scalar(select(InsertionProposal.proposal)
                               .where(InsertionProposal.id == proposal_id)) or {}).get("plan")
    origin = (result or {}).get("origin")
    return PlanStops(plan, origin) if plan and origin else None


def _plan_in_force(session: Session, day: date, territory: str | None,
                   cache: PlanCache | None) -> tuple[int, PlanStops] | None:
    """(run id, its warehouse stops) of the day's plan in force, or None.

    One small query names the plan (the run and the last accepted insertion on it); the
    plan itself, a large document, is read only when no cached copy of it is held."""
    territories = [OptimizationRun.territory.is_(None)]
    if territory is not None:
        territories.append(OptimizationRun.territory == territory)
    def last_accepted(column):
        return (select(column)
                .where(InsertionProposal.run_id == OptimizationRun.id,
                       InsertionProposal.accepted_at.is_not(None))
                .order_by(InsertionProposal.accepted_at.desc(), InsertionProposal.id.desc())
                .limit(1).scalar_subquery())

    row = session.execute(
        select(OptimizationRun.id, OptimizationRun.published_at,
               last_accepted(InsertionProposal.id), last_accepted(InsertionProposal.accepted_at))
        .where(OptimizationRun.plan_date == day, OptimizationRun.status == RunStatus.FINISHED,
               OptimizationRun.published_at.is_not(None), or_(*territories))
        .order_by(OptimizationRun.published_at.desc(), OptimizationRun.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    key = tuple(row)
    stops = (cache.get(key, lambda: _load_stops(session, row[0], row[2]))
             if cache is not None else _load_stops(session, row[0], row[2]))
    return (row[0], stops) if stops is not None else None


def planned_pickups(session: Session, technician: Technician, jobs_by_day: dict[date, set[int]],
                    van_id: int | None, cache: PlanCache | None = None) -> dict[int, Pickup]:
    """Job id -> its planned pick-up, for the technician's jobs grouped by local day."""
    raw: list[tuple[int, int, dict[str, Any], datetime]] = []
    for day, job_ids in jobs_by_day.items():
        found = _plan_in_force(session, day, technician.territory, cache)
        if found is None:
            continue
        run_id, plan = found
        raw += [(job_id, run_id, s, plan.origin)
                for job_id, s in plan.by_technician.get(str(technician.id), [])
                if job_id in job_ids]
    if not raw:
        return {}
    warehouse_ids = sorted({int(s["warehouse_id"]) for _, _, s, _ in raw
                            if str(s.get("warehouse_id", "")).isdigit()})
    skus = sorted({sku for _, _, s, _ in raw for sku in s["parts"]})
    warehouses = {w.id: w for w in session.execute(
        select(Warehouse.id, Warehouse.code, Warehouse.name, Warehouse.address,
               Warehouse.latitude, Warehouse.longitude)
        .where(Warehouse.id.in_(warehouse_ids)))}
    parts = {p.sku: p for p in session.execute(
        select(Part.id, Part.sku, Part.name, Part.serialized).where(Part.sku.in_(skus)))}
    picked: dict[tuple[int, int, int], int] = defaultdict(int)
    if van_id is not None:
        for wo_id, wh_id, part_id, qty in session.execute(
                select(StockMovement.work_order_id, StockMovement.from_warehouse_id,
                       StockMovement.part_id, func.sum(StockMovement.quantity))
                .where(StockMovement.kind == MovementKind.TRANSFER,
                       StockMovement.work_order_id.in_(sorted({r[0] for r in raw})),
                       StockMovement.to_warehouse_id == van_id)
                .group_by(StockMovement.work_order_id, StockMovement.from_warehouse_id,
                          StockMovement.part_id)):
            picked[(wo_id, wh_id, part_id)] += int(qty)
    out: dict[int, Pickup] = {}
    for job_id, run_id, s, origin in raw:
        wh_id = int(s["warehouse_id"]) if str(s.get("warehouse_id", "")).isdigit() else None
        w = warehouses.get(wh_id)
        if w is None:  # the warehouse was deleted since the plan was made
            continue
        pickup = Pickup(
            job_id=job_id, run_id=run_id,
            warehouse={"id": w.id, "code": w.code, "name": w.name, "address": w.address,
                       "latitude": w.latitude, "longitude": w.longitude},
            arrival_at=origin + timedelta(seconds=s["arrival"]),
            start_at=origin + timedelta(seconds=s["start"]),
            end_at=origin + timedelta(seconds=s["end"]))
        for sku, qty in sorted(s["parts"].items()):
            p = parts.get(sku)
            if p is not None:
                pickup.parts.append(PickupPart(p.id, p.sku, p.name, p.serialized, int(qty),
                                               picked[(job_id, w.id, p.id)]))
        if pickup.parts:
            out[job_id] = pickup
    return out


def local_day(technician: Technician, moment: datetime | None) -> date | None:
    return moment.astimezone(ZoneInfo(technician.timezone)).date() if moment else None


def pickup_of(session: Session, technician: Technician, work_order: WorkOrder
              ) -> Pickup | None:
    """The planned pick-up for one job, or None (read without a cache: a write uses it)."""
    day = local_day(technician, work_order.scheduled_start_at)
    if day is None:
        return None
    return planned_pickups(session, technician, {day: {work_order.id}},
                           technician.van_warehouse_id).get(work_order.id)


def record_pickup(session: Session, technician: Technician, work_order: WorkOrder,
                  data: dict[str, Any], actor: Actor) -> Pickup | None:
    """Move the job's parts from the pick-up warehouse to the van, through the ledger.

    Without `parts`, everything the plan's pick-up still lists is taken; with `parts`,
    those lines (each within what is still to take; a serialized part one unit per line
    with its serial number). `warehouse_id` names a warehouse when no pick-up is planned
    (or another one than planned). 409 when there is nothing left to take or stock does
    not allow it; all or nothing.
    """
    van = technician.van_warehouse_id
    if van is None:
        raise Conflict("You have no van warehouse; a pick-up cannot be recorded.")
    if work_order.status in stock.CLOSED_WORK_ORDER:
        raise Conflict(f"Job {work_order.id} is {work_order.status.value}; it takes no more "
                       "parts.", current_status=work_order.status.value)
    planned = pickup_of(session, technician, work_order)
    warehouse_id = data.get("warehouse_id") or (planned.warehouse["id"] if planned else None)
    if warehouse_id is None:
        raise NothingToPickUp(f"No pick-up is planned for job {work_order.id}; name the "
                              "warehouse (warehouse_id) and the parts.", job_id=work_order.id)
    if warehouse_id == van:
        raise InvalidInput({"warehouse_id": ["That is your van; name the warehouse you take "
                                             "the parts from."]})
    if session.get(Warehouse, warehouse_id) is None:
        raise InvalidInput({"warehouse_id": [f"No warehouse with id {warehouse_id}."]})
    from_plan = planned is not None and planned.warehouse["id"] == warehouse_id
    if data.get("parts"):
        lines = [dict(line) for line in data["parts"]]
        if from_plan:
            left = {p.part_id: p.quantity - p.picked_up for p in planned.parts}
            asked: dict[int, int] = defaultdict(int)
            for line in lines:
                asked[line["part_id"]] += line["quantity"]
            errors = {str(i): {"quantity": [
                f"The pick-up has {max(0, left.get(line['part_id'], 0))} of part "
                f"{line['part_id']} left to take."]}
                for i, line in enumerate(lines) if asked[line["part_id"]] > left.get(
                    line["part_id"], 0)}
            if errors:
                raise InvalidInput({"parts": errors})
    elif from_plan:
        lines = [{"part_id": p.part_id, "quantity": p.quantity - p.picked_up}
                 for p in planned.parts if p.quantity > p.picked_up]
        if not lines:
            raise NothingToPickUp(f"The pick-up for job {work_order.id} is done already.",
                                  job_id=work_order.id)
    else:
        raise InvalidInput({"parts": ["Name the parts you take (no pick-up is planned "
                                      "at this warehouse for this job)."]})
    note = f"Pick-up for job {work_order.id} (mobile)"
    for line in lines:
        part_id, qty, serial = line["part_id"], line["quantity"], line.get("serial_number")
        held = session.scalar(select(WorkOrderPart.reserved).where(
            WorkOrderPart.work_order_id == work_order.id, WorkOrderPart.part_id == part_id,
            WorkOrderPart.reserved_warehouse_id == warehouse_id)) or 0
        if held:
            stock.release(session, part_id, min(held, qty), warehouse_id, work_order.id,
                          actor, note=note)
        stock.transfer(session, part_id, qty, warehouse_id, van, actor,
                       work_order_id=work_order.id, serial_number=serial, note=note)
        # Held on the van for this job, so another job does not use it first.
        still_reserved = session.scalar(select(WorkOrderPart.reserved).where(
            WorkOrderPart.work_order_id == work_order.id, WorkOrderPart.part_id == part_id)) or 0
        if still_reserved == 0:
            stock.reserve(session, part_id, qty, van, work_order.id, actor, note=note)
    return pickup_of(session, technician, work_order)
