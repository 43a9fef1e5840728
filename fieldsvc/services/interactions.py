"""Interactions: log a contact, identify the caller, flag out-of-hours callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Python's weekday order
# How far ahead an opening is looked for: a year and a bit covers any list of holidays.
_HORIZON_DAYS = 400


@dataclass(frozen=True)
class WorkingWeek:
    """Contact-center hours per weekday (Monday = 0) and the dates it is closed."""

    days: dict[int, tuple[time, time]]
    holidays: frozenset[date] = frozenset()

    def hours_on(self, day: date) -> tuple[time, time] | None:
        """(opens, closes) on `day`, or None when closed all day."""
        hours = self.days.get(day.weekday())
        if hours is None or day in self.holidays or hours[0] >= hours[1]:
            return None
        return hours

    @property
    def typical(self) -> tuple[time, time]:
        """The hours most days have (for display)."""
        hours = list(self.days.values()) or [(time(0), time(0))]
        return max(hours, key=hours.count)


def _day_set(spec: str) -> list[int]:
    days: list[int] = []
    for part in spec.split(","):
        first, _, last = part.strip().lower().partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"Unknown day in {spec!r}: use {', '.join(DAY_NAMES)}.")
        day, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        days.append(day)
        while day != end:  # ranges run forward through the week: sat-wed, thu-sat
            day = (day + 1) % 7
            days.append(day)
    return days


def parse_hours(spec: str) -> WorkingWeek:
    """Read the contact-center hours setting.

    Entries separated by ';': 'sat-wed 07:30-18:00' (days and hours; days are names or
    ranges joined by ','), 'closed 2026-03-20 2026-03-21' (holidays, ISO dates), or bare
    hours '07:30-18:00' (every day). Days not named are closed; a later entry overrides
    an earlier one for the same day.
    """
    days: dict[int, tuple[time, time]] = {}
    holidays: set[date] = set()
    for entry in (e.strip() for e in spec.split(";")):
        if not entry:
            continue
        tokens = entry.split()
        if tokens[0].lower() == "closed":
            holidays.update(date.fromisoformat(t.strip(",")) for t in tokens[1:])
            continue
        if len(tokens) > 2:
            raise ValueError(f"Working hours entry {entry!r}: expected 'DAYS HH:MM-HH:MM'.")
        opens, closes = (time.fromisoformat(part.strip())
                         for part in tokens[-1].split("-", 1))
        for day in _day_set(tokens[0]) if len(tokens) == 2 else range(7):
            days[day] = (opens, closes)
    return WorkingWeek(days, frozenset(holidays))


def next_opening(when: datetime, week: WorkingWeek, tz: ZoneInfo) -> datetime | None:
    """None when `when` falls inside working hours, else the next opening time.

    A week that never opens sends calls back at the start of the next day.
    """
    local = when.astimezone(tz)
    today = local.date()
    hours = week.hours_on(today)
    if hours is not None and hours[0] <= local.time() < hours[1]:
        return None
    for ahead in range(_HORIZON_DAYS):
        day = today + timedelta(days=ahead)
        hours = week.hours_on(day)
        if hours is not None and (ahead > 0 or local.time() < hours[0]):
            return datetime.combine(day, hours[0], tzinfo=tz)
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)


def create_interaction(session: Session, data: dict[str, Any], actor: Actor, *,
                       working_hours: str,
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
