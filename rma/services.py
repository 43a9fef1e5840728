"""RMA rules: who may return what, entitlement, numbering, and the status history.

The status machine is one table (`TRANSITIONS`, built from each type's path); `move`
runs one step with its checks and stock movements and records it. `flag_overdue_returns`
is the periodic job (imported by name by the scheduler process and `fieldsvc rma
flag-overdue`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.dates import local_today, today_in, zone_of
from fieldsvc.events.outbox import emit
from fieldsvc.models import (
    Asset,
    AssetContract,
    Customer,
    Part,
    ServiceContract,
    Site,
    Technician,
    Ticket,
    Warehouse,
    WorkOrder,
)
from fieldsvc.models.audit import AuditEntry
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import (
    CampaignStatus,
    Entitlement,
    MovementKind,
    RmaStatus,
    RmaType,
    WarehouseKind,
)
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.recall.models import CampaignPart, CampaignVin, RecallCampaign
from fieldsvc.services import stock
from fieldsvc.services.catalog import under_warranty
from rma.models import Disposition, InspectionResult, Rma, RmaTransition

NUMBER_PREFIX = "RMA"
NUMBER_ATTEMPTS = 5
RETURN_DAYS_DEFAULT = 15

S = RmaStatus

# The path each type walks (SPEC §3). An advance exchange ships the replacement before the
# faulty unit comes back; the other types have no replacement step: repair-and-return
# sends the customer's own unit back when it closes, return-for-credit and
# return-to-vendor end with the unit's disposition at inspection.
PATHS: dict[RmaType, tuple[RmaStatus, ...]] = {
    RmaType.ADVANCE_EXCHANGE: (S.REQUESTED, S.APPROVED, S.REPLACEMENT_SHIPPED,
                               S.DEFECTIVE_RECEIVED, S.INSPECTED, S.CLOSED),
    RmaType.REPAIR_AND_RETURN: (S.REQUESTED, S.APPROVED, S.DEFECTIVE_RECEIVED, S.INSPECTED,
                                S.CLOSED),
    RmaType.RETURN_FOR_CREDIT: (S.REQUESTED, S.APPROVED, S.DEFECTIVE_RECEIVED, S.INSPECTED,
                                S.CLOSED),
    RmaType.RETURN_TO_VENDOR: (S.REQUESTED, S.APPROVED, S.DEFECTIVE_RECEIVED, S.INSPECTED,
                               S.CLOSED),
}
# Ways off the path: refuse a request, or give up before anything has shipped or arrived.
EXITS: dict[RmaStatus, frozenset[RmaStatus]] = {
    S.REQUESTED: frozenset({S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.CANCELLED}),
}
# A replacement whose faulty unit never came back closes once flagged overdue (charged).
SHORTCUTS: dict[RmaType, dict[RmaStatus, frozenset[RmaStatus]]] = {
    RmaType.ADVANCE_EXCHANGE: {S.REPLACEMENT_SHIPPED: frozenset({S.CLOSED})},
}


def _table() -> dict[RmaType, dict[RmaStatus, frozenset[RmaStatus]]]:
    table: dict[RmaType, dict[RmaStatus, frozenset[RmaStatus]]] = {}
    for rma_type, path in PATHS.items():
        moves: dict[RmaStatus, set[RmaStatus]] = {status: set() for status in RmaStatus}
        for here, there in zip(path, path[1:], strict=False):
            moves[here].add(there)
        for here, targets in EXITS.items():
            moves[here] |= targets
        for here, targets in SHORTCUTS.get(rma_type, {}).items():
            moves[here] |= targets
        table[rma_type] = {status: frozenset(t) for status, t in moves.items()}
    return table


# The one transition table: type → current status → statuses it may move to.
TRANSITIONS: dict[RmaType, dict[RmaStatus, frozenset[RmaStatus]]] = _table()
FINAL = frozenset({S.CLOSED, S.REJECTED, S.CANCELLED})

# Where the returned unit may go after inspection, per type.
DISPOSITIONS: dict[RmaType, frozenset[Disposition]] = {
    RmaType.ADVANCE_EXCHANGE: frozenset({Disposition.RESTOCK, Disposition.TO_VENDOR,
                                         Disposition.SCRAP}),
    RmaType.RETURN_FOR_CREDIT: frozenset({Disposition.RESTOCK, Disposition.TO_VENDOR,
                                          Disposition.SCRAP}),
    RmaType.RETURN_TO_VENDOR: frozenset({Disposition.TO_VENDOR, Disposition.RESTOCK,
                                         Disposition.SCRAP}),
    RmaType.REPAIR_AND_RETURN: frozenset({Disposition.RETURN_TO_CUSTOMER, Disposition.SCRAP}),
}
# Fields a transition request may carry besides `to` and `note`, per target status.
STEP_FIELDS: dict[RmaStatus, frozenset[str]] = {
    S.APPROVED: frozenset({"warehouse_id"}),
    S.REPLACEMENT_SHIPPED: frozenset({"warehouse_id", "replacement_serial"}),
    S.DEFECTIVE_RECEIVED: frozenset({"warehouse_id", "defective_serial"}),
    S.INSPECTED: frozenset({"result", "failure_code", "inspection_notes", "disposition",
                            "warehouse_id"}),
}
NOTE_REQUIRED = frozenset({S.REJECTED, S.CANCELLED})
QUARANTINE_PREFIX = "QUARANTINE"


def allowed_targets(rma: Rma) -> list[str]:
    """The statuses `rma` may move to now, sorted."""
    return sorted(t.value for t in TRANSITIONS[rma.type][rma.status])


@dataclass(frozen=True)
class EntitlementDecision:
    entitlement: Entitlement
    reason: str


# Entitlement -----------------------------------------------------------------------------

def decide_entitlement(session: Session, asset: Asset | None, part_id: int | None,
                       today: date) -> EntitlementDecision:
    """Warranty, else an active contract, else a recall covering the part, else chargeable."""
    if asset is None:
        return EntitlementDecision(Entitlement.CHARGEABLE,
                                   "No asset given, so no warranty, contract or recall applies.")
    if under_warranty(asset, today):
        return EntitlementDecision(
            Entitlement.WARRANTY, f"Under warranty until {asset.warranty_end.isoformat()}.")
    contract = session.scalar(
        select(ServiceContract)
        .join(AssetContract, AssetContract.contract_id == ServiceContract.id)
        .where(AssetContract.asset_id == asset.id, ServiceContract.starts_on <= today,
               ServiceContract.ends_on >= today)
        .order_by(ServiceContract.ends_on.desc(), ServiceContract.id)
        .limit(1)
    )
    if contract is not None:
        return EntitlementDecision(
            Entitlement.CONTRACT,
            f"Covered by service contract {contract.number} until "
            f"{contract.ends_on.isoformat()}.")
    if part_id is not None:
        vin_match = [CampaignVin.asset_id == asset.id]
        if asset.vin:
            vin_match.append(CampaignVin.vin == asset.vin)
        campaign = session.scalar(
            select(RecallCampaign)
            .join(CampaignVin, CampaignVin.campaign_id == RecallCampaign.id)
            .join(CampaignPart, and_(CampaignPart.campaign_id == RecallCampaign.id,
                                     CampaignPart.part_id == part_id))
            .where(RecallCampaign.status == CampaignStatus.ACTIVE, or_(*vin_match))
            .order_by(RecallCampaign.id)
            .limit(1)
        )
        if campaign is not None:
            return EntitlementDecision(
                Entitlement.RECALL,
                f"Recall campaign {campaign.code} covers this part for this vehicle.")
    ended = (f"warranty ended {asset.warranty_end.isoformat()}" if asset.warranty_end
             else "no warranty on record")
    return EntitlementDecision(
        Entitlement.CHARGEABLE, f"Chargeable: {ended}, no active contract or recall covers it.")


# Numbering -------------------------------------------------------------------------------

def number_prefix(today: date) -> str:
    return f"{NUMBER_PREFIX}-{today:%y%m}-"


def next_number(session: Session, today: date) -> str:
    """The month's next number: RMA-2611-0001, …; past 9999 it grows a digit."""
    prefix = number_prefix(today)
    last = session.scalar(
        select(Rma.number).where(Rma.number.like(f"{prefix}%"))
        .order_by(func.length(Rma.number).desc(), Rma.number.desc()).limit(1)
    )
    sequence = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


# Checks and history ----------------------------------------------------------------------

def _check_ownership(session: Session, data: dict[str, Any]) -> Asset | None:
    customer_id = data["customer_id"]
    errors: dict[str, list[str]] = {}
    asset = session.get(Asset, data["asset_id"]) if data.get("asset_id") else None
    if asset is not None and asset.customer_id != customer_id:
        errors["asset_id"] = ["serial does not belong to this customer"]
    for key, model in (("ticket_id", Ticket), ("work_order_id", WorkOrder)):
        if data.get(key) is None:
            continue
        row = session.get(model, data[key])
        if row.customer_id != customer_id:
            label = model.__tablename__.replace("_", " ")
            errors[key] = [f"This {label} belongs to another customer."]
        elif asset is not None and getattr(row, "asset_id", None) not in (None, asset.id):
            errors[key] = [f"This {model.__tablename__.replace('_', ' ')} is about another "
                           "asset."]
    if data.get("asset_id") is None and data.get("part_id") is None:
        errors["part_id"] = ["Say what comes back: give asset_id, part_id or both."]
    if data.get("whole_unit") and data.get("asset_id") is None:
        errors["whole_unit"] = ["A whole-unit return needs the asset (asset_id)."]
    if data["type"] == RmaType.ADVANCE_EXCHANGE and data.get("part_id") is None:
        errors.setdefault("part_id", []).append(
            "An advance exchange ships a stocked replacement: give its part_id.")
    if data.get("replacement_warehouse_id") is not None:
        if data["type"] != RmaType.ADVANCE_EXCHANGE:
            errors["replacement_warehouse_id"] = ["Only an advance exchange ships a "
                                                  "replacement."]
        else:
            problem = _source_problem(session, session.get(Warehouse,
                                                           data["replacement_warehouse_id"]),
                                      data.get("work_order_id"))
            if problem:
                errors["replacement_warehouse_id"] = [problem]
    if errors:
        raise InvalidInput(errors)
    return asset


def _record(session: Session, rma: Rma, before: RmaStatus | None, to: RmaStatus,
            actor: Actor, note: str | None = None) -> None:
    rma.status = to
    at = utcnow()
    session.add(RmaTransition(rma_id=rma.id, from_status=before.value if before else None,
                              to_status=to.value, actor_id=actor.id, actor_name=actor.name,
                              at=at, note=note))
    # Its creation too (from_status null): a receiver learns of the RMA from the first one.
    emit(session, "rma.status_changed", "rma", rma.id, {
        "rma_id": rma.id, "number": rma.number, "type": rma.type, "from_status": before,
        "status": to, "at": at, "customer_id": rma.customer_id, "asset_id": rma.asset_id,
        "work_order_id": rma.work_order_id, "entitlement": rma.entitlement,
        "return_deadline": rma.return_deadline, "note": note})


def check_allowed(rma: Rma, to: RmaStatus) -> None:
    """409 naming the allowed targets unless the table lets `rma` move to `to`."""
    before = rma.status
    if to not in TRANSITIONS[rma.type][before]:
        allowed = allowed_targets(rma)
        hint = ", ".join(allowed) if allowed else "none (it is final)"
        raise Conflict(
            f"A {before.value} {rma.type.value} RMA cannot move to {to.value}. "
            f"Allowed: {hint}.",
            slug="illegal-transition", title="Illegal status transition",
            current_status=before.value, requested=to.value, allowed=allowed)


def transition(session: Session, rma: Rma, to: RmaStatus, actor: Actor,
               note: str | None = None) -> Rma:
    """Move an RMA along its type's path, recording who and when; 409 if not allowed.

    Only the status and its history: `move` adds the checks and stock of each step.
    """
    check_allowed(rma, to)
    _record(session, rma, rma.status, to, actor, note)
    session.flush()
    return rma


# Stock -----------------------------------------------------------------------------------
#
# The replacement is reserved and issued through the stock ledger. A technician's van
# ships only for a swap on site, against the RMA's work order (stock.reserve/issue, so the
# job's part line shows it). Any other warehouse ships by courier against the RMA itself:
# stock.move_without_work_order: the same guarded UPDATE of the stock level (never below
# zero, one winner for the last unit) and a ledger row with rma_id and no work order.

def _source_problem(session: Session, warehouse: Warehouse | None,
                    work_order_id: int | None) -> str | None:
    """Why `warehouse` cannot ship a replacement, or None."""
    if warehouse is None:
        return "No such warehouse."
    if warehouse.kind == WarehouseKind.QUARANTINE:
        return "Replacements do not ship from a quarantine warehouse."
    if warehouse.kind == WarehouseKind.VAN:
        order = session.get(WorkOrder, work_order_id) if work_order_id else None
        if order is None:
            return ("A van ships a replacement only for a swap on site: the RMA needs a "
                    "work order.")
        tech = session.get(Technician, order.technician_id) if order.technician_id else None
        if tech is None or tech.van_warehouse_id != warehouse.id:
            return "This is not the van of the work order's technician."
    return None


def _on_site(session: Session, rma: Rma, warehouse_id: int) -> bool:
    return session.get(Warehouse, warehouse_id).kind == WarehouseKind.VAN


def _reserve_replacement(session: Session, rma: Rma, warehouse_id: int, actor: Actor) -> None:
    note = f"{rma.number}: replacement held"
    if _on_site(session, rma, warehouse_id):
        stock.reserve(session, rma.part_id, rma.quantity, warehouse_id, rma.work_order_id,
                      actor, rma_id=rma.id, note=note)
    else:
        stock.move_without_work_order(session, MovementKind.RESERVE, rma.part_id,
                                      rma.quantity, warehouse_id, actor, rma_id=rma.id,
                                      note=note)
    rma.replacement_warehouse_id = warehouse_id
    rma.replacement_reserved = rma.quantity


def _release_replacement(session: Session, rma: Rma, actor: Actor) -> None:
    if not rma.replacement_reserved:
        return
    warehouse_id, note = rma.replacement_warehouse_id, f"{rma.number}: cancelled"
    if _on_site(session, rma, warehouse_id):
        stock.release(session, rma.part_id, rma.replacement_reserved, warehouse_id,
                      rma.work_order_id, actor, rma_id=rma.id, note=note)
    else:
        stock.move_without_work_order(session, MovementKind.RELEASE, rma.part_id,
                                      rma.replacement_reserved, warehouse_id, actor,
                                      rma_id=rma.id, note=note)
    rma.replacement_reserved = 0


def _issue_replacement(session: Session, rma: Rma, warehouse_id: int, serial: str | None,
                       actor: Actor) -> None:
    note = f"{rma.number}: replacement shipped"
    if _on_site(session, rma, warehouse_id):
        stock.issue(session, rma.part_id, rma.quantity, warehouse_id, rma.work_order_id,
                    actor, rma_id=rma.id, serial_number=serial, note=note)
    else:
        held = rma.replacement_reserved if rma.replacement_warehouse_id == warehouse_id else 0
        stock.move_without_work_order(session, MovementKind.ISSUE, rma.part_id,
                                      rma.quantity, warehouse_id, actor, held=held,
                                      rma_id=rma.id, serial_number=serial, note=note)
    rma.replacement_warehouse_id = warehouse_id
    rma.replacement_reserved = 0


def quarantine_for(session: Session, rma: Rma) -> Warehouse:
    """The quarantine warehouse of the RMA's region, created on first use.

    Region: the asset's site, else the customer, else the replacement's warehouse; code
    QUARANTINE-<REGION> (QUARANTINE without a region).
    """
    region = None
    asset = session.get(Asset, rma.asset_id) if rma.asset_id else None
    if asset is not None and asset.site is not None:
        region = asset.site.region
    if region is None:
        region = session.get(Customer, rma.customer_id).region
    if region is None and rma.replacement_warehouse_id is not None:
        region = session.get(Warehouse, rma.replacement_warehouse_id).region
    slug = re.sub(r"[^A-Z0-9]+", "-", (region or "").upper()).strip("-")[:28]
    code = f"{QUARANTINE_PREFIX}-{slug}" if slug else QUARANTINE_PREFIX
    found = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if found is not None:
        return found
    warehouse = Warehouse(code=code, kind=WarehouseKind.QUARANTINE, region=region,
                          name=f"Returns quarantine{f' ({region})' if region else ''}")
    try:
        with session.begin_nested():
            session.add(warehouse)
            session.flush()
    except IntegrityError:  # created meanwhile by a concurrent request
        pending = session.info.get("audit_pending") or []
        session.info["audit_pending"] = [p for p in pending if p[0] is not warehouse]
        return session.scalar(select(Warehouse).where(Warehouse.code == code))
    return warehouse


# Steps -----------------------------------------------------------------------------------

def _approve(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, ctx: dict):
    warehouse_id = data.get("warehouse_id") or rma.replacement_warehouse_id
    if warehouse_id is None:
        return  # an advance exchange may pick its warehouse when it ships
    problem = _source_problem(session, session.get(Warehouse, warehouse_id), rma.work_order_id)
    if problem:
        raise InvalidInput({"warehouse_id": [problem]})
    _reserve_replacement(session, rma, warehouse_id, actor)


def _ship(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, ctx: dict):
    errors: dict[str, list[str]] = {}
    warehouse_id = data.get("warehouse_id") or rma.replacement_warehouse_id
    if warehouse_id is None:
        errors["warehouse_id"] = ["Say which warehouse the replacement ships from."]
    elif rma.replacement_reserved and warehouse_id != rma.replacement_warehouse_id:
        errors["warehouse_id"] = [f"The replacement is held in warehouse "
                                  f"{rma.replacement_warehouse_id}; ship it from there."]
    else:
        problem = _source_problem(session, session.get(Warehouse, warehouse_id),
                                  rma.work_order_id)
        if problem:
            errors["warehouse_id"] = [problem]
    serial = data.get("replacement_serial")
    part = session.get(Part, rma.part_id)
    if part.serialized and not serial:
        errors["replacement_serial"] = ["Required: this part is tracked by serial number."]
    if errors:
        raise InvalidInput(errors)
    _issue_replacement(session, rma, warehouse_id, serial, actor)
    rma.replacement_serial = serial
    rma.return_deadline = ctx["today"] + timedelta(days=ctx["return_days"])


def _receive(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, ctx: dict):
    errors: dict[str, list[str]] = {}
    serial = data.get("defective_serial")
    part = session.get(Part, rma.part_id) if rma.part_id else None
    asset = session.get(Asset, rma.asset_id) if rma.asset_id else None
    if rma.whole_unit and asset is not None:
        if not serial:
            errors["defective_serial"] = ["Required: give the returned unit's serial."]
        elif serial != (asset.serial_number or asset.vin):
            errors["defective_serial"] = ["serial does not match the customer's asset"]
    elif part is not None and part.serialized and not serial:
        errors["defective_serial"] = ["Required: this part is tracked by serial number."]
    warehouse = None
    if data.get("warehouse_id") is not None:
        warehouse = session.get(Warehouse, data["warehouse_id"])
        if warehouse.kind != WarehouseKind.QUARANTINE:
            errors["warehouse_id"] = ["Returned units go to a quarantine warehouse."]
    if errors:
        raise InvalidInput(errors)
    if warehouse is None:
        warehouse = quarantine_for(session, rma)
    rma.quarantine_warehouse_id = warehouse.id
    rma.defective_serial = serial
    if part is not None:
        stock.receive(session, part.id, rma.quantity, warehouse.id, actor, rma_id=rma.id,
                      serial_number=serial, note=f"{rma.number}: returned unit")
    if rma.overdue_flagged_at is not None and rma.charge_customer:
        rma.charge_customer = False
        ctx["note"] = "; ".join(filter(None, [ctx.get("note"),
                                             "Returned after the deadline: charge withdrawn."]))


def _inspect(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, ctx: dict):
    errors: dict[str, list[str]] = {}
    result = data.get("result")
    if result is None:
        errors["result"] = ["Required: failure_confirmed, no_fault_found or customer_damage."]
    disposition = data.get("disposition")
    allowed = DISPOSITIONS[rma.type]
    if disposition is None and rma.part_id is not None:
        errors["disposition"] = [f"Required: one of {', '.join(sorted(allowed))}."]
    elif disposition is not None and disposition not in allowed:
        errors["disposition"] = [f"A {rma.type.value} RMA allows: "
                                 f"{', '.join(sorted(allowed))}."]
    needs_place = disposition in (Disposition.RESTOCK, Disposition.TO_VENDOR)
    target = session.get(Warehouse, data["warehouse_id"]) if data.get("warehouse_id") else None
    if needs_place and target is None:
        errors["warehouse_id"] = [f"Required for {disposition.value}: where the unit goes."]
    elif not needs_place and target is not None:
        errors["warehouse_id"] = ["Only restock and to_vendor move the unit to a warehouse."]
    elif target is not None and target.kind in (WarehouseKind.QUARANTINE, WarehouseKind.VAN):
        errors["warehouse_id"] = [f"Not into a {target.kind.value} warehouse."]
    if errors:
        raise InvalidInput(errors)
    rma.inspection_result = result.value
    rma.inspection_failure_code = data.get("failure_code") or rma.failure_code
    rma.inspection_notes = data.get("inspection_notes")
    rma.disposition = disposition.value if disposition else None
    rma.disposition_warehouse_id = target.id if target else None
    if result == InspectionResult.CUSTOMER_DAMAGE and rma.type in CHARGED_FOR_DAMAGE:
        rma.charge_customer = True
    if rma.part_id is None or disposition == Disposition.RETURN_TO_CUSTOMER:
        return  # nothing stocked to move, or it leaves when the RMA closes
    note = f"{rma.number}: {disposition.value} after inspection ({result.value})"
    if needs_place:
        stock.transfer(session, rma.part_id, rma.quantity, rma.quarantine_warehouse_id,
                       target.id, actor, rma_id=rma.id, serial_number=rma.defective_serial,
                       note=note)
    else:
        stock.scrap(session, rma.part_id, rma.quantity, rma.quarantine_warehouse_id, actor,
                    rma_id=rma.id, serial_number=rma.defective_serial, note=note)


def _close(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, ctx: dict):
    if rma.status == S.REPLACEMENT_SHIPPED and rma.overdue_flagged_at is None:
        raise Conflict("The faulty unit has not come back and is not overdue yet: receive it, "
                       "or close after the deadline has been flagged.",
                       current_status=rma.status.value, return_deadline=str(
                           rma.return_deadline) if rma.return_deadline else None)
    if rma.disposition == Disposition.RETURN_TO_CUSTOMER.value and rma.part_id is not None:
        stock.move_without_work_order(session, MovementKind.ISSUE, rma.part_id,
                                      rma.quantity, rma.quarantine_warehouse_id, actor,
                                      rma_id=rma.id, serial_number=rma.defective_serial,
                                      note=f"{rma.number}: repaired unit sent back")


def _cancel(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, ctx: dict):
    _release_replacement(session, rma, actor)


CHARGED_FOR_DAMAGE = frozenset({RmaType.ADVANCE_EXCHANGE, RmaType.REPAIR_AND_RETURN})
STEPS = {S.APPROVED: _approve, S.REPLACEMENT_SHIPPED: _ship, S.DEFECTIVE_RECEIVED: _receive,
         S.INSPECTED: _inspect, S.CLOSED: _close, S.CANCELLED: _cancel}


def move(session: Session, rma: Rma, data: dict[str, Any], actor: Actor, *,
         today: date | None = None, return_days: int = RETURN_DAYS_DEFAULT,
         default_zone: str | None = None) -> Rma:
    """One step of the status machine with its checks and stock movements, recorded.

    Dates (the return deadline) are days of the customer's site (`rma_zone`), unless
    `today` is given.

    409 for a move the table does not allow (naming the allowed targets) or that stock
    cannot serve; 422 for missing or misplaced fields. All or nothing: a refused step
    leaves the RMA and the stock as they were (the request rolls back).
    """
    to = RmaStatus(data["to"])
    check_allowed(rma, to)
    accepted = STEP_FIELDS.get(to, frozenset()) | {"to", "note"}
    errors = {key: [f"Not used when moving to {to.value}."]
              for key, value in data.items() if key not in accepted and value is not None}
    note = (data.get("note") or "").strip() or None
    if to in NOTE_REQUIRED and note is None:
        errors["note"] = [f"Required: say why the RMA is {to.value}."]
    if errors:
        raise InvalidInput(errors)
    if today is None:
        today = today_in(rma_zone(session, rma.id, default_zone))
    ctx = {"today": today, "return_days": return_days, "note": note}
    step = STEPS.get(to)
    if step is not None:
        step(session, rma, data, actor, ctx)
    transition(session, rma, to, actor, note=ctx["note"])
    return rma


def approve_goodwill(session: Session, rma: Rma, reason: str, actor: Actor) -> Rma:
    """Turn a chargeable RMA into goodwill: the approver and the reason are recorded."""
    if rma.entitlement != Entitlement.CHARGEABLE:
        raise Conflict(f"Only a chargeable RMA can become goodwill; this one is "
                       f"{rma.entitlement.value}.", entitlement=rma.entitlement.value)
    if rma.status in FINAL:
        raise Conflict(f"The RMA is {rma.status.value}.", current_status=rma.status.value)
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": ["Say why the customer is not charged."]})
    rma.entitlement = Entitlement.GOODWILL
    rma.entitlement_reason = f"Goodwill approved by {actor.name}: {reason}"[:400]
    rma.goodwill_approved_by_id = actor.id
    rma.goodwill_approved_at = utcnow()
    rma.charge_customer = False
    session.flush()
    return rma


def _zone_column():
    """The zone of an RMA's customer site: the job's site, the asset's, the customer's."""
    of_job = (select(Site.timezone).join(WorkOrder, WorkOrder.site_id == Site.id)
              .where(WorkOrder.id == Rma.work_order_id).scalar_subquery())
    of_asset = (select(Site.timezone).join(Asset, Asset.site_id == Site.id)
                .where(Asset.id == Rma.asset_id).scalar_subquery())
    of_customer = (select(Site.timezone)
                   .where(Site.customer_id == Rma.customer_id, Site.timezone.is_not(None))
                   .order_by(Site.id).limit(1).scalar_subquery())
    return func.coalesce(of_job, of_asset, of_customer)


def rma_zone(session: Session, rma_id: int, default_zone: str | None = None) -> str:
    """The IANA zone whose days an RMA's deadlines are counted in.

    The site of the RMA's job, else its asset's site, else the customer's first site with a
    zone; else `default_zone`, else the deployment's zone. Never the server's or UTC's.
    """
    zone = session.scalar(select(_zone_column()).where(Rma.id == rma_id))
    return zone_of(zone, default=default_zone)


# Local dates run at most 14 hours ahead of UTC (Pacific/Kiritimati).
_AHEAD_OF_UTC = timedelta(hours=14)


def flag_overdue_returns(session: Session, *, now: datetime, actor: Actor,
                         default_zone: str | None = None) -> list[int]:
    """Flag advance exchanges whose faulty unit is past its deadline, once each.

    The deadline is the last day to return it, a day of the customer's site (`rma_zone`):
    once that local day is over the RMA is overdue: `overdue_flagged_at` is set and the
    customer's charge flagged. The UPDATE is conditional on `overdue_flagged_at IS NULL`,
    so a second run (or a standby scheduler taking over) flags nothing twice. Returns the
    ids flagged by this call.
    """
    rma_t = Rma.__table__
    waiting = (Rma.status == S.REPLACEMENT_SHIPPED, Rma.overdue_flagged_at.is_(None),
               Rma.return_deadline < (now + _AHEAD_OF_UTC).astimezone(UTC).date())
    due = [ident for ident, deadline, zone in session.execute(
               select(Rma.id, Rma.return_deadline, _zone_column()).where(*waiting))
           if deadline < today_in(zone_of(zone, default=default_zone), now)]
    if not due:
        return []
    flagged = list(session.scalars(
        update(rma_t)
        .where(rma_t.c.id.in_(due), rma_t.c.status == S.REPLACEMENT_SHIPPED.value,
               rma_t.c.overdue_flagged_at.is_(None))
        .values(overdue_flagged_at=now, charge_customer=True, updated_at=now)
        .returning(rma_t.c.id)
    ))
    flagged.sort()
    if flagged:
        # A Core UPDATE passes by the flush hook: write its audit rows here.
        session.execute(AuditEntry.__table__.insert(), [
            {"at": now, "actor_id": actor.id, "actor_name": actor.name,
             "source": actor.source, "action": "update", "entity_type": "rma",
             "entity_id": str(ident),
             "changes": {"overdue_flagged_at": [None, now.isoformat()],
                         "charge_customer": [False, True]}}
            for ident in flagged])
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Rma) and obj.id in flagged:
                session.expire(obj)
    return flagged


# Operations ------------------------------------------------------------------------------

def create_rma(session: Session, data: dict[str, Any], actor: Actor,
               today: date | None = None) -> Rma:
    """Open an RMA: check ownership, decide entitlement, number it, record `requested`."""
    today = today or local_today()
    asset = _check_ownership(session, data)
    decision = decide_entitlement(session, asset, data.get("part_id"), today)
    whole_unit = data.get("whole_unit")
    if whole_unit is None:  # nothing said: an RMA about an asset and no part is the unit
        whole_unit = asset is not None and data.get("part_id") is None
    for attempt in range(NUMBER_ATTEMPTS):
        rma = Rma(
            number=next_number(session, today),
            type=data["type"],
            customer_id=data["customer_id"],
            asset_id=data.get("asset_id"),
            part_id=data.get("part_id"),
            quantity=data.get("quantity", 1),
            ticket_id=data.get("ticket_id"),
            work_order_id=data.get("work_order_id"),
            failure_description=data.get("failure_description"),
            failure_code=data.get("failure_code"),
            entitlement=decision.entitlement,
            entitlement_reason=decision.reason,
            whole_unit=whole_unit,
            replacement_warehouse_id=data.get("replacement_warehouse_id"),
            status=RmaStatus.REQUESTED,
        )
        # A concurrent request may take the same number: retry inside a savepoint so the
        # rest of the transaction survives.
        try:
            with session.begin_nested():
                session.add(rma)
                session.flush()
        except IntegrityError:
            # The failed row must not be audited by the next flush.
            pending = session.info.get("audit_pending") or []
            session.info["audit_pending"] = [p for p in pending if p[0] is not rma]
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
            continue
        break
    _record(session, rma, None, RmaStatus.REQUESTED, actor, note=decision.reason)
    session.flush()
    return rma


def create_from_work_order(session: Session, work_order: WorkOrder, data: dict[str, Any],
                           actor: Actor) -> Rma:
    """A technician found a faulty part: the RMA takes the job's customer and asset."""
    data = dict(data, customer_id=work_order.customer_id, work_order_id=work_order.id)
    if data.get("asset_id") is None and work_order.asset_id is not None:
        data["asset_id"] = work_order.asset_id
    if data.get("ticket_id") is None and work_order.ticket_id is not None:
        data["ticket_id"] = work_order.ticket_id
    return create_rma(session, data, actor)
