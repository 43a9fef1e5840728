"""What each domain change tells the customer: the values of each message, taken from the
rows the change touched, in the zone of the place the message is about."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fieldsvc.dates import zone_of
from fieldsvc.models import Customer, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.notify.service import queue, will_reach
from fieldsvc.recall.ics import appointment_ics
from fieldsvc.recall.models import RecallAppointment
from fieldsvc.selfservice import links

# The customer is told a window around the planned arrival, not a minute.
ETA_HALF_WINDOW = timedelta(minutes=30)

APPOINTMENT_KINDS = {
    "booked": "appointment_booked",
    "rescheduled": "appointment_moved",
    "cancelled": "appointment_cancelled",
}


def en_route(session: Session, order: WorkOrder, *, now: datetime | None = None) -> list[int]:
    """ "Your technician is on the way", with an arrival window in the site's zone."""
    zone = zone_of(order.site.timezone if order.site else None)
    tz = ZoneInfo(zone)
    arrival = order.eta_at or order.scheduled_start_at or now or utcnow()
    first_name = (
        order.technician.name.split()[0] if order.technician and order.technician.name else ""
    )
    values = {
        "technician": first_name,
        "number": f"#{order.id}",
        "eta_from": (arrival - ETA_HALF_WINDOW).astimezone(tz).strftime("%H:%M"),
        "eta_to": (arrival + ETA_HALF_WINDOW).astimezone(tz).strftime("%H:%M"),
        "zone": zone,
    }
    # One message per trip: a second "en route" for the same arrival adds nothing.
    key = f"work_order:{order.id}:en_route:{arrival.isoformat()}"
    if will_reach(order.customer) and links.can_make_links():
        values["link"] = links.make_track_link(session, order)
    return queue(
        session,
        order.customer,
        "en_route",
        values,
        dedupe_key=key,
        zone=zone,
        work_order_id=order.id,
        now=now,
    )


def _appointment_values(appointment: RecallAppointment) -> tuple[dict, str]:
    dealership, campaign = appointment.dealership, appointment.campaign
    zone = zone_of(dealership.timezone if dealership else None)
    slot = appointment.slot or (dealership.opens_at if dealership else None)
    return {
        "vin": appointment.vin,
        "campaign": campaign.code,
        "title": campaign.title,
        "dealership": dealership.name if dealership else "",
        "day": appointment.day.isoformat() if appointment.day else "",
        "time": slot.strftime("%H:%M") if slot else "",
        "zone": zone,
    }, zone


def appointment(
    session: Session, appt: RecallAppointment, change: str, *, now: datetime | None = None
) -> list[int]:
    """Booked, rescheduled or cancelled: the message (with the .ics unless cancelled)."""
    kind = APPOINTMENT_KINDS[change]
    values, zone = _appointment_values(appt)
    ics = appointment_ics(appt, now=now) if change != "cancelled" and appt.day else None
    key = f"recall_appointment:{appt.id}:{change}:{values['day']}:{values['time']}"
    customer = _customer(session, appt)
    _add_recall_link(session, customer, appt, values)
    return queue(session, customer, kind, values, dedupe_key=key, zone=zone, ics=ics, now=now)


def invitation(
    session: Session, appt: RecallAppointment, *, now: datetime | None = None
) -> list[int]:
    """A recall invitation issued by an allocation."""
    values, zone = _appointment_values(appt)
    key = f"recall_appointment:{appt.id}:invitation"
    customer = _customer(session, appt)
    _add_recall_link(session, customer, appt, values)
    return queue(
        session,
        customer,
        "recall_invitation",
        values,
        dedupe_key=key,
        zone=zone,
        now=now,
    )


def _customer(session: Session, appt: RecallAppointment) -> Customer | None:
    return session.get(Customer, appt.customer_id) if appt.customer_id else None


def _add_recall_link(
    session: Session, customer: Customer | None, appt: RecallAppointment, values: dict
) -> None:
    """The owner's self-service link to book, move or cancel, when it can be made."""
    if will_reach(customer) and links.can_make_links():
        values["link"] = links.make_recall_link(session, appt.vin, appt.campaign_id)
