"""The dealership portal: capacity calendar and reservations, appointments, bookings, progress.

Server-rendered pages for a signed-in user of the dealership role (console login); every
page shows and changes only that user's dealership. Forms post with the CSRF token (the
auth gate checks it); the pages call the same services as the JSON API, so the rules and
the race-safe booking are the same. A refused change is rolled back and shown as a message.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from fieldsvc.auth.decorators import roles_required
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Customer
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus
from fieldsvc.problems import Problem, field_messages
from fieldsvc.recall import booking
from fieldsvc.recall import services as service
from fieldsvc.recall.models import Dealership, RecallAppointment, RecallCampaign
from fieldsvc.recall.schemas import (
    BookingInputSchema,
    CancelInputSchema,
    CapacityDayInputSchema,
    RescheduleInputSchema,
)

# Its URLs are in blueprint.py, its pages in templates/portal/ next to this module.
bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")
CALENDAR_DAYS = 14
PAGE_SIZE = 100


def _dealership() -> Dealership:
    dealership_id = current_user.user.dealership_id
    dealership = db.session.get(Dealership, dealership_id) if dealership_id else None
    if dealership is None:
        abort(403)
    return dealership


def _own_appointment(ident: int) -> RecallAppointment:
    appointment = db.session.get(RecallAppointment, ident) if 0 < ident < 2**63 else None
    if appointment is None or appointment.dealership_id != current_user.user.dealership_id:
        abort(404)
    return appointment


def _form(names: tuple[str, ...], ints: tuple[str, ...] = ()) -> dict[str, Any]:
    """Form fields as the API schemas expect them (ids as integers, empty = absent)."""
    data: dict[str, Any] = {}
    for name in names:
        value = request.form.get(name, "").strip()
        if not value:
            continue
        if name in ints:
            if not value.isdigit() or len(value) > 18:
                raise ValidationError({name: ["Not a valid id."]})
            data[name] = int(value)
        else:
            data[name] = value
    return data


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        messages = field_messages(exc, schema_key="")
    else:
        messages = exc.extensions.get("errors") or {}
    details = "; ".join(f"{k}: {' '.join(map(str, v if isinstance(v, list) else [v]))}"
                        for k, v in messages.items())
    base = getattr(exc, "detail", None) or "The form contains invalid fields."
    return f"{base} {details}".strip()


def _run(action) -> None:
    """Run one change; on refusal roll it back and tell the user why."""
    try:
        action()
        db.session.flush()
        flash("Saved.")
    except (Problem, ValidationError) as exc:
        db.session.rollback()
        flash(_message(exc))


def _campaigns() -> list[RecallCampaign]:
    return list(db.session.scalars(select(RecallCampaign).where(
        RecallCampaign.status == CampaignStatus.ACTIVE).order_by(RecallCampaign.code)))


def _day_arg(name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


@roles_required("dealership")
def home():
    dealership = _dealership()
    today = booking.local_today(dealership)
    first = _day_arg("from", today)
    if not date(1900, 1, 1) <= first <= date(2200, 1, 1):
        first = today
    campaigns = _campaigns()
    calendar = service.capacity_calendar(db.session, dealership, first,
                                         first + timedelta(days=CALENDAR_DAYS - 1))
    status = request.args.get("status") or None
    stmt = (select(RecallAppointment)
            .where(RecallAppointment.dealership_id == dealership.id)
            .order_by(RecallAppointment.day, RecallAppointment.id).limit(PAGE_SIZE))
    if status in {s.value for s in AppointmentStatus}:
        stmt = stmt.where(RecallAppointment.status == status)
    appointments = list(db.session.scalars(stmt))
    actor = current_actor()
    visible = {a.customer_id for a in appointments
               if a.customer_id is not None and service.owner_visible(actor, a)}
    owners = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_(visible)))} if visible else {}
    return render_template(
        "portal/home.html", dealership=dealership, calendar=calendar, campaigns=campaigns,
        appointments=appointments, status=status, statuses=[s.value for s in AppointmentStatus],
        previous=first - timedelta(days=CALENDAR_DAYS), following=first +
        timedelta(days=CALENDAR_DAYS), today=today,
        owner_of=lambda a: owners.get(a.customer_id) if a.customer_id in visible else None)


@roles_required("dealership")
def book():
    dealership = _dealership()

    def action():
        data = _form(("campaign_id", "vin", "day", "notes"), ints=("campaign_id",))
        data = BookingInputSchema().load({**data, "dealership_id": dealership.id})
        if db.session.get(RecallCampaign, data["campaign_id"]) is None:
            raise ValidationError({"campaign_id": ["No such campaign."]})
        booking.book(db.session, data, current_actor())

    _run(action)
    return redirect(url_for("portal.home"))


@roles_required("dealership")
def set_capacity():
    """Set the places of a day, or a campaign's reservation of them (empty: undo)."""
    dealership = _dealership()

    def action():
        data = _form(("day", "campaign_id", "capacity"), ints=("campaign_id", "capacity"))
        data.setdefault("capacity", None)
        parsed = CapacityDayInputSchema().load(data)
        campaign = None
        if parsed["campaign_id"] is not None:
            campaign = db.session.get(RecallCampaign, parsed["campaign_id"])
            if campaign is None:
                raise ValidationError({"campaign_id": ["No such campaign."]})
        if campaign is None:
            booking.override_capacity(db.session, dealership, parsed["day"],
                                      parsed["capacity"], current_actor())
        else:
            booking.reserve(db.session, dealership, campaign, parsed["day"],
                            parsed["capacity"], current_actor())

    _run(action)
    return redirect(url_for("portal.home"))


@roles_required("dealership")
def reschedule(ident: int):
    appointment = _own_appointment(ident)

    def action():
        data = RescheduleInputSchema().load(_form(("day", "notes")))
        booking.reschedule(db.session, appointment, data, current_actor())

    _run(action)
    return redirect(url_for("portal.home"))


@roles_required("dealership")
def cancel(ident: int):
    appointment = _own_appointment(ident)

    def action():
        data = CancelInputSchema().load(_form(("reason",)))
        booking.cancel(db.session, appointment, data, current_actor())

    _run(action)
    return redirect(url_for("portal.home"))


@roles_required("dealership")
def complete(ident: int):
    appointment = _own_appointment(ident)
    _run(lambda: booking.complete(db.session, appointment, {}, current_actor()))
    return redirect(url_for("portal.home"))


@roles_required("dealership")
def no_show(ident: int):
    appointment = _own_appointment(ident)
    _run(lambda: booking.no_show(db.session, appointment, {}, current_actor()))
    return redirect(url_for("portal.home"))


@roles_required("dealership")
def progress(ident: int):
    dealership = _dealership()
    campaign = db.session.get(RecallCampaign, ident) if 0 < ident < 2**63 else None
    if campaign is None:
        abort(404)
    report = service.progress(db.session, campaign, current_actor())
    return render_template("portal/progress.html", dealership=dealership, campaign=campaign,
                           report=report)

