"""RMA rules: who may return what, entitlement, numbering, and the status history.

Creation is here; the status machine (approve, ship replacement, receive, inspect, close)
and its stock movements slot in as further operations that call `transition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.errors import Conflict, InvalidInput
from fieldsvc.models import (
    Asset,
    AssetContract,
    CampaignPart,
    CampaignVin,
    RecallCampaign,
    ServiceContract,
    Ticket,
    WorkOrder,
)
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import CampaignStatus, Entitlement, RmaStatus
from rma.models import Rma, RmaTransition

NUMBER_PREFIX = "RMA"
NUMBER_ATTEMPTS = 5

# The status machine (SPEC §3). Issue #7 adds the operations that walk it.
TRANSITIONS: dict[RmaStatus, frozenset[RmaStatus]] = {
    RmaStatus.REQUESTED: frozenset({RmaStatus.APPROVED, RmaStatus.REJECTED,
                                    RmaStatus.CANCELLED}),
    RmaStatus.APPROVED: frozenset({RmaStatus.REPLACEMENT_SHIPPED, RmaStatus.DEFECTIVE_RECEIVED,
                                   RmaStatus.CANCELLED}),
    RmaStatus.REPLACEMENT_SHIPPED: frozenset({RmaStatus.DEFECTIVE_RECEIVED}),
    RmaStatus.DEFECTIVE_RECEIVED: frozenset({RmaStatus.INSPECTED}),
    RmaStatus.INSPECTED: frozenset({RmaStatus.CLOSED}),
    RmaStatus.CLOSED: frozenset(),
    RmaStatus.REJECTED: frozenset(),
    RmaStatus.CANCELLED: frozenset(),
}


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
    if asset.warranty_end is not None and asset.warranty_end >= today:
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
    if errors:
        raise InvalidInput(errors)
    return asset


def _record(session: Session, rma: Rma, before: RmaStatus | None, to: RmaStatus,
            actor: Actor, note: str | None = None) -> None:
    rma.status = to
    session.add(RmaTransition(rma_id=rma.id, from_status=before.value if before else None,
                              to_status=to.value, actor_id=actor.id, actor_name=actor.name,
                              at=utcnow(), note=note))


def transition(session: Session, rma: Rma, to: RmaStatus, actor: Actor,
               note: str | None = None) -> Rma:
    """Move an RMA along the status machine, recording who and when; 409 if not allowed.

    The step operations of issue #7 (approve, ship, receive, inspect, close) check their
    own preconditions and stock movements, then call this.
    """
    before = rma.status
    if to not in TRANSITIONS[before]:
        raise Conflict(f"An RMA cannot go from {before.value} to {to.value}.",
                       allowed=sorted(s.value for s in TRANSITIONS[before]))
    _record(session, rma, before, to, actor, note)
    session.flush()
    return rma


# Operations ------------------------------------------------------------------------------

def create_rma(session: Session, data: dict[str, Any], actor: Actor,
               today: date | None = None) -> Rma:
    """Open an RMA: check ownership, decide entitlement, number it, record `requested`."""
    today = today or date.today()
    asset = _check_ownership(session, data)
    decision = decide_entitlement(session, asset, data.get("part_id"), today)
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
