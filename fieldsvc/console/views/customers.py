"""The contact center: find the caller, the single customer view, log the call,
book a recall slot, and the call-back queue of contacts taken outside working hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from fieldsvc.console import bp
from fieldsvc.console.forms import (
    AssetForm,
    CallForm,
    CustomerForm,
    DoneForm,
    RecallBookingForm,
    SiteForm,
)
from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.views import allowed, attach_errors, get_or_404, present, requires
from fieldsvc.context import current_actor
from fieldsvc.dates import local_today
from fieldsvc.extensions import db
from fieldsvc.hooks import hooks_of
from fieldsvc.models import Customer, Interaction, Product, Site, User, utcnow
from fieldsvc.models.enums import AppointmentStatus
from fieldsvc.problems import Problem
from fieldsvc.recall import booking as recall_booking
from fieldsvc.recall.models import Dealership, RecallAppointment
from fieldsvc.recall.schemas import BookingInputSchema
from fieldsvc.schemas.catalog import AssetSchema
from fieldsvc.schemas.common import check_references
from fieldsvc.schemas.customers import CustomerSchema, SiteSchema
from fieldsvc.schemas.interactions import InteractionInputSchema
from fieldsvc.services import catalog as catalog_service
from fieldsvc.services import customer_view as view_service
from fieldsvc.services import customers as customer_service
from fieldsvc.services import interactions as interaction_service
from fieldsvc.vin import check_digit_applies, check_digit_valid


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def _hours():
    return interaction_service.parse_hours(current_app.config["WORKING_HOURS"])


def outside_hours(now: datetime | None = None) -> bool:
    return interaction_service.next_opening(now or utcnow(), _hours(), _tz()) is not None


def _render_customer(customer: Customer, call_form: CallForm | None = None,
                     booking_form: RecallBookingForm | None = None, status: int = 200,
                     number: str | None = None, booking_errors: list[str] | None = None,
                     site_form: SiteForm | None = None, asset_form: AssetForm | None = None):
    today = local_today()
    data = view_service.customer_view(db.session, customer, today, hooks_of(current_app))
    if call_form is None:
        call_form = CallForm(calling_number=number or customer.phone or customer.mobile or "",
                             occurred_at=request.args.get("call_started", ""))
    campaigns = view_service.campaigns_by_id(db.session, [a.campaign_id for a in data.recalls])
    dealerships = list(db.session.scalars(select(Dealership).order_by(Dealership.name))) \
        if (data.recalls or data.affected) and allowed("recall-appointments", "book") else []
    if booking_form is None:
        booking_form = RecallBookingForm()
    booking_form.dealership_id.choices = [(str(d.id), f"{d.name} · {d.region}")
                                          for d in dealerships]
    opens, closes = _hours().typical
    site_form = site_form or SiteForm(formdata=None, region=customer.region)
    asset_form = asset_form or AssetForm(formdata=None)
    if allowed("assets", "create"):
        products = db.session.scalars(select(Product).order_by(Product.name).limit(1000))
        asset_form.product_id.choices = [("", "—")] + [(str(p.id), f"{p.name} ({p.code})")
                                                       for p in products]
        asset_form.site_id.choices = [("", "—")] + [(str(s.id), s.name) for s in data.sites]
    return render_template(
        "console/customer.html", v=data, customer=customer, call_form=call_form,
        booking_form=booking_form, campaigns=campaigns, dealerships=dealerships,
        outside_hours=outside_hours(), opens=opens, closes=closes, number=number,
        can=allowed, booking_errors=booking_errors or [], site_form=site_form,
        asset_form=asset_form), status


@bp.get("/console/customers")
@requires("customers")
def customers():
    q = request.args.get("q", "").strip()[:200]
    found = view_service.find_customers(db.session, q) if q else []
    if q and len(found) == 1 and request.args.get("open") != "0":
        return redirect(url_for("console.customer", ident=found[0].id))
    return render_template("console/customers.html", q=q, found=found,
                           limit=view_service.SEARCH_LIMIT)


@bp.get("/console/customers/<int:ident>")
@requires("customers")
def customer(ident: int):
    customer = get_or_404(db.session, Customer, ident)
    if customer.erased_at is not None:
        flash(_("This customer's personal data was erased on request."))
    return _render_customer(customer, number=request.args.get("number"))


@bp.get("/console/calls/incoming")
@requires("interactions", "create")
def incoming_call():
    """Caller ID entry point: the phone system opens this with the caller's number.

    One match opens that customer with the call form ready (the call is recorded when the
    agent saves it: a GET never writes); several matches are listed; none offers the
    unknown-caller form.
    """
    number = request.args.get("number", "").strip()[:40]
    started = utcnow().isoformat()
    matches = interaction_service.customers_by_number(db.session, number, limit=20)
    if len(matches) == 1:
        return redirect(url_for("console.customer", ident=matches[0], number=number,
                                call_started=started))
    if matches:
        found = list(db.session.scalars(select(Customer).where(Customer.id.in_(matches))
                                        .order_by(Customer.name)))
        return render_template("console/customers.html", q=number, found=found,
                               limit=20, number=number, started=started)
    return _render_unknown(number, started)


def _render_unknown(number: str, started: str, form: CustomerForm | None = None,
                    call_form: CallForm | None = None, status: int = 200):
    form = form or CustomerForm(formdata=None, phone=number)
    call_form = call_form or CallForm(formdata=None, calling_number=number, occurred_at=started)
    return render_template("console/unknown_caller.html", form=form, call_form=call_form,
                           number=number, started=started, outside_hours=outside_hours(),
                           can=allowed), status


def _log(payload: dict, form: CallForm) -> Interaction | None:
    """Log a contact through the interactions service; errors go next to the fields."""
    started = _occurred_at(form.occurred_at.data)
    if started is not None:
        payload["occurred_at"] = started.isoformat()
    try:
        data = InteractionInputSchema().load(payload)
        check_references(db.session, InteractionInputSchema(), data)
        config = current_app.config
        logged = interaction_service.create_interaction(
            db.session, data, current_actor(), working_hours=config["WORKING_HOURS"],
            timezone=config["DEFAULT_TIMEZONE"])
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        for message in attach_errors(form, exc):
            flash(message)
        return None
    if logged.callback_due_at is not None:
        flash(_("Outside working hours: the call is in the call-back queue."))
    else:
        flash(_("Call logged."))
    return logged


@bp.post("/console/calls")
@requires("interactions", "create")
def log_unknown_call():
    """A caller we cannot (or may not) identify: the contact is logged with their number."""
    form = CallForm()
    number = (form.calling_number.data or "").strip()
    if form.validate():
        payload = present(form, ("channel", "direction", "calling_number", "subject", "notes"))
        if _log(payload, form) is not None:
            return redirect(url_for("console.callbacks") if allowed("interactions")
                            else url_for("console.customers"))
    return _render_unknown(number, form.occurred_at.data or "", call_form=form, status=422)


@bp.post("/console/customers")
@requires("customers", "create")
def create_customer():
    form = CustomerForm()
    number = request.form.get("number", "")[:40]
    if form.validate():
        try:
            data = CustomerSchema().load(present(form, ("name", "phone", "mobile", "email",
                                                         "region", "tier")))
            created = customer_service.create_customer(db.session, data, current_actor())
            db.session.flush()
        except (ValidationError, Problem) as exc:
            db.session.rollback()
            for message in attach_errors(form, exc):
                flash(message)
        else:
            flash(_("Customer created."))
            return redirect(url_for("console.customer", ident=created.id, number=number or None,
                                    call_started=request.form.get("started") or None))
    return _render_unknown(number, request.form.get("started", ""), form=form, status=422)


def _occurred_at(raw: str | None):
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


@bp.post("/console/customers/<int:ident>/interactions")
@requires("interactions", "create")
def log_call(ident: int):
    customer = get_or_404(db.session, Customer, ident)
    form = CallForm()
    if form.validate():
        payload = present(form, ("channel", "direction", "calling_number", "subject", "notes"))
        payload["customer_id"] = customer.id
        if _log(payload, form) is not None:
            return redirect(url_for("console.customer", ident=customer.id))
    return _render_customer(customer, call_form=form, status=422)


@bp.post("/console/customers/<int:ident>/recall-bookings")
@requires("recall-appointments", "book")
def book_recall(ident: int):
    customer = get_or_404(db.session, Customer, ident)
    form = RecallBookingForm()
    loose: list[str] = []
    if form.validate():
        try:
            dealership = form.dealership_id.data or ""
            payload = {"campaign_id": int(form.campaign_id.data or 0),
                       "vin": form.vin.data or "",
                       "dealership_id": int(dealership) if dealership.isdigit() else 0,
                       "day": form.day.data.isoformat()}
            data = BookingInputSchema().load(payload)
            recall_booking.book(db.session, data, current_actor())
            db.session.flush()
        except (ValidationError, Problem, ValueError) as exc:
            db.session.rollback()
            if isinstance(exc, ValueError) and not isinstance(exc, ValidationError):
                exc = ValidationError({"campaign_id": ["Not a valid id."]})
            # Refusals of no one field (a full day, already booked) are shown next to the
            # form they answer rather than as a banner at the top of the page.
            # vin and campaign_id are hidden fields: their errors are said in words too.
            loose = attach_errors(form, exc, aliases={"vin": "-", "campaign_id": "-"})
        else:
            flash(_("Recall appointment booked."))
            return redirect(url_for("console.customer", ident=customer.id))
    campaign_id = form.campaign_id.data or ""
    shown_in_form = campaign_id.isdigit() and len(campaign_id) < 18 and db.session.scalar(
        select(RecallAppointment.id).where(
            RecallAppointment.customer_id == customer.id,
            RecallAppointment.campaign_id == int(campaign_id),
            RecallAppointment.vin == (form.vin.data or ""),
            RecallAppointment.status == AppointmentStatus.INVITED)) is not None or any(
        str(a.campaign.id) == campaign_id and a.vin == form.vin.data
        for a in view_service.affected_vehicles(db.session, list(customer.assets)))
    if not shown_in_form:  # no form of this page answers to it: say it at the top
        for message in loose:
            flash(message)
        loose = []
    return _render_customer(customer, booking_form=form, status=422, booking_errors=loose)


@bp.get("/console/callbacks")
@requires("interactions")
def callbacks():
    pending = list(db.session.scalars(
        select(Interaction).where(Interaction.callback_due_at.is_not(None),
                                  Interaction.callback_done_at.is_(None))
        .order_by(Interaction.callback_due_at, Interaction.id).limit(500)))
    ids = {i.customer_id for i in pending if i.customer_id}
    people = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    agent_ids = {i.agent_id for i in pending if i.agent_id}
    agents = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_(agent_ids)))} if agent_ids else {}
    opens, closes = _hours().typical
    return render_template("console/callbacks.html", pending=pending, people=people,
                           agents=agents, form=DoneForm(), opens=opens, closes=closes,
                           can_update=allowed("interactions", "update"))


@bp.post("/console/callbacks/<int:ident>/done")
@requires("interactions", "update")
def callback_done(ident: int):
    interaction = get_or_404(db.session, Interaction, ident)
    if interaction.callback_due_at is None or interaction.callback_done_at is not None:
        flash(_("Nothing to call back for this contact."))
        return redirect(url_for("console.callbacks"))
    try:
        interaction_service.update_interaction(db.session, interaction,
                                               {"callback_done_at": utcnow()}, current_actor())
    except Problem as exc:
        db.session.rollback()
        flash(_(exc.detail or "Refused."))
    else:
        flash(_("Call-back marked done."))
    return redirect(url_for("console.callbacks"))


def _coordinate(form: SiteForm, name: str, errors: dict[str, list[str]]) -> float | None:
    raw = (getattr(form, name).data or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        errors[name] = ["Give a number, e.g. 35.7219."]
        return None


@bp.post("/console/customers/<int:ident>/sites")
@requires("sites", "create")
def add_site(ident: int):
    """A site of the customer, checked as POST /api/v1/sites checks it."""
    customer = get_or_404(db.session, Customer, ident)
    form = SiteForm()
    if form.validate():
        try:
            payload = present(form, ("name", "address", "city", "region", "territory",
                                     "timezone"))
            errors: dict[str, list[str]] = {}
            for name in ("latitude", "longitude"):
                value = _coordinate(form, name, errors)
                if value is not None:
                    payload[name] = value
            if errors:
                raise ValidationError(errors)
            if ("latitude" in payload) != ("longitude" in payload):
                missing = "longitude" if "latitude" in payload else "latitude"
                raise ValidationError({missing: ["Give both coordinates, or neither."]})
            payload["customer_id"] = customer.id
            data = SiteSchema().load(payload)
            check_references(db.session, SiteSchema(), data)
            site = Site(**data)
            db.session.add(site)
            db.session.flush()
        except (ValidationError, Problem) as exc:
            db.session.rollback()
            for message in attach_errors(form, exc):
                flash(message)
        else:
            flash(_("Site %(name)s added.", name=site.name))
            return redirect(url_for("console.customer", ident=customer.id) + "#sites")
    return _render_customer(get_or_404(db.session, Customer, ident), site_form=form,
                            status=422)


@bp.post("/console/customers/<int:ident>/assets")
@requires("assets", "create")
def add_asset(ident: int):
    """The customer's unit, checked as POST /api/v1/assets checks it (the VIN's format;
    a wrong check digit where it is mandatory is said, not refused, as the API reports)."""
    customer = get_or_404(db.session, Customer, ident)
    form = AssetForm()
    if form.validate():
        try:
            payload = present(form, ("serial_number", "vin", "install_date"))
            if "install_date" in payload:
                payload["install_date"] = payload["install_date"].isoformat()
            for name in ("product_id", "site_id"):
                raw = (getattr(form, name).data or "").strip()
                if raw:
                    if not raw.isdigit() or len(raw) > 18:
                        raise ValidationError({name: ["Choose one."]})
                    payload[name] = int(raw)
            if "product_id" not in payload:
                raise ValidationError({"product_id": ["Choose the product."]})
            payload["customer_id"] = customer.id
            data = AssetSchema().load(payload)
            check_references(db.session, AssetSchema(), data)
            asset = catalog_service.create_asset(db.session, data, current_actor())
            db.session.flush()
        except (ValidationError, Problem) as exc:
            db.session.rollback()
            for message in attach_errors(form, exc):
                flash(message)
        else:
            flash(_("Asset %(name)s added.", name=asset.serial_number or asset.vin))
            if asset.vin and check_digit_applies(asset.vin) \
                    and not check_digit_valid(asset.vin):
                flash(_("The VIN's check digit (9th character) does not match: check the "
                        "number with the caller."))
            return redirect(url_for("console.customer", ident=customer.id) + "#assets-card")
    return _render_customer(get_or_404(db.session, Customer, ident), asset_form=form,
                            status=422)
