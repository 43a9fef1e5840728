"""Tickets: what a customer reported; their status rules and the work orders they spawn."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Asset, Customer, Site, Ticket, WorkOrder, utcnow
from fieldsvc.models.enums import TicketStatus as T
from fieldsvc.models.enums import WorkOrderType
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.services import work_orders

# Ticket status machine: current → allowed next statuses (resolved → in_progress reopens).
TICKET_TRANSITIONS: dict[T, frozenset[T]] = {
    T.OPEN: frozenset({T.IN_PROGRESS}),
    T.IN_PROGRESS: frozenset({T.RESOLVED}),
    T.RESOLVED: frozenset({T.CLOSED, T.IN_PROGRESS}),
    T.CLOSED: frozenset(),
}


def _check_asset(session: Session, data: dict[str, Any], customer_id: int) -> None:
    asset_id = data.get("asset_id")
    if asset_id is None:
        return
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise InvalidInput({"asset_id": [f"No asset with id {asset_id}."]})
    if asset.customer_id != customer_id:
        raise InvalidInput({"asset_id": [
            f"Asset {asset_id} does not belong to customer {customer_id}."]})
    if data.get("product_id") is None:
        data["product_id"] = asset.product_id
    elif data["product_id"] != asset.product_id:
        raise InvalidInput({"product_id": [
            f"Asset {asset_id} is a product {asset.product_id}, not {data['product_id']}."]})


def create_ticket(session: Session, data: dict[str, Any], actor: Actor) -> Ticket:
    """Open a ticket; product and region are taken from the asset or customer when not given.

    The region is the asset's site's, else the customer's, else the one region all the
    customer's sites share: whatever the channel, as the console does, so that reports by
    region count every ticket.
    """
    data = dict(data)
    _check_asset(session, data, data["customer_id"])
    if not (data.get("region") or "").strip():
        region = None
        if data.get("asset_id") is not None:
            region = session.scalar(select(Site.region).join(Asset, Asset.site_id == Site.id)
                                    .where(Asset.id == data["asset_id"]))
        if not region:
            region = session.scalar(select(Customer.region).where(
                Customer.id == data["customer_id"]))
        if not region:
            regions = set(session.scalars(select(Site.region).where(
                Site.customer_id == data["customer_id"])))
            region = regions.pop() if len(regions) == 1 else None
        data["region"] = region
    ticket = Ticket(status=T.OPEN, **data)
    session.add(ticket)
    return ticket


def change_status(ticket: Ticket, to: T) -> None:
    """Move a ticket to `to` if the ticket status machine allows it (409 otherwise)."""
    if to == ticket.status:
        return
    if to not in TICKET_TRANSITIONS[ticket.status]:
        allowed = sorted(s.value for s in TICKET_TRANSITIONS[ticket.status])
        raise Conflict(
            f"A {ticket.status.value} ticket cannot move to {to.value}. Allowed: "
            f"{', '.join(allowed) or 'none (it is final)'}.",
            slug="illegal-transition", title="Illegal status transition",
            current_status=ticket.status.value, requested=to.value, allowed=allowed)
    ticket.status = to
    ticket.closed_at = utcnow() if to == T.CLOSED else None


def update_ticket(session: Session, ticket: Ticket, data: dict[str, Any],
                  actor: Actor) -> Ticket:
    """Change a ticket's fields; status moves are checked against TICKET_TRANSITIONS."""
    data = dict(data)
    if ticket.status == T.CLOSED and data:
        raise Conflict(f"Ticket {ticket.id} is closed.", current_status=ticket.status.value)
    customer_id = data.get("customer_id", ticket.customer_id)
    if {"asset_id", "customer_id", "product_id"} & data.keys():
        asset_id = data.get("asset_id", ticket.asset_id)
        if "product_id" in data:
            product_id = data["product_id"]
        elif asset_id is not None and asset_id != ticket.asset_id:
            product_id = None  # taken from the new asset
        else:
            product_id = ticket.product_id
        merged = {"asset_id": asset_id, "product_id": product_id}
        _check_asset(session, merged, customer_id)
        data["product_id"] = merged["product_id"]
    status = data.pop("status", None)
    for key, value in data.items():
        setattr(ticket, key, value)
    if status is not None:
        change_status(ticket, T(status))
    return ticket


def delete_ticket(session: Session, ticket: Ticket, actor: Actor) -> None:
    """Delete a ticket recorded by mistake; not once it spawned work."""
    if session.scalar(select(exists().where(WorkOrder.ticket_id == ticket.id))):
        raise Conflict(f"Ticket {ticket.id} has work orders; close it instead.")
    session.delete(ticket)


def create_work_order_from_ticket(session: Session, ticket: Ticket, data: dict[str, Any],
                                  actor: Actor) -> WorkOrder:
    """Open a work order for a ticket and put the ticket in progress.

    Defaults come from the ticket: customer, asset, priority, summary (subject) and
    description; type defaults to breakdown. The site is required unless the asset has
    one or the customer has exactly one site.
    """
    if ticket.status in (T.RESOLVED, T.CLOSED):
        raise Conflict(f"Ticket {ticket.id} is {ticket.status.value}; reopen it first.",
                       current_status=ticket.status.value)
    if data.get("customer_id") not in (None, ticket.customer_id):
        raise InvalidInput({"customer_id": ["Must be the ticket's customer."]})
    payload = dict(data)
    payload["customer_id"] = ticket.customer_id
    payload.setdefault("asset_id", ticket.asset_id)
    payload.setdefault("priority", ticket.priority)
    payload.setdefault("type", WorkOrderType.BREAKDOWN)
    payload.setdefault("summary", ticket.subject)
    payload.setdefault("description", ticket.description)
    payload["ticket_id"] = ticket.id
    work_order = work_orders.create_work_order(session, payload, actor)
    if ticket.status == T.OPEN:
        change_status(ticket, T.IN_PROGRESS)
    session.flush()
    return work_order
