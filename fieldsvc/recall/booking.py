"""Recall places: the capacity ledger, booking, rescheduling and the day of service.

The ledger (`DealershipDay`) has one row per pool of places of a dealership on a day: the
**shared pool** (no campaign), used by every campaign without a reservation there, and one
row per campaign **reservation**, used by that campaign alone. A campaign books from its
reservation when it has one that day, else from the shared pool; the appointment records
the row it holds (`pool_id`) so its place goes back to the same pool. The ledger is
written only here, and only by single conditional statements:

- the shared row appears lazily, the first time a place of that day is taken, reserved or
  overridden (``INSERT ... ON CONFLICT DO NOTHING``, so two first bookings cannot collide);
- taking a place is ``UPDATE ... SET booked = booked + 1 WHERE id = pool AND booked <
  capacity`` and the statement's row count says whether it worked (409 when not); the
  CHECK ``booked <= capacity`` backs it should any other path try;
- releasing is ``booked = booked - 1 WHERE booked > 0``;
- a reservation moves places out of the shared row (``capacity - n, reserved + n`` in one
  conditional UPDATE of the shared row), never below what the shared pool has booked.

Units are places. The day's places follow bays × working hours ÷ remedy duration; with
campaigns of different remedy durations sharing a day, the longest active remedy sets the
place length, so the bays are never promised twice (an override can say otherwise).

Invitations hold their place: allocation takes the proposed day's place when it writes
the invitation, so accepting an invitation on its proposed day cannot fail, and a pool's
``booked`` counts invited and booked owners alike. Cancelling releases the place;
completing or a no-show keeps it (the bay was reserved that day).

An appointment row is locked before it changes (a no-op UPDATE: a row lock on
PostgreSQL, the database write lock on SQLite), so two clerks moving the same appointment
at once cannot both release its old place.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.dates import today_in
from fieldsvc.models import (
    Asset,
    AuditEntry,
    Site,
    Warehouse,
    WorkOrder,
    WorkOrderTransition,
    utcnow,
)
from fieldsvc.models.enums import AppointmentStatus as A
from fieldsvc.models.enums import CampaignStatus, WarehouseKind, WorkOrderStatus, WorkOrderType
from fieldsvc.notify import domain as notify
from fieldsvc.problems import Conflict, InvalidInput, NotFound
from fieldsvc.recall.events import appointment_event
from fieldsvc.recall.models import (
    CampaignVin,
    Dealership,
    DealershipDay,
    RecallAppointment,
    RecallCampaign,
)
from fieldsvc.recall.services import daily_capacity, place_minutes
from fieldsvc.services import stock
from fieldsvc.services.work_orders import create_work_order
from fieldsvc.sql import insert_ignore
from fieldsvc.vin import normalize_vin

LEDGER = DealershipDay.__table__
APPOINTMENTS = RecallAppointment.__table__
# Statuses that hold a place in the ledger.
HOLDS_PLACE = frozenset({A.INVITED, A.BOOKED})
# How far ahead a place may be booked.
MAX_DAYS_AHEAD = 366


class DayFull(Conflict):
    slug, title = "day-full", "No free place"


# ---------------------------------------------------------------- the ledger


def local_today(dealership: Dealership, now: datetime | None = None) -> date:
    """Today at the dealership (its own time zone)."""
    return today_in(dealership.timezone, now)


def _shared(dealership_id: int, day: date):
    return (LEDGER.c.dealership_id == dealership_id, LEDGER.c.day == day,
            LEDGER.c.campaign_id.is_(None))


def _reservation(dealership_id: int, campaign_id: int, day: date):
    return (LEDGER.c.dealership_id == dealership_id, LEDGER.c.day == day,
            LEDGER.c.campaign_id == campaign_id)


def ensure_day(session: Session, dealership: Dealership, day: date,
               minutes: int) -> None:
    """Materialise the shared row of a day (places from the formula) if it is missing.

    A shared row not overridden follows the dealership's current bays, hours and holidays
    (less the reserved places), as far as the places already taken allow.
    """
    places = daily_capacity(dealership, minutes, day)
    stmt = insert_ignore(
        session.get_bind().dialect.name, LEDGER,
        {"dealership_id": dealership.id, "campaign_id": None, "day": day, "capacity": places,
         "booked": 0, "reserved": 0, "overridden": False},
        index_elements=["dealership_id", "day"], index_where=LEDGER.c.campaign_id.is_(None))
    session.execute(stmt)
    left = places - LEDGER.c.reserved
    session.execute(update(LEDGER).where(
        *_shared(dealership.id, day), LEDGER.c.overridden.is_(False),
        LEDGER.c.capacity != left, LEDGER.c.booked <= left,
    ).values(capacity=left))


_POOL = (LEDGER.c.id, LEDGER.c.campaign_id, LEDGER.c.capacity, LEDGER.c.booked,
         LEDGER.c.reserved, LEDGER.c.overridden)


def ledger_row(session: Session, dealership_id: int, campaign_id: int | None, day: date):
    """(id, campaign_id, capacity, booked, reserved, overridden) of a pool, or None."""
    where = (_shared(dealership_id, day) if campaign_id is None
             else _reservation(dealership_id, campaign_id, day))
    return session.execute(select(*_POOL).where(*where)).first()


def pool_of(session: Session, dealership_id: int, campaign_id: int, day: date):
    """The row a campaign books from that day: its reservation, else the shared row."""
    return session.execute(
        select(*_POOL)
        .where(LEDGER.c.dealership_id == dealership_id, LEDGER.c.day == day,
               or_(LEDGER.c.campaign_id == campaign_id, LEDGER.c.campaign_id.is_(None)))
        .order_by(LEDGER.c.campaign_id.is_(None)).limit(1)).first()


def take_places(session: Session, dealership: Dealership, campaign: RecallCampaign,
                day: date, count: int = 1, minutes: int | None = None) -> int | None:
    """Take `count` places of the campaign's pool in one conditional UPDATE.

    Returns the pool's id, or None when the places are not free.
    """
    ensure_day(session, dealership, day, minutes or place_minutes(session, campaign))
    # The pool is chosen inside the UPDATE (its reservation, else the shared row), and the
    # capacity condition is checked on the locked row: one round trip for a booking.
    pool = LEDGER.alias("pool")
    chosen = (select(pool.c.id)
              .where(pool.c.dealership_id == dealership.id, pool.c.day == day,
                     or_(pool.c.campaign_id == campaign.id, pool.c.campaign_id.is_(None)))
              .order_by(pool.c.campaign_id.is_(None)).limit(1).scalar_subquery())
    for _ in range(2):  # a reservation removed meanwhile: its campaign books shared again
        taken = session.execute(
            update(LEDGER).where(LEDGER.c.id == chosen,
                                 LEDGER.c.booked + count <= LEDGER.c.capacity)
            .values(booked=LEDGER.c.booked + count).returning(LEDGER.c.id)).scalar()
        if taken is not None:
            return taken
    return None


def take_place(session: Session, dealership: Dealership, campaign: RecallCampaign,
               day: date) -> int:
    """Take one place or raise 409 (day full); returns the pool's id."""
    pool_id = take_places(session, dealership, campaign, day)
    if pool_id is None:
        row = pool_of(session, dealership.id, campaign.id, day)
        capacity = row.capacity if row else 0
        pool = "reserved" if row is not None and row.campaign_id is not None else "shared"
        raise DayFull(
            f"{dealership.name} has no free place for campaign {campaign.code} on "
            f"{day.isoformat()} ({capacity} of {capacity} taken).",
            dealership_id=dealership.id, day=day.isoformat(), capacity=capacity, pool=pool)
    return pool_id


def release_place(session: Session, appointment: RecallAppointment) -> None:
    """Give the appointment's place back to the pool it came from."""
    if appointment.pool_id is not None:
        session.execute(update(LEDGER).where(LEDGER.c.id == appointment.pool_id,
                                             LEDGER.c.booked > 0)
                        .values(booked=LEDGER.c.booked - 1))
    appointment.pool_id = None


def _audit_places(session: Session, actor: Actor, before, after_id: int | None,
                  what: dict[str, Any]) -> None:
    """Record a hand-made change of places (core UPDATEs pass by the ORM's audit hook)."""
    after = session.execute(select(LEDGER.c.capacity, LEDGER.c.reserved, LEDGER.c.booked)
                            .where(LEDGER.c.id == after_id)).first() if after_id else None
    changes = {**{k: [v, v] for k, v in what.items()},  # what the row is: unchanged
               "capacity": [before.capacity if before else None,
                            after.capacity if after else None]}
    if after is not None and before is not None and after.reserved != before.reserved:
        changes["reserved"] = [before.reserved, after.reserved]
    session.execute(AuditEntry.__table__.insert().values(
        at=utcnow(), actor_id=actor.id, actor_name=actor.name, source=actor.source,
        action="delete" if after is None else "create" if before is None else "update",
        entity_type="dealership_day",
        entity_id=str(after_id or (before.id if before else "")), changes=changes))


def override_capacity(session: Session, dealership: Dealership, day: date,
                      capacity: int | None, actor: Actor) -> None:
    """Set the day's places by hand, or (None) return to the formula.

    The reserved places stay as they are: the shared pool gets the rest. 409 when that
    would leave the shared pool less than it has booked, or the reservations more than
    the day.
    """
    minutes = place_minutes(session)
    ensure_day(session, dealership, day, minutes)
    if capacity is None:
        places = daily_capacity(dealership, minutes, day)
        overridden = False
    else:
        places, overridden = capacity, True
    before = ledger_row(session, dealership.id, None, day)
    left = places - LEDGER.c.reserved
    done = session.execute(update(LEDGER).where(
        *_shared(dealership.id, day), LEDGER.c.booked <= left,
    ).values(capacity=left, overridden=overridden))
    if done.rowcount == 1:
        _audit_places(session, actor, before, before.id, {
            "dealership_id": dealership.id, "day": day.isoformat(), "pool": "shared",
            "day_places": capacity})
    else:
        row = ledger_row(session, dealership.id, None, day)
        if row.reserved > places:
            raise Conflict(
                f"{row.reserved} places of {day.isoformat()} are reserved for campaigns; "
                f"the day cannot have fewer ({places}). Reduce the reservations first.",
                slug="reserved", reserved=row.reserved, booked=row.booked)
        raise Conflict(
            f"{row.booked} shared places of {day.isoformat()} are taken already (and "
            f"{row.reserved} reserved); the day cannot have fewer than "
            f"{row.booked + row.reserved} places.", booked=row.booked,
            reserved=row.reserved)


def reserve(session: Session, dealership: Dealership, campaign: RecallCampaign, day: date,
            places: int | None, actor: Actor) -> None:
    """Reserve `places` of the day for one campaign, or (None) end its reservation.

    Places move between the shared row and the reservation: 422 when the day has not
    that many unreserved places, 409 when the places given up are booked. Ending a
    reservation hands its places and bookings back to the shared pool.
    """
    ensure_day(session, dealership, day, place_minutes(session, campaign))
    # Lock the shared row (a no-op write) so reservation changes of a day run one at a
    # time and read each other's result; bookings still race only on conditional UPDATEs.
    session.execute(update(LEDGER).where(*_shared(dealership.id, day))
                    .values(capacity=LEDGER.c.capacity))
    shared = ledger_row(session, dealership.id, None, day)
    own = ledger_row(session, dealership.id, campaign.id, day)
    what = {"dealership_id": dealership.id, "day": day.isoformat(), "pool": "reserved",
            "campaign_id": campaign.id}
    if places is None:
        if own is not None:
            _end_reservation(session, shared.id, own)
            _audit_places(session, actor, own, None, what)
        return
    before = own
    if own is None:
        if places > shared.capacity:
            raise _too_many(campaign, day, places, shared.capacity)
        session.execute(insert_ignore(
            session.get_bind().dialect.name, LEDGER,
            {"dealership_id": dealership.id, "campaign_id": campaign.id, "day": day,
             "capacity": 0, "booked": 0, "reserved": 0, "overridden": True},
            index_elements=["dealership_id", "campaign_id", "day"]))
        own = ledger_row(session, dealership.id, campaign.id, day)
    delta = places - own.capacity
    if delta > 0:  # from the shared pool first, then into the reservation
        done = session.execute(update(LEDGER).where(
            LEDGER.c.id == shared.id, LEDGER.c.capacity - delta >= LEDGER.c.booked,
        ).values(capacity=LEDGER.c.capacity - delta, reserved=LEDGER.c.reserved + delta))
        if done.rowcount != 1:
            now = ledger_row(session, dealership.id, None, day)
            if delta > now.capacity:
                raise _too_many(campaign, day, places, now.capacity + own.capacity)
            raise Conflict(
                f"{now.booked} of the {now.capacity} shared places of {day.isoformat()} "
                f"are taken; only {now.capacity - now.booked} more can be reserved.",
                slug="shared-places-booked", booked=now.booked, capacity=now.capacity)
        session.execute(update(LEDGER).where(LEDGER.c.id == own.id)
                        .values(capacity=LEDGER.c.capacity + delta))
    elif delta < 0:  # out of the reservation first, then back to the shared pool
        done = session.execute(update(LEDGER).where(
            LEDGER.c.id == own.id, LEDGER.c.booked <= places).values(capacity=places))
        if done.rowcount != 1:
            now = ledger_row(session, dealership.id, campaign.id, day)
            raise Conflict(
                f"{now.booked} reserved places of campaign {campaign.code} on "
                f"{day.isoformat()} are taken already; the reservation cannot go below "
                "that.", booked=now.booked)
        session.execute(update(LEDGER).where(LEDGER.c.id == shared.id).values(
            capacity=LEDGER.c.capacity - delta, reserved=LEDGER.c.reserved + delta))
    _audit_places(session, actor, before, own.id, what)


def _too_many(campaign: RecallCampaign, day: date, wanted: int, available: int):
    return InvalidInput({"capacity": [
        f"The day has {available} places that could be reserved for campaign "
        f"{campaign.code} on {day.isoformat()} (the rest are reserved for other "
        f"campaigns); {wanted} is more."]})


def _end_reservation(session: Session, shared_id: int, own) -> None:
    # Lock the reservation first so no booking slips into it while it is handed back.
    session.execute(update(LEDGER).where(LEDGER.c.id == own.id)
                    .values(capacity=LEDGER.c.capacity))
    row = session.execute(select(LEDGER.c.capacity, LEDGER.c.booked)
                          .where(LEDGER.c.id == own.id)).one()
    session.execute(update(LEDGER).where(LEDGER.c.id == shared_id).values(
        capacity=LEDGER.c.capacity + row.capacity, booked=LEDGER.c.booked + row.booked,
        reserved=LEDGER.c.reserved - row.capacity))
    session.execute(update(APPOINTMENTS).where(APPOINTMENTS.c.pool_id == own.id)
                    .values(pool_id=shared_id))
    session.execute(LEDGER.delete().where(LEDGER.c.id == own.id))


# ---------------------------------------------------------------- checks


def check_bookable(campaign: RecallCampaign) -> None:
    """409 unless the campaign is active and its remedy (the parts) is available."""
    if campaign.status != CampaignStatus.ACTIVE:
        raise Conflict(f"Campaign {campaign.code} is {campaign.status.value}; only an active "
                       "campaign takes bookings.", slug="campaign-not-active",
                       status_of_campaign=campaign.status.value)
    if not campaign.parts_available:
        raise Conflict(f"The remedy of campaign {campaign.code} is not available yet (parts "
                       "not available); nothing can be booked.", slug="remedy-unavailable")


def _phase_start(campaign: RecallCampaign, region: str) -> date | None:
    """First day of the phase of `region`; None when phases exist but none names it."""
    if not campaign.phases:
        return date.min
    key = (region or "").strip().casefold()
    for phase in campaign.phases:
        if phase.region.strip().casefold() == key:
            return phase.starts_on
    return None


def check_day(campaign: RecallCampaign, dealership: Dealership, day: date,
              field: str = "day") -> None:
    """422 for a day in the past, too far ahead, or before the region's phase."""
    today = local_today(dealership)
    if day < today:
        raise InvalidInput({field: [f"{day.isoformat()} is in the past at the dealership."]})
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput({field: [f"At most {MAX_DAYS_AHEAD} days ahead."]})
    start = _phase_start(campaign, dealership.region)
    if start is None:
        raise InvalidInput({"dealership_id": [
            f"Campaign {campaign.code} has no phase for region '{dealership.region}'."]})
    if day < start:
        raise InvalidInput({field: [
            f"The campaign starts in region '{dealership.region}' on {start.isoformat()}."]})


def _get(session: Session, model: type, ident: int, field: str, label: str):
    obj = session.get(model, ident)
    if obj is None:
        raise InvalidInput({field: [f"No {label} with id {ident}."]})
    return obj


def lock_appointment(session: Session, appointment: RecallAppointment) -> RecallAppointment:
    """Lock the row (a write) and reload it, so its status is the latest committed one."""
    session.execute(update(APPOINTMENTS).where(APPOINTMENTS.c.id == appointment.id)
                    .values(id=APPOINTMENTS.c.id))
    session.refresh(appointment)
    return appointment


def _illegal(appointment: RecallAppointment, action: str, allowed: str) -> Conflict:
    return Conflict(f"A {appointment.status.value} appointment cannot be {action} "
                    f"(only {allowed}).", slug="illegal-transition",
                    current_status=appointment.status.value)


# ---------------------------------------------------------------- booking


def _owner_of(session: Session, vin: str) -> tuple[int | None, int | None]:
    asset = session.scalar(select(Asset).where(Asset.vin == vin))
    return (asset.id, asset.customer_id) if asset else (None, None)


def book(session: Session, data: dict[str, Any], actor: Actor) -> RecallAppointment:
    """Book a VIN at a dealership on a day: 201 with the appointment, 409 when the day is full.

    An invitation of the same VIN is turned into the booking (its held place is reused
    when the day and dealership match, released otherwise); a VIN already booked or
    completed is a 409.
    """
    campaign = _get(session, RecallCampaign, data["campaign_id"], "campaign_id",
                    "recall campaign")
    dealership = _get(session, Dealership, data["dealership_id"], "dealership_id",
                      "dealership")
    vin = normalize_vin(data["vin"])
    if vin is None:
        raise InvalidInput({"vin": ["Not a VIN: 17 letters and digits, without I, O or Q."]})
    affected = session.scalar(select(CampaignVin).where(CampaignVin.campaign_id == campaign.id,
                                                        CampaignVin.vin == vin))
    if affected is None:
        raise InvalidInput({"vin": [f"{vin} is not affected by campaign {campaign.code}."]})
    check_bookable(campaign)
    day = data["day"]
    check_day(campaign, dealership, day)
    existing = session.scalar(select(RecallAppointment).where(
        RecallAppointment.campaign_id == campaign.id, RecallAppointment.vin == vin))
    if existing is not None:
        return _rebook(session, existing, campaign, dealership, day, data.get("notes"), actor)
    pool_id = take_place(session, dealership, campaign, day)
    asset_id, customer_id = (affected.asset_id, None)
    if asset_id is not None:
        customer_id = session.scalar(select(Asset.customer_id).where(Asset.id == asset_id))
    else:
        asset_id, customer_id = _owner_of(session, vin)
    now = utcnow()
    appointment = RecallAppointment(
        campaign_id=campaign.id, vin=vin, asset_id=asset_id, customer_id=customer_id,
        dealership_id=dealership.id, day=day, status=A.BOOKED, booked_at=now,
        pool_id=pool_id, notes=data.get("notes"),
    )
    session.add(appointment)
    session.flush()  # a concurrent booking of the same VIN fails here (unique) → 409
    appointment_event(session, "recall_appointment.booked", appointment)
    notify.appointment(session, appointment, "booked")
    return appointment


def _rebook(session: Session, appointment: RecallAppointment, campaign: RecallCampaign,
            dealership: Dealership, day: date, notes: str | None,
            actor: Actor) -> RecallAppointment:
    lock_appointment(session, appointment)
    if appointment.status in (A.BOOKED, A.COMPLETED):
        raise Conflict(
            f"{appointment.vin} is already {appointment.status.value} for campaign "
            f"{campaign.code} (appointment {appointment.id}); reschedule it instead.",
            slug="already-booked", appointment_id=appointment.id,
            current_status=appointment.status.value)
    previous = appointment.status
    _move(session, appointment, campaign, dealership, day)
    appointment.status = A.BOOKED
    appointment.booked_at = utcnow()
    if notes is not None:
        appointment.notes = notes
    session.flush()
    appointment_event(session, "recall_appointment.booked", appointment,
                      previous_status=previous)
    notify.appointment(session, appointment, "booked")
    return appointment


def _move(session: Session, appointment: RecallAppointment, campaign: RecallCampaign,
          dealership: Dealership, day: date) -> None:
    """Hold the new place, then give back the old one (the same one is kept as it is)."""
    holds = appointment.status in HOLDS_PLACE and appointment.dealership_id is not None \
        and appointment.day is not None
    if holds and (appointment.dealership_id, appointment.day) == (dealership.id, day):
        return
    pool_id = take_place(session, dealership, campaign, day)
    if holds:
        release_place(session, appointment)
    appointment.pool_id = pool_id
    appointment.dealership_id = dealership.id
    appointment.day = day
    appointment.slot = None


def accept(session: Session, appointment: RecallAppointment, data: dict[str, Any],
           actor: Actor) -> RecallAppointment:
    """Accept an invitation: on its proposed place, or another free day/dealership."""
    lock_appointment(session, appointment)
    if appointment.status != A.INVITED:
        raise _illegal(appointment, "accepted", "an invitation can")
    campaign = appointment.campaign
    check_bookable(campaign)
    dealership_id = data.get("dealership_id", appointment.dealership_id)
    day = data.get("day", appointment.day)
    if dealership_id is None or day is None:
        raise InvalidInput({"day": ["This invitation proposes no place; give dealership_id "
                                    "and day."]})
    dealership = _get(session, Dealership, dealership_id, "dealership_id", "dealership")
    check_day(campaign, dealership, day)
    _move(session, appointment, campaign, dealership, day)
    appointment.status = A.BOOKED
    appointment.booked_at = utcnow()
    session.flush()
    appointment_event(session, "recall_appointment.booked", appointment,
                      previous_status=A.INVITED)
    notify.appointment(session, appointment, "booked")
    return appointment


def reschedule(session: Session, appointment: RecallAppointment, data: dict[str, Any],
               actor: Actor) -> RecallAppointment:
    """Move a booking or invitation to another free day and/or dealership, atomically."""
    lock_appointment(session, appointment)
    if appointment.status not in HOLDS_PLACE:
        raise _illegal(appointment, "rescheduled", "invited or booked ones can")
    campaign = appointment.campaign
    check_bookable(campaign)
    dealership_id = data.get("dealership_id", appointment.dealership_id)
    if dealership_id is None:
        raise InvalidInput({"dealership_id": ["Required: the appointment has no dealership."]})
    dealership = _get(session, Dealership, dealership_id, "dealership_id", "dealership")
    day = data["day"]
    if (dealership.id, day) == (appointment.dealership_id, appointment.day):
        raise InvalidInput({"day": ["That is the appointment's current place."]})
    check_day(campaign, dealership, day)
    previous = {"previous_dealership_id": appointment.dealership_id,
                "previous_day": appointment.day}
    _move(session, appointment, campaign, dealership, day)
    if data.get("notes") is not None:
        appointment.notes = data["notes"]
    session.flush()
    appointment_event(session, "recall_appointment.rescheduled", appointment, **previous)
    notify.appointment(session, appointment, "rescheduled")
    return appointment


def cancel(session: Session, appointment: RecallAppointment, data: dict[str, Any],
           actor: Actor) -> RecallAppointment:
    """Cancel an invitation or booking and give its place back."""
    lock_appointment(session, appointment)
    if appointment.status not in HOLDS_PLACE:
        raise _illegal(appointment, "cancelled", "invited or booked ones can")
    release_place(session, appointment)
    previous = appointment.status
    appointment.status = A.CANCELLED
    if data.get("reason"):
        appointment.notes = _append(appointment.notes, f"Cancelled: {data['reason']}")
    session.flush()
    appointment_event(session, "recall_appointment.cancelled", appointment,
                      previous_status=previous, reason=data.get("reason"))
    notify.appointment(session, appointment, "cancelled")
    return appointment


def _append(notes: str | None, line: str) -> str:
    return f"{notes}\n{line}" if notes else line


def _service_day_started(appointment: RecallAppointment, action: str) -> None:
    today = local_today(appointment.dealership)
    if appointment.day > today:
        raise Conflict(f"The appointment is on {appointment.day.isoformat()}; it cannot be "
                       f"{action} before that day.", slug="not-yet")


def no_show(session: Session, appointment: RecallAppointment, data: dict[str, Any],
            actor: Actor) -> RecallAppointment:
    """The owner did not come: the place stays used; the owner can be invited again."""
    lock_appointment(session, appointment)
    if appointment.status != A.BOOKED:
        raise _illegal(appointment, "marked no-show", "booked ones can")
    _service_day_started(appointment, "marked no-show")
    appointment.status = A.NO_SHOW
    if data.get("notes"):
        appointment.notes = _append(appointment.notes, data["notes"])
    session.flush()
    appointment_event(session, "recall_appointment.no_show", appointment)
    return appointment


def reinvite(session: Session, appointment: RecallAppointment, data: dict[str, Any],
             actor: Actor) -> RecallAppointment:
    """Invite a no-show or cancelled owner again: to a given place, or to the next allocation."""
    lock_appointment(session, appointment)
    if appointment.status not in (A.NO_SHOW, A.CANCELLED):
        raise _illegal(appointment, "invited again", "no-show or cancelled ones can")
    campaign = appointment.campaign
    check_bookable(campaign)
    if ("dealership_id" in data) != ("day" in data):
        raise InvalidInput({"day": ["Give both dealership_id and day, or neither."]})
    # The old day's place stays used (the bay was kept that day); the invitation holds
    # nothing yet, so _move takes the new place only.
    appointment.status = A.INVITED
    appointment.pool_id = None
    appointment.dealership_id = None
    appointment.day = None
    appointment.slot = None
    if "day" in data:
        dealership = _get(session, Dealership, data["dealership_id"], "dealership_id",
                          "dealership")
        check_day(campaign, dealership, data["day"])
        _move(session, appointment, campaign, dealership, data["day"])
    appointment.invited_at = utcnow()
    appointment.booked_at = None
    session.flush()
    return appointment


# ---------------------------------------------------------------- day of service


def dealership_warehouse(session: Session, dealership: Dealership) -> Warehouse | None:
    """The dealership's parts store: a warehouse of kind `dealership` with the same code."""
    return session.scalar(select(Warehouse).where(Warehouse.kind == WarehouseKind.DEALERSHIP,
                                                  Warehouse.code == dealership.code))


def _site_of(session: Session, appointment: RecallAppointment) -> int | None:
    if appointment.asset_id is not None:
        site_id = session.scalar(select(Asset.site_id).where(Asset.id == appointment.asset_id))
        if site_id is not None:
            return site_id
    return session.scalar(select(Site.id).where(Site.customer_id == appointment.customer_id)
                          .order_by(Site.id).limit(1))


def complete(session: Session, appointment: RecallAppointment, data: dict[str, Any],
             actor: Actor) -> RecallAppointment:
    """The remedy was done: a completed recall work order, its parts issued from stock.

    Parts come out of the dealership's warehouse when it has one (409 if its stock does
    not cover them: receive them first). Without a known owner and site (a VIN imported
    but never matched to an asset) no work order can exist; the appointment completes
    alone.
    """
    lock_appointment(session, appointment)
    if appointment.status != A.BOOKED:
        raise _illegal(appointment, "completed", "booked ones can")
    _service_day_started(appointment, "completed")
    campaign = appointment.campaign
    dealership = appointment.dealership
    now = utcnow()
    site_id = _site_of(session, appointment) if appointment.customer_id else None
    if site_id is not None:
        work_order = _recall_work_order(session, appointment, campaign, dealership, site_id,
                                        data, actor, now)
        appointment.work_order_id = work_order.id
    appointment.status = A.COMPLETED
    appointment.completed_at = now
    if data.get("notes"):
        appointment.notes = _append(appointment.notes, data["notes"])
    session.flush()
    return appointment


def _recall_work_order(session: Session, appointment: RecallAppointment,
                       campaign: RecallCampaign, dealership: Dealership, site_id: int,
                       data: dict[str, Any], actor: Actor, now: datetime) -> WorkOrder:
    work_order = create_work_order(session, {
        "type": WorkOrderType.RECALL, "priority": 3,
        "summary": f"Recall {campaign.code}: {campaign.title}"[:200],
        "description": f"Remedy done at {dealership.name} ({dealership.code}) on "
                       f"{appointment.day.isoformat()} for VIN {appointment.vin}.",
        "customer_id": appointment.customer_id, "site_id": site_id,
        "asset_id": appointment.asset_id, "estimated_minutes": campaign.remedy_minutes,
        "skills": [{"skill_id": campaign.skill_id, "min_level": 1}] if campaign.skill_id
        else [],
        "parts": [{"part_id": p.part_id, "quantity": p.quantity} for p in campaign.parts],
    }, actor, created_at=now)
    warehouse = dealership_warehouse(session, dealership)
    if warehouse is not None:
        for need in campaign.parts:
            stock.issue(session, need.part_id, need.quantity, warehouse.id, work_order.id,
                        actor, note=f"Recall {campaign.code}, VIN {appointment.vin}")
    # Work done in the dealership's own workshop, not a field visit: the order is recorded
    # as done in one step rather than walked through the technician's states.
    work_order.status = WorkOrderStatus.COMPLETED
    work_order.completed_at = now
    work_order.resolution = data.get("resolution") or f"Recall remedy {campaign.code} done."
    work_order.first_time_fix = True
    session.add(WorkOrderTransition(
        work_order=work_order, from_status=WorkOrderStatus.NEW.value,
        to_status=WorkOrderStatus.COMPLETED.value, actor_id=actor.id, actor_name=actor.name,
        at=now, reason=f"Recall remedy done at dealership {dealership.code}"))
    session.flush()
    return work_order


def get_appointment(session: Session, ident: int) -> RecallAppointment:
    appointment = session.get(RecallAppointment, ident)
    if appointment is None:
        raise NotFound(f"No recall appointment with id {ident}.")
    return appointment
