"""The contact center's single customer view: find a caller, load their whole history.

Everything a customer page shows is loaded in a fixed number of queries (one per kind of
row, batched by customer or asset id), however long the history is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from fieldsvc.hooks import Hooks
from fieldsvc.models import (
    Asset,
    AssetContract,
    Customer,
    Interaction,
    ServiceContract,
    Site,
    Ticket,
    User,
    WorkOrder,
)
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus, TicketStatus, WorkOrderStatus
from fieldsvc.recall.models import CampaignVin, RecallAppointment, RecallCampaign
from fieldsvc.services.catalog import under_warranty
from fieldsvc.services.phones import phone_key
from fieldsvc.services.work_orders import TERMINAL

SEARCH_LIMIT = 50
# Not in a final state. A visit that could not be completed is final: its follow-up (a new
# work order, opened with it) carries the work that is left.
OPEN_WORK = frozenset(WorkOrderStatus) - TERMINAL
OPEN_TICKETS = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)
OPEN_RECALLS = (AppointmentStatus.INVITED, AppointmentStatus.BOOKED)


def find_customers(session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers matching a phone number (any format), a name, a serial number or a VIN."""
    text = (query or "").strip()
    if not text:
        return []
    conditions = [Customer.name.ilike(f"%{text}%"), Customer.contact_name.ilike(f"%{text}%")]
    key = phone_key(text)
    if key and len(key) >= 5:
        conditions += [Customer.phone_key == key, Customer.mobile_key == key]
    unit = text.upper()
    owners = select(Asset.customer_id).where(or_(Asset.serial_number == text,
                                                 Asset.vin == unit))
    conditions.append(Customer.id.in_(owners))
    stmt = (select(Customer).where(or_(*conditions), Customer.erased_at.is_(None))
            .order_by(Customer.name, Customer.id).limit(limit))
    return list(session.scalars(stmt))


@dataclass
class AssetState:
    asset: Asset
    under_warranty: bool
    contracts: list[ServiceContract] = field(default_factory=list)

    @property
    def under_contract(self) -> bool:
        return bool(self.contracts)


@dataclass(frozen=True)
class AffectedVehicle:
    """A customer's vehicle on an active recall with no appointment yet: bookable now."""

    campaign: RecallCampaign
    vin: str
    asset: Asset


@dataclass
class CustomerView:
    customer: Customer
    sites: list[Site]
    assets: list[AssetState]
    open_work_orders: list[WorkOrder]
    past_work_orders: list[WorkOrder]
    tickets: list[Ticket]
    rmas: list[Any]
    recalls: list[RecallAppointment]
    interactions: list[Interaction]
    agents: dict[int, User]
    affected: list[AffectedVehicle] = field(default_factory=list)


def customer_view(session: Session, customer: Customer, today: date, hooks: Hooks,
                  history_limit: int = 200) -> CustomerView:
    """Everything about one customer, newest first, in a bounded number of queries.

    RMAs come from the rma plugin through `hooks.customer_rmas` (none when no plugin
    registered one)."""
    cid = customer.id
    sites = list(session.scalars(select(Site).where(Site.customer_id == cid).order_by(Site.id)))
    assets = list(session.scalars(select(Asset).where(Asset.customer_id == cid)
                                  .options(selectinload(Asset.product)).order_by(Asset.id)))
    links = session.execute(
        select(AssetContract.asset_id, ServiceContract)
        .join(ServiceContract, ServiceContract.id == AssetContract.contract_id)
        .where(AssetContract.asset_id.in_([a.id for a in assets]),
               ServiceContract.starts_on <= today, ServiceContract.ends_on >= today)
    ).all() if assets else []
    by_asset: dict[int, list[ServiceContract]] = {}
    for asset_id, contract in links:
        by_asset.setdefault(asset_id, []).append(contract)
    states = [AssetState(a, under_warranty(a, today),
                         by_asset.get(a.id, [])) for a in assets]
    work = list(session.scalars(
        select(WorkOrder).where(WorkOrder.customer_id == cid)
        .options(selectinload(WorkOrder.technician), selectinload(WorkOrder.site))
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(history_limit)))
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.customer_id == cid)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(history_limit)))
    rmas = hooks.customer_rmas(session, cid, history_limit) if hooks.customer_rmas else []
    recalls = list(session.scalars(
        select(RecallAppointment).where(RecallAppointment.customer_id == cid,
                                        RecallAppointment.status.in_(OPEN_RECALLS))
        .order_by(RecallAppointment.id.desc())))
    affected = affected_vehicles(session, assets)
    interactions = list(session.scalars(
        select(Interaction).where(Interaction.customer_id == cid)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(history_limit)))
    agent_ids = {i.agent_id for i in interactions if i.agent_id} | \
        {t.assigned_user_id for t in tickets if t.assigned_user_id}
    agents = {u.id: u for u in session.scalars(select(User).where(User.id.in_(agent_ids)))} \
        if agent_ids else {}
    return CustomerView(
        customer=customer, sites=sites, assets=states,
        open_work_orders=[w for w in work if w.status in OPEN_WORK],
        past_work_orders=[w for w in work if w.status not in OPEN_WORK],
        tickets=tickets, rmas=rmas, recalls=recalls, interactions=interactions, agents=agents,
        affected=affected)


def affected_vehicles(session: Session, assets: list[Asset]) -> list[AffectedVehicle]:
    """The vehicles among `assets` whose VIN is on an active campaign's list and that have no
    appointment of that campaign yet (an invitation or booking shows as a recall already)."""
    by_vin = {a.vin: a for a in assets if a.vin}
    if not by_vin:
        return []
    rows = session.execute(
        select(RecallCampaign, CampaignVin.vin)
        .join(CampaignVin, CampaignVin.campaign_id == RecallCampaign.id)
        .where(RecallCampaign.status == CampaignStatus.ACTIVE, CampaignVin.vin.in_(by_vin))
        .order_by(RecallCampaign.code, CampaignVin.vin)).all()
    if not rows:
        return []
    taken = {(campaign_id, vin) for campaign_id, vin in session.execute(
        select(RecallAppointment.campaign_id, RecallAppointment.vin)
        .where(RecallAppointment.vin.in_(by_vin)))}
    return [AffectedVehicle(campaign, vin, by_vin[vin]) for campaign, vin in rows
            if (campaign.id, vin) not in taken]


def campaigns_by_id(session: Session, ids) -> dict[int, RecallCampaign]:
    ids = set(ids)
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(RecallCampaign)
                                             .where(RecallCampaign.id.in_(ids)))}
