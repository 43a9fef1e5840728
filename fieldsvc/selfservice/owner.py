"""Recall self-booking for an owner: who may see a VIN, and what they can book.

An owner proves the car is theirs with the last digits of the phone (or mobile) on file for
it. A VIN nobody knows and a wrong answer get the same refusal, and both count towards the
VIN's lockout (lockout.py), so the answers say nothing about which VINs exist. Everything
shown or changed afterwards is read by the VIN of the link, never by an id from the page:
an owner reaches their own appointments only.

Bookings go through fieldsvc.recall.booking, the same ledger and the same conditional
UPDATE as the portal and the API: never an overbooked day.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Asset, Customer, Site
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus
from fieldsvc.problems import InvalidInput, Problem
from fieldsvc.recall import booking
from fieldsvc.recall import services as recall_service
from fieldsvc.recall.models import (
    CampaignVin,
    Dealership,
    DealershipDay,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
)
from fieldsvc.selfservice import lockout
from fieldsvc.vin import check_digit_applies, has_valid_check_digit, normalize_vin

DIGITS = 4
# Free days shown per dealership, and how far ahead they are looked for.
DAYS_SHOWN = 6
DAYS_LOOKED_AT = 28
NEARBY = 3
# Nearest dealerships whose free days are looked at for the nearby list.
CANDIDATES = 8
# Persian and Arabic-Indic digits as a phone keyboard may type them.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# A North American VIN carries a check digit (position 9): a typing error shows at once.
CHECK_DIGIT = "This VIN has a typing error (its check digit does not match). Check it again."
NO_MATCH = (
    "We could not match this VIN with these phone digits. Check both, or call us if "
    "your phone number has changed."
)


class NoMatch(Problem):
    status, title, slug = 403, "No match", "no-match"


class Locked(Problem):
    status, title, slug = 429, "Too many attempts", "locked"


def owner_actor(vin: str) -> Actor:
    """Who acts in the audit log: the owner of the VIN, through self-service."""
    return Actor(id=None, name=f"owner of VIN {vin}", source="self-service")


def _owner_phone_keys(session: Session, vin: str) -> list[str]:
    customer_ids = set(session.scalars(select(Asset.customer_id).where(Asset.vin == vin)))
    customer_ids |= {
        c
        for c in session.scalars(
            select(RecallAppointment.customer_id).where(RecallAppointment.vin == vin)
        )
        if c is not None
    }
    if not customer_ids:
        return []
    rows = session.execute(
        select(Customer.phone_key, Customer.mobile_key).where(
            Customer.id.in_(customer_ids), Customer.erased_at.is_(None)
        )
    ).all()
    return [k for row in rows for k in row if k]


def verify(session: Session, raw_vin: Any, raw_digits: Any) -> str:
    """The VIN when the digits are those of its owner's phone; else NoMatch or Locked."""
    vin = normalize_vin(raw_vin)
    digits = raw_digits.strip().translate(_DIGITS) if isinstance(raw_digits, str) else ""
    errors = {}
    if vin is None:
        errors["vin"] = ["A VIN has 17 letters and digits, without I, O or Q."]
    elif check_digit_applies(vin) and not has_valid_check_digit(vin):
        errors["vin"] = [CHECK_DIGIT]
    if len(digits) != DIGITS or not digits.isdigit():
        errors["digits"] = [f"Enter the last {DIGITS} digits of your phone number."]
    if errors:
        raise InvalidInput(errors)
    assert vin is not None
    until = lockout.locked_until(vin)
    if until is not None:
        raise Locked(
            "Too many wrong attempts for this VIN. Try again later.", until=until.isoformat()
        )
    keys = _owner_phone_keys(session, vin)
    matched = False
    for key in keys or ["----"]:  # compare as often for an unknown VIN as for a known one
        matched |= hmac.compare_digest(key[-DIGITS:].encode(), digits.encode())
    if not matched:
        if lockout.record_failure(vin):
            raise Locked("Too many wrong attempts for this VIN. Try again later.")
        raise NoMatch(NO_MATCH)
    lockout.clear(vin)
    return vin


# ------------------------------------------------------------------ what the owner sees


@dataclass
class DealerOption:
    dealership: Dealership
    free_days: list[date]
    km: float | None = None


@dataclass
class CampaignView:
    campaign: RecallCampaign
    appointment: RecallAppointment | None
    bookable: bool
    allocated: DealerOption | None = None
    nearby: list[DealerOption] = field(default_factory=list)

    @property
    def holds_place(self) -> bool:
        return self.appointment is not None and self.appointment.status in booking.HOLDS_PLACE


def _km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance (haversine): enough to order dealerships by nearness."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def free_days(
    session: Session,
    dealerships: list[Dealership],
    campaign: RecallCampaign,
    limit: int = DAYS_SHOWN,
) -> dict[int, list[date]]:
    """Per dealership, its next days with a free place for the campaign.

    The same figures as the capacity calendar (recall.services.capacity_calendar) for the
    pool the campaign books from — its reservation, else the shared pool, else the formula
    on a day no place was taken yet — read for all the dealerships in three queries.
    Only days from tomorrow and from the campaign's phase in the dealership's region.
    """
    if not dealerships:
        return {}
    starts = {}
    for d in dealerships:
        phase = booking._phase_start(campaign, d.region)
        if phase is not None:
            starts[d.id] = max(booking.local_today(d) + timedelta(days=1), phase)
    if not starts:
        return {}
    first = min(starts.values())
    last = max(starts.values()) + timedelta(days=DAYS_LOOKED_AT - 1)
    minutes = recall_service.place_minutes(session, campaign)
    pools: dict[tuple[int, date], tuple[int, int]] = {}
    rows = session.execute(
        select(
            DealershipDay.dealership_id,
            DealershipDay.day,
            DealershipDay.campaign_id,
            DealershipDay.capacity,
            DealershipDay.booked,
        )
        .where(
            DealershipDay.dealership_id.in_(starts),
            DealershipDay.day >= first,
            DealershipDay.day <= last,
            or_(DealershipDay.campaign_id.is_(None), DealershipDay.campaign_id == campaign.id),
        )
        .order_by(DealershipDay.campaign_id.is_(None))
    )  # a reservation before the shared row
    for dealer_id, day, _, capacity, booked in rows:
        pools.setdefault((dealer_id, day), (capacity, booked))
    holidays: dict[int, set[date]] = {}
    for dealer_id, day in session.execute(
        select(DealershipHoliday.dealership_id, DealershipHoliday.day).where(
            DealershipHoliday.dealership_id.in_(starts),
            DealershipHoliday.day >= first,
            DealershipHoliday.day <= last,
        )
    ):
        holidays.setdefault(dealer_id, set()).add(day)
    out: dict[int, list[date]] = {}
    for d in dealerships:
        if d.id not in starts:
            out[d.id] = []
            continue
        days, closed = [], holidays.get(d.id, set())
        for n in range(DAYS_LOOKED_AT):
            day = starts[d.id] + timedelta(days=n)
            if day in closed or str(day.weekday()) not in (d.working_days or ""):
                continue
            capacity, booked = pools.get(
                (d.id, day), (recall_service.daily_capacity(d, minutes, day, closed), 0)
            )
            if capacity > booked:
                days.append(day)
                if len(days) == limit:
                    break
        out[d.id] = days
    return out


def _origin(session: Session, vin: str, appointment: RecallAppointment | None):
    """Where the owner is: the dealership proposed to them, else their car's site."""
    if appointment is not None and appointment.dealership is not None:
        d = appointment.dealership
        return d.latitude, d.longitude
    site = session.execute(
        select(Site.latitude, Site.longitude)
        .join(Asset, Asset.site_id == Site.id)
        .where(Asset.vin == vin)
        .limit(1)
    ).first()
    if site is not None and site.latitude is not None:
        return site.latitude, site.longitude
    return None


def _in_phase(campaign: RecallCampaign, dealership: Dealership) -> bool:
    return booking._phase_start(campaign, dealership.region) is not None


def campaigns_for(
    session: Session,
    vin: str,
    dealerships: list[Dealership] | None = None,
    first: int | None = None,
) -> list[CampaignView]:
    """The active campaigns affecting the VIN, each with its appointment and free places;
    campaign `first` (the one an invitation link is about) leads."""
    rows = session.execute(
        select(RecallCampaign, RecallAppointment)
        .join(CampaignVin, CampaignVin.campaign_id == RecallCampaign.id)
        .outerjoin(
            RecallAppointment,
            (RecallAppointment.campaign_id == RecallCampaign.id) & (RecallAppointment.vin == vin),
        )
        .where(CampaignVin.vin == vin, RecallCampaign.status == CampaignStatus.ACTIVE)
        .order_by(RecallCampaign.id != first, RecallCampaign.id)
    ).all()
    if not rows:
        return []
    if dealerships is None:
        dealerships = list(session.scalars(select(Dealership).order_by(Dealership.id)))
    views = []
    for campaign, appointment in rows:
        open_ = appointment is None or appointment.status not in (
            AppointmentStatus.BOOKED,
            AppointmentStatus.COMPLETED,
        )
        view = CampaignView(campaign, appointment, bookable=campaign.parts_available and open_)
        if appointment is None or appointment.status in booking.HOLDS_PLACE or open_:
            _offer(session, vin, view, dealerships)
        views.append(view)
    return views


def _offer(session: Session, vin: str, view: CampaignView, dealerships: list[Dealership]) -> None:
    campaign, appointment = view.campaign, view.appointment
    if not campaign.parts_available:
        return
    candidates = [d for d in dealerships if _in_phase(campaign, d) and d.bays > 0]
    origin = _origin(session, vin, appointment)
    if origin is not None:
        candidates.sort(key=lambda d: _km(origin[0], origin[1], d.latitude, d.longitude))
    allocated = appointment.dealership if appointment is not None else None
    if allocated is None and candidates:
        allocated = candidates[0]
    others = [d for d in candidates if allocated is None or d.id != allocated.id]
    looked_at = others[:CANDIDATES] + ([allocated] if allocated is not None else [])
    days = free_days(session, looked_at, campaign)
    if allocated is not None:
        view.allocated = DealerOption(allocated, days.get(allocated.id, []))
    for d in others[:CANDIDATES]:
        if days.get(d.id) and len(view.nearby) < NEARBY:
            km = _km(origin[0], origin[1], d.latitude, d.longitude) if origin else None
            view.nearby.append(DealerOption(d, days[d.id], km))


def appointment_of(session: Session, vin: str, campaign_id: int) -> RecallAppointment | None:
    """The VIN's own appointment in a campaign (found by the link's VIN, never by an id)."""
    return session.scalar(
        select(RecallAppointment).where(
            RecallAppointment.vin == vin, RecallAppointment.campaign_id == campaign_id
        )
    )


def _affected(session: Session, vin: str, campaign_id: int) -> RecallCampaign:
    campaign = session.scalar(
        select(RecallCampaign)
        .join(CampaignVin, CampaignVin.campaign_id == RecallCampaign.id)
        .where(
            CampaignVin.vin == vin,
            RecallCampaign.id == campaign_id,
            RecallCampaign.status == CampaignStatus.ACTIVE,
        )
    )
    if campaign is None:
        raise InvalidInput({"campaign_id": ["This vehicle has no open recall of that kind."]})
    return campaign


def book(
    session: Session, vin: str, campaign_id: int, dealership_id: int, day: date
) -> RecallAppointment:
    """Book (or accept the invitation at) a dealership and day; 409 when the day is full."""
    _affected(session, vin, campaign_id)
    return booking.book(
        session,
        {"campaign_id": campaign_id, "vin": vin, "dealership_id": dealership_id, "day": day},
        owner_actor(vin),
    )


def reschedule(
    session: Session, vin: str, campaign_id: int, dealership_id: int, day: date
) -> RecallAppointment:
    _affected(session, vin, campaign_id)
    appointment = appointment_of(session, vin, campaign_id)
    if appointment is None:
        raise InvalidInput({"campaign_id": ["Nothing is booked for this recall yet."]})
    return booking.reschedule(
        session, appointment, {"dealership_id": dealership_id, "day": day}, owner_actor(vin)
    )


def cancel(session: Session, vin: str, campaign_id: int) -> RecallAppointment:
    _affected(session, vin, campaign_id)
    appointment = appointment_of(session, vin, campaign_id)
    if appointment is None:
        raise InvalidInput({"campaign_id": ["Nothing is booked for this recall."]})
    return booking.cancel(
        session, appointment, {"reason": "cancelled by the owner"}, owner_actor(vin)
    )
