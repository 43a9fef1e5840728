"""Work orders: creation, dispatcher changes and the status machine (SPEC §3).

The legal status changes live in one table, `TRANSITIONS`. `transition()` is the only way
a status changes: it validates the move against the table and the move's preconditions,
applies its side effects, and records a `WorkOrderTransition` (from, to, who, when, why,
where). Mobile, dispatch and PM generation call these functions; none of them import Flask.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.events import work_orders as work_order_events
from fieldsvc.models import (
    Asset,
    Customer,
    Part,
    Site,
    Skill,
    StockMovement,
    Technician,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderTransition,
    WorkOrderWindow,
    utcnow,
)
from fieldsvc.models.enums import WorkOrderStatus as S
from fieldsvc.models.enums import WorkOrderType
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.services import sla, stock
from fieldsvc.services.catalog import check_ids, declared_skills

# The status machine: current status → statuses it may move to.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.SCHEDULED, S.CANCELLED}),
    # Back to new = unschedule (technician and times cleared).
    S.SCHEDULED: frozenset({S.DISPATCHED, S.NEW, S.ON_HOLD, S.CANCELLED}),
    # Back to scheduled = recall the dispatch before the technician leaves.
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.SCHEDULED, S.ON_HOLD, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.ON_HOLD, S.CANNOT_COMPLETE, S.CANCELLED}),
    S.ON_SITE: frozenset({S.COMPLETED, S.ON_HOLD, S.CANNOT_COMPLETE, S.CANCELLED}),
    # Resume: see resume_status(); new when the technician was taken off meanwhile.
    S.ON_HOLD: frozenset({S.NEW, S.SCHEDULED, S.DISPATCHED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANNOT_COMPLETE: frozenset(),
    S.CANCELLED: frozenset(),
}

TERMINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
REASON_REQUIRED = frozenset({S.ON_HOLD, S.CANNOT_COMPLETE, S.CANCELLED})
# Assignment and schedule may be changed by a dispatcher only before the trip starts.
REASSIGNABLE = frozenset({S.NEW, S.SCHEDULED, S.DISPATCHED, S.ON_HOLD})
FIRST_TIME_FIX_DAYS = 30
# A client clock may run a little ahead of ours; beyond this, `at` is refused.
CLOCK_SKEW = timedelta(minutes=5)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def allowed_targets(status: S) -> list[str]:
    """The statuses a work order in `status` may move to, sorted."""
    return sorted(t.value for t in TRANSITIONS[status])


def resume_status(session: Session, work_order: WorkOrder) -> S:
    """Where an on-hold work order sensibly resumes.

    Held before dispatch → scheduled; held once dispatched (or later: the technician
    left the site) → dispatched, so the trip starts again; new if it has no technician.
    """
    if work_order.technician_id is None or work_order.scheduled_start_at is None:
        return S.NEW
    held_from = session.scalar(
        select(WorkOrderTransition.from_status)
        .where(WorkOrderTransition.work_order_id == work_order.id,
               WorkOrderTransition.to_status == S.ON_HOLD.value)
        .order_by(WorkOrderTransition.id.desc()).limit(1)
    )
    return S.SCHEDULED if held_from in (None, S.SCHEDULED.value) else S.DISPATCHED


def _record(session: Session, work_order: WorkOrder, from_status: S | None, to_status: S,
            actor: Actor, at: datetime, reason: str | None = None,
            lat: float | None = None, lon: float | None = None) -> WorkOrderTransition:
    row = WorkOrderTransition(
        work_order=work_order, from_status=from_status.value if from_status else None,
        to_status=to_status.value, actor_id=actor.id, actor_name=actor.name, at=at,
        reason=reason, latitude=lat, longitude=lon,
    )
    session.add(row)
    return row


# --- creation and changes ------------------------------------------------------------


def resolve_location(session: Session, customer_id: int | None, site_id: int | None,
                     asset_id: int | None) -> tuple[int, int, int | None]:
    """Return (customer_id, site_id, asset_id), consistent, or raise 422.

    The customer may be implied by the site or asset, the site by the asset's site or by
    the customer having exactly one site. Site and asset must belong to the customer.
    """
    errors: dict[str, list[str]] = {}
    site = session.get(Site, site_id) if site_id is not None else None
    asset = session.get(Asset, asset_id) if asset_id is not None else None
    if site_id is not None and site is None:
        errors["site_id"] = [f"No site with id {site_id}."]
    if asset_id is not None and asset is None:
        errors["asset_id"] = [f"No asset with id {asset_id}."]
    if customer_id is not None and session.get(Customer, customer_id) is None:
        errors["customer_id"] = [f"No customer with id {customer_id}."]
    if errors:
        raise InvalidInput(errors)
    if customer_id is None:
        customer_id = site.customer_id if site else asset.customer_id if asset else None
    if customer_id is None:
        raise InvalidInput({"customer_id": ["Give a customer, a site or an asset."]})
    if site is not None and site.customer_id != customer_id:
        errors["site_id"] = [f"Site {site.id} does not belong to customer {customer_id}."]
    if asset is not None and asset.customer_id != customer_id:
        errors["asset_id"] = [f"Asset {asset.id} does not belong to customer {customer_id}."]
    if errors:
        raise InvalidInput(errors)
    if site is None:
        if asset is not None and asset.site_id is not None:
            site_id = asset.site_id
        else:
            sites = session.scalars(select(Site.id).where(Site.customer_id == customer_id)
                                    .limit(2)).all()
            if len(sites) != 1:
                raise InvalidInput({"site_id": [
                    "Required: the customer has no site." if not sites else
                    "Required: the customer has several sites; say which one."]})
            site_id = sites[0]
    return customer_id, site_id, asset_id


def _check_windows(windows: list[dict[str, Any]]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    ordered = sorted(windows, key=lambda w: w["starts_at"])
    for i, w in enumerate(windows):
        if w["ends_at"] <= w["starts_at"]:
            errors[str(i)] = {"ends_at": ["Must be after starts_at."]}
    if not errors:
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b["starts_at"] < a["ends_at"]:
                errors[str(windows.index(b))] = {"starts_at": ["Overlaps another window."]}
    return {"time_windows": errors} if errors else {}


def _validate_requirements(session: Session, data: dict[str, Any]) -> None:
    errors: dict[str, Any] = {}
    if data.get("skills") is not None:
        errors |= check_ids(session, Skill, "skill_id", "skills", data["skills"])
    if data.get("parts") is not None:
        errors |= check_ids(session, Part, "part_id", "parts", data["parts"])
    if data.get("time_windows") is not None:
        errors |= _check_windows(data["time_windows"])
    if errors:
        raise InvalidInput(errors)


def _set_skills(work_order: WorkOrder, skills: Iterable[dict[str, Any]]) -> None:
    work_order.skills = [WorkOrderSkill(skill_id=s["skill_id"], min_level=s.get("min_level", 1))
                         for s in skills]


def _set_windows(work_order: WorkOrder, windows: Iterable[dict[str, Any]]) -> None:
    work_order.time_windows = [
        WorkOrderWindow(starts_at=_utc(w["starts_at"]), ends_at=_utc(w["ends_at"]))
        for w in sorted(windows, key=lambda w: w["starts_at"])]


def _set_parts(work_order: WorkOrder, parts: list[dict[str, Any]]) -> None:
    """Replace the required parts, keeping the reservation/issue record of kept lines."""
    wanted = {p["part_id"]: p["quantity"] for p in parts}
    errors: dict[str, Any] = {}
    keep = []
    for line in work_order.parts:
        if line.part_id in wanted:
            line.quantity = wanted.pop(line.part_id)
            keep.append(line)
        elif line.reserved or line.issued:
            errors[str(line.part_id)] = [
                f"Part {line.part_id} has {line.reserved} reserved and {line.issued} issued; "
                "release or return it before removing it."]
        # else: dropped from the list (delete-orphan)
    if errors:
        raise Conflict("Parts with stock booked against them cannot be removed.",
                       parts=errors)
    keep += [WorkOrderPart(part_id=pid, quantity=q) for pid, q in wanted.items()]
    work_order.parts = keep


def _check_technician(session: Session, technician_id: int | None,
                      field: str = "technician_id") -> None:
    if technician_id is None:
        return
    tech = session.get(Technician, technician_id)
    if tech is None:
        raise InvalidInput({field: [f"No technician with id {technician_id}."]})
    if not tech.active:
        raise InvalidInput({field: [f"Technician {technician_id} is not active."]})


def _default_end(work_order: WorkOrder) -> None:
    if work_order.scheduled_start_at is not None and (
            work_order.scheduled_end_at is None
            or work_order.scheduled_end_at < work_order.scheduled_start_at):
        work_order.scheduled_end_at = (work_order.scheduled_start_at
                                       + timedelta(minutes=work_order.estimated_minutes))


def create_work_order(session: Session, data: dict[str, Any], actor: Actor,
                      *, created_at: datetime | None = None) -> WorkOrder:
    """Create a `new` work order with its requirements and SLA due times.

    `data` keys: type, priority, summary, description, customer_id, site_id, asset_id,
    ticket_id, estimated_minutes, skills [{skill_id, min_level}], parts [{part_id,
    quantity}], time_windows [{starts_at, ends_at}], pinned, checklist.

    Without a `skills` key, a work order on an asset takes the skills its product
    declares; an explicit empty list stays empty.
    """
    data = dict(data)
    customer_id, site_id, asset_id = resolve_location(
        session, data.pop("customer_id", None), data.pop("site_id", None),
        data.pop("asset_id", None))
    _validate_requirements(session, data)
    asset = session.get(Asset, asset_id) if asset_id is not None else None
    if "skills" not in data and asset is not None:  # the product says what its service needs
        data["skills"] = declared_skills(session, asset.product_id)
    skills = data.pop("skills", None) or []
    parts = data.pop("parts", None) or []
    windows = data.pop("time_windows", None) or []
    created_at = created_at or utcnow()
    work_order = WorkOrder(
        customer_id=customer_id, site_id=site_id, asset_id=asset_id, status=S.NEW,
        type=data.pop("type", WorkOrderType.BREAKDOWN), priority=data.pop("priority", 3),
        created_at=created_at, updated_at=created_at, **data,
    )
    _set_skills(work_order, skills)
    work_order.parts = [WorkOrderPart(part_id=p["part_id"], quantity=p["quantity"])
                        for p in parts]
    _set_windows(work_order, windows)
    sla.apply_sla(session, work_order, created_at)
    session.add(work_order)
    _record(session, work_order, None, S.NEW, actor, created_at)
    session.flush()
    work_order_events.created(session, work_order)
    return work_order


def update_work_order(session: Session, work_order: WorkOrder, data: dict[str, Any],
                      actor: Actor) -> WorkOrder:
    """Apply a dispatcher's change; status changes go through `transition()` instead."""
    if work_order.status in TERMINAL:
        raise Conflict(f"Work order {work_order.id} is {work_order.status.value} and can no "
                       "longer be changed.", current_status=work_order.status.value)
    scheduling = {"technician_id", "scheduled_start_at", "scheduled_end_at"} & data.keys()
    if scheduling and work_order.status not in REASSIGNABLE:
        raise Conflict(
            f"Work order {work_order.id} is {work_order.status.value}; technician and schedule "
            "can only change before the technician is en route.",
            current_status=work_order.status.value, fields=sorted(scheduling))
    if "technician_id" in data:
        _check_technician(session, data["technician_id"])
    if work_order.status in (S.SCHEDULED, S.DISPATCHED):
        missing = [k for k in ("technician_id", "scheduled_start_at")
                   if k in data and data[k] is None]
        if missing:
            raise Conflict(f"A {work_order.status.value} work order needs a technician and a "
                           "start; move it back to new to unschedule it.",
                           current_status=work_order.status.value, fields=missing)
    _validate_requirements(session, data)
    data = dict(data)
    if "skills" in data:
        _set_skills(work_order, data.pop("skills") or [])
    if "parts" in data:
        _set_parts(work_order, data.pop("parts") or [])
    if "time_windows" in data:
        _set_windows(work_order, data.pop("time_windows") or [])
    old_priority = work_order.priority
    old_technician_id = work_order.technician_id
    for key in ("scheduled_start_at", "scheduled_end_at"):
        if key in data:
            data[key] = _utc(data[key])
    for key, value in data.items():
        setattr(work_order, key, value)
    if "scheduled_start_at" in data or "estimated_minutes" in data:
        _default_end(work_order)
    if (work_order.scheduled_end_at is not None and work_order.scheduled_start_at is not None
            and work_order.scheduled_end_at < work_order.scheduled_start_at):
        raise InvalidInput({"scheduled_end_at": ["Must not be before scheduled_start_at."]})
    if work_order.priority != old_priority:
        sla.apply_sla(session, work_order)
    work_order_events.assigned(session, work_order, old_technician_id)
    return work_order


def has_history(session: Session, work_order: WorkOrder) -> bool:
    """True once anything happened to the work order beyond its creation."""
    moved = session.scalar(select(exists().where(
        WorkOrderTransition.work_order_id == work_order.id,
        WorkOrderTransition.from_status.is_not(None))))
    stocked = session.scalar(select(exists().where(
        StockMovement.work_order_id == work_order.id)))
    follow_ups = session.scalar(select(exists().where(
        WorkOrder.follow_up_of_id == work_order.id)))
    return bool(moved or stocked or follow_ups)


def delete_work_order(session: Session, work_order: WorkOrder, actor: Actor) -> None:
    """Delete a work order created by mistake: only while new and untouched."""
    if work_order.status != S.NEW or has_history(session, work_order):
        raise Conflict(
            f"Work order {work_order.id} is {work_order.status.value} and has a history; "
            "cancel it instead.", current_status=work_order.status.value)
    for row in list(work_order.transitions):
        session.delete(row)
    session.delete(work_order)


# --- the status machine ----------------------------------------------------------------


def _first_time_fix(session: Session, work_order: WorkOrder, at: datetime) -> bool:
    """A fix is first-time unless this is a follow-up or the asset was fixed lately."""
    if work_order.follow_up_of_id is not None:
        return False
    if work_order.asset_id is None:
        return True
    recent = session.scalar(select(func.count(WorkOrder.id)).where(
        WorkOrder.asset_id == work_order.asset_id,
        WorkOrder.id != work_order.id,
        WorkOrder.status == S.COMPLETED,
        WorkOrder.completed_at >= at - timedelta(days=FIRST_TIME_FIX_DAYS),
        WorkOrder.completed_at <= at,
    ))
    return not recent


def _create_follow_up(session: Session, work_order: WorkOrder, actor: Actor,
                      at: datetime, reason: str) -> WorkOrder:
    follow_up = WorkOrder(
        type=work_order.type, priority=work_order.priority, status=S.NEW,
        summary=work_order.summary, description=work_order.description,
        customer_id=work_order.customer_id, site_id=work_order.site_id,
        asset_id=work_order.asset_id, ticket_id=work_order.ticket_id,
        contract_id=work_order.contract_id, estimated_minutes=work_order.estimated_minutes,
        # The customer's clock does not restart because the first visit failed.
        response_due_at=work_order.response_due_at,
        resolution_due_at=work_order.resolution_due_at,
        checklist=work_order.checklist, follow_up_of_id=work_order.id,
    )
    follow_up.skills = [WorkOrderSkill(skill_id=s.skill_id, min_level=s.min_level)
                        for s in work_order.skills]
    follow_up.parts = [WorkOrderPart(part_id=p.part_id, quantity=p.quantity)
                       for p in work_order.parts]
    session.add(follow_up)
    _record(session, follow_up, None, S.NEW, actor, at,
            reason=f"Follow-up of work order {work_order.id}: {reason}")
    return follow_up


def transition(session: Session, work_order: WorkOrder, to: S | str, actor: Actor, *,
               reason: str | None = None, at: datetime | None = None,
               lat: float | None = None, lon: float | None = None,
               technician_id: int | None = None, scheduled_start_at: datetime | None = None,
               resolution: str | None = None, resolution_code: str | None = None,
               ) -> WorkOrder:
    """Move `work_order` to status `to`, validated, with side effects, and record it.

    Raises 409 (Conflict) for a move the table does not allow, naming the current status
    and the allowed targets; 422 for a move missing what it needs (reason, technician,
    start) or with a time in the future. Side effects: scheduled sets technician and
    start; en_route sets started_at; on_site sets arrived_at; completed sets
    completed_at, resolution and first_time_fix; cannot_complete creates a follow-up work
    order; cancelled releases reserved parts; back to new clears the assignment.
    """
    try:
        target = S(to)
    except ValueError:
        raise InvalidInput({"to": [f"Unknown status '{to}'."]}) from None
    current = work_order.status
    now = utcnow()
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput({"at": ["Give a time zone."]})
    at = at.astimezone(UTC)
    if target not in TRANSITIONS[current]:
        allowed = allowed_targets(current)
        hint = ", ".join(allowed) if allowed else "none (it is final)"
        extra: dict[str, Any] = {}
        if current == S.ON_HOLD:
            extra["resume_to"] = resume_status(session, work_order).value
        raise Conflict(
            f"A {current.value} work order cannot move to {target.value}. Allowed: {hint}.",
            slug="illegal-transition", title="Illegal status transition",
            current_status=current.value, requested=target.value, allowed=allowed, **extra)

    errors: dict[str, list[str]] = {}
    if at > now + CLOCK_SKEW:
        errors["at"] = ["Must not be in the future."]
    reason = reason.strip() if reason else None
    if target in REASON_REQUIRED and not reason:
        errors["reason"] = [f"Required to move a work order to {target.value}."]
    if target == S.SCHEDULED:
        if technician_id is not None:
            _check_technician(session, technician_id)
        if (technician_id or work_order.technician_id) is None:
            errors["technician_id"] = ["Required to schedule a work order."]
        if (scheduled_start_at or work_order.scheduled_start_at) is None:
            errors["scheduled_start_at"] = ["Required to schedule a work order."]
    elif target == S.DISPATCHED and (work_order.technician_id is None
                                     or work_order.scheduled_start_at is None):
        errors["technician_id"] = ["Schedule the work order (technician and start) first."]
    if target != S.SCHEDULED:
        for name, value in (("technician_id", technician_id),
                            ("scheduled_start_at", scheduled_start_at)):
            if value is not None:
                errors.setdefault(name, []).append("Only accepted when moving to scheduled.")
    if target != S.COMPLETED:
        for name, value in (("resolution", resolution), ("resolution_code", resolution_code)):
            if value is not None:
                errors.setdefault(name, []).append("Only accepted when moving to completed.")
    if errors:
        raise InvalidInput(errors)

    previous_technician_id = work_order.technician_id
    follow_up: WorkOrder | None = None
    if target == S.SCHEDULED:
        if technician_id is not None:
            work_order.technician_id = technician_id
        if scheduled_start_at is not None:
            work_order.scheduled_start_at = _utc(scheduled_start_at)
            work_order.scheduled_end_at = None
        _default_end(work_order)
    elif target == S.NEW:
        work_order.technician_id = None
        work_order.scheduled_start_at = None
        work_order.scheduled_end_at = None
        work_order.eta_at = None
        work_order.pinned = False
    elif target == S.EN_ROUTE:
        work_order.started_at = at
    elif target == S.ON_SITE:
        work_order.arrived_at = at
        if work_order.started_at is None:
            work_order.started_at = at
    elif target == S.COMPLETED:
        work_order.completed_at = at
        work_order.resolution = resolution
        work_order.resolution_code = resolution_code
        work_order.first_time_fix = _first_time_fix(session, work_order, at)
    elif target == S.ON_HOLD:
        work_order.hold_reason = reason
    elif target == S.CANNOT_COMPLETE:
        work_order.cannot_complete_reason = reason
        work_order.first_time_fix = False
        follow_up = _create_follow_up(session, work_order, actor, at, reason)
    elif target == S.CANCELLED:
        stock.release_work_order(session, work_order, actor,
                                 note=f"Work order {work_order.id} cancelled: {reason}")
    if current == S.ON_HOLD:
        work_order.hold_reason = None

    work_order.status = target
    _record(session, work_order, current, target, actor, at, reason, lat, lon)
    session.flush()
    work_order_events.status_changed(session, work_order, current, at, reason)
    if target == S.SCHEDULED:
        work_order_events.assigned(session, work_order, previous_technician_id)
    if follow_up is not None:
        work_order_events.created(session, follow_up)
    if target == S.EN_ROUTE:
        # The customer hears it in the same transaction: a rolled-back move sends nothing.
        from fieldsvc.notify import domain as notify

        notify.en_route(session, work_order, now=now)
    return work_order


def follow_ups(session: Session, work_order: WorkOrder) -> list[WorkOrder]:
    """Work orders created because this one could not be completed."""
    return list(session.scalars(select(WorkOrder).where(
        WorkOrder.follow_up_of_id == work_order.id).order_by(WorkOrder.id)))
