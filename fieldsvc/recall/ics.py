"""A recall appointment as an iCalendar (RFC 5545) invitation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.models import utcnow
from fieldsvc.models.enums import AppointmentStatus as A
from fieldsvc.problems import Conflict
from fieldsvc.recall.models import RecallAppointment

_STATUS = {A.INVITED: "TENTATIVE", A.BOOKED: "CONFIRMED", A.COMPLETED: "CONFIRMED",
           A.NO_SHOW: "CONFIRMED", A.CANCELLED: "CANCELLED"}


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, newline."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1)."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not out else 74):
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(appointment: RecallAppointment, now: datetime | None = None) -> str:
    """One VEVENT from the dealership's opening time (or the slot) for the remedy's length."""
    dealership, campaign = appointment.dealership, appointment.campaign
    if dealership is None or appointment.day is None:
        raise Conflict("This appointment has no dealership and day yet; nothing to put in a "
                       "calendar.", slug="no-place")
    tz = ZoneInfo(dealership.timezone or "UTC")
    start = datetime.combine(appointment.day, appointment.slot or dealership.opens_at, tz)
    end = start + timedelta(minutes=campaign.remedy_minutes)
    where = ", ".join(p for p in (dealership.name, dealership.address, dealership.city) if p)
    description = (f"Recall campaign {campaign.code}: {campaign.title}.\n"
                   f"VIN {appointment.vin}. The remedy takes about "
                   f"{campaign.remedy_minutes} minutes; please arrive at "
                   f"{start.strftime('%H:%M')} ({dealership.timezone}).")
    if dealership.phone:
        description += f"\nDealership phone: {dealership.phone}"
    stamp = appointment.updated_at or now or utcnow()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//fieldsvc//recall appointments//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:recall-appointment-{appointment.id}@fieldsvc",
        f"DTSTAMP:{_utc(now or utcnow())}",
        f"LAST-MODIFIED:{_utc(stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))}",
        f"DTSTART:{_utc(start)}",
        f"DTEND:{_utc(end)}",
        f"SUMMARY:{escape(f'Recall {campaign.code}: {campaign.title}')}",
        f"LOCATION:{escape(where)}",
        f"GEO:{dealership.latitude:.6f};{dealership.longitude:.6f}",
        f"DESCRIPTION:{escape(description)}",
        f"STATUS:{_STATUS[appointment.status]}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
