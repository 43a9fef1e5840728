"""Interactions: log a contact, identify the caller, flag out-of-hours callbacks."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.dates import configured_zone_name
from fieldsvc.models import Customer, Interaction, Ticket, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import Direction
from fieldsvc.problems import InvalidInput
from fieldsvc.services.phones import phone_key

# Clocks differ a little between a phone system and the server; more is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)


def customers_by_number(session: Session, number: str | None, limit: int = 2) -> list[int]:
    """Ids of customers whose phone or mobile is `number` in any format (at most `limit`)."""
    key = phone_key(number)
    if not key:
        return []
    stmt = (select(Customer.id)
            .where(or_(Customer.phone_key == key, Customer.mobile_key == key),
                   Customer.erased_at.is_(None))
            .order_by(Customer.id).limit(limit))
    return list(session.scalars(stmt))


def parse_hours(spec: str) -> tuple[time, time]:
    """'07:30-18:00' → (07:30, 18:00)."""
    opens, closes = (time.fromisoformat(part.strip()) for part in spec.split("-", 1))
    return opens, closes


def next_opening(when: datetime, hours: tuple[time, time], tz: ZoneInfo) -> datetime | None:
    """None when `when` falls inside working hours, else the next opening time."""
    local = when.astimezone(tz)
    opens, closes = hours
    if opens <= local.time() < closes:
        return None
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, tzinfo=tz)


def create_interaction(session: Session, data: dict[str, Any], actor: Actor, *,
                       working_hours: str = "07:30-18:00",
                       timezone: str | None = None) -> Interaction:
    """Log a contact; link the customer from the ticket, work order or calling number."""
    errors: dict[str, list[str]] = {}
    now = utcnow()
    occurred_at = data.get("occurred_at") or now
    if occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = ["An interaction cannot be logged in the future."]
    customer_id = data.get("customer_id")
    for key, model in (("ticket_id", Ticket), ("work_order_id", WorkOrder)):
        if data.get(key) is None:
            continue
        owner = session.get(model, data[key]).customer_id
        if customer_id is None:
            customer_id = owner
        elif owner != customer_id:
            errors[key] = [f"This {model.__tablename__.replace('_', ' ')} belongs to another "
                           "customer."]
    if errors:
        raise InvalidInput(errors)
    if customer_id is None:
        matches = customers_by_number(session, data.get("calling_number"))
        if len(matches) == 1:
            customer_id = matches[0]
    interaction = Interaction(
        channel=data["channel"],
        direction=data.get("direction", Direction.INBOUND),
        calling_number=data.get("calling_number"),
        customer_id=customer_id,
        subject=data.get("subject"),
        notes=data.get("notes"),
        ticket_id=data.get("ticket_id"),
        work_order_id=data.get("work_order_id"),
        occurred_at=occurred_at,
        agent_id=actor.id,
    )
    opening = next_opening(occurred_at, parse_hours(working_hours),
                           ZoneInfo(timezone or configured_zone_name()))
    interaction.outside_hours = opening is not None
    if opening is not None and interaction.direction is Direction.INBOUND:
        interaction.callback_due_at = opening
    session.add(interaction)
    session.flush()
    return interaction


def update_interaction(session: Session, interaction: Interaction, data: dict[str, Any],
                       actor: Actor) -> Interaction:
    """Mark the callback done (or not); nothing else of a logged contact changes."""
    done = data["callback_done_at"]
    if done is not None:
        if done < interaction.occurred_at:
            raise InvalidInput({"callback_done_at": ["The callback cannot precede the call."]})
        if done > utcnow() + FUTURE_TOLERANCE:
            raise InvalidInput({"callback_done_at": ["Cannot be in the future."]})
    interaction.callback_done_at = done
    session.flush()
    return interaction
