"""Tickets and complaints: intake, the list with filters, follow-up until closed, routing
to the agent with the right skill, and the work order opened from a ticket."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import select

from fieldsvc.api.crud import list_query, paginate
from fieldsvc.api.resources.tickets import RESOURCE as TICKETS
from fieldsvc.console import bp
from fieldsvc.console.dispatch import offer_emergency
from fieldsvc.console.forms import (
    PART_ROWS,
    AssignForm,
    FollowUpForm,
    TicketForm,
    TicketWorkOrderForm,
)
from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.i18n import label
from fieldsvc.console.views import (
    allowed,
    attach_errors,
    error_messages,
    get_or_404,
    page_args,
    present,
    requires,
    work_order_form,
)
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Asset, Customer, Interaction, Product, Site, Ticket, User, WorkOrder
from fieldsvc.models.enums import (
    InteractionChannel,
    Role,
    TicketCategory,
    TicketChannel,
    TicketStatus,
)
from fieldsvc.problems import Problem
from fieldsvc.schemas.common import check_references
from fieldsvc.schemas.interactions import InteractionInputSchema
from fieldsvc.schemas.tickets import TicketListArgs, TicketSchema
from fieldsvc.schemas.work_orders import TicketWorkOrderSchema
from fieldsvc.services import interactions as interaction_service
from fieldsvc.services import ticket_routing
from fieldsvc.services import tickets as ticket_service
from fieldsvc.services.catalog import product_skills

FILTERS = ("q", "status", "category", "channel", "topic", "region", "customer_id")


def _fill_choices(form: TicketForm, customer: Customer | None) -> None:
    products = db.session.scalars(select(Product).order_by(Product.name).limit(500))
    form.product_id.choices = [("", "—")] + [(str(p.id), f"{p.name} ({p.code})")
                                             for p in products]
    assets = list(db.session.scalars(select(Asset).where(Asset.customer_id == customer.id)
                                     .order_by(Asset.id))) if customer else []
    form.asset_id.choices = [("", "—")] + [
        (str(a.id), a.serial_number or a.vin or f"#{a.id}") for a in assets]


def _customer_arg() -> Customer | None:
    raw = request.values.get("customer_id", "")
    if raw.isdigit() and 0 < int(raw) < 2**63:
        return db.session.get(Customer, int(raw))
    return None


@bp.get("/console/tickets")
@requires("tickets")
def tickets():
    raw = {k: v for k, v in request.args.items() if k in FILTERS and v.strip()}
    errors: dict[str, list[str]] = {}
    try:
        args = TicketListArgs(unknown=EXCLUDE).load({**raw, **page_args()})
    except ValidationError as exc:
        errors, args = error_messages(exc), None
    page = paginate(list_query(TICKETS, args), args) if args is not None else None
    ids = {t.customer_id for t in page["items"]} if page else set()
    people = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    return render_template(
        "console/tickets.html", page=page, values=raw, errors=errors, people=people,
        statuses=list(TicketStatus), categories=list(TicketCategory),
        channels=list(TicketChannel)), (422 if errors else 200)


@bp.route("/console/tickets/new", methods=["GET", "POST"])
@requires("tickets", "create")
def new_ticket():
    customer = _customer_arg()
    form = TicketForm()
    if request.method == "GET":
        form = TicketForm(formdata=None, customer_id=customer.id if customer else None,
                          region=customer.region if customer else None,
                          calling_number=request.args.get("number", ""),
                          asset_id=request.args.get("asset_id", ""),
                          category=request.args.get("category", "request"))
    _fill_choices(form, customer)
    loose: list[str] = []
    if request.method == "POST" and form.validate():
        payload = present(form, ("customer_id", "category", "topic", "channel", "region",
                                 "subject", "description", "calling_number"))
        payload["priority"] = int(form.priority.data or 3)
        for name in ("product_id", "asset_id"):
            value = getattr(form, name).data or ""
            if value:
                payload[name] = int(value) if value.isdigit() else value
        try:
            data = TicketSchema().load(payload)
            check_references(db.session, TicketSchema(), data)
            ticket = ticket_service.create_ticket(db.session, data, current_actor())
            db.session.flush()
            agent = ticket_routing.assign(db.session, ticket, current_actor()) \
                if form.route.data else None
        except (ValidationError, Problem) as exc:
            db.session.rollback()
            loose = attach_errors(form, exc)
        else:
            flash(_("Ticket %(id)s opened.", id=ticket.id))
            if form.route.data:
                flash(_("Assigned to %(name)s.", name=agent.full_name or agent.username)
                      if agent else _("No agent has this skill: the ticket waits in the "
                                      "team queue."))
            return redirect(url_for("console.ticket", ident=ticket.id))
    status = 422 if request.method == "POST" else 200
    return render_template("console/ticket_new.html", form=form, customer=customer,
                           loose=loose), status


def _render_ticket(ticket: Ticket, follow=None, assign=None, work=None, status=200):
    notes = list(db.session.scalars(select(Interaction).where(Interaction.ticket_id == ticket.id)
                                    .order_by(Interaction.occurred_at.desc(),
                                              Interaction.id.desc())))
    jobs = list(db.session.scalars(select(WorkOrder).where(WorkOrder.ticket_id == ticket.id)
                                   .order_by(WorkOrder.id.desc())))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        {n.agent_id for n in notes if n.agent_id} | {ticket.assigned_user_id or 0})))}
    suggested = ticket_routing.candidates(db.session, ticket)
    agents = list(db.session.scalars(select(User).where(User.role == Role.AGENT,
                                                        User.active.is_(True))
                                     .order_by(User.username)))
    assign = assign or AssignForm()
    assign.assigned_user_id.choices = [("", _("By skill and workload"))] + [
        (str(u.id), f"{u.full_name or u.username} ({u.agent_skills or '—'})") for u in agents]
    sites, assets = _places(ticket)
    skills_by_asset = work_order_form.asset_skills(assets)
    if work is None:
        prefill = skills_by_asset.get(ticket.asset_id or 0) or (
            work_order_form.skills_text(product_skills(db.session, ticket.product_id))
            if ticket.product_id else "")
        work = TicketWorkOrderForm(formdata=None, priority=str(ticket.priority),
                                   asset_id=str(ticket.asset_id or ""), skills=prefill)
    work_order_form.fill_choices(work, sites, assets)
    allowed_next = sorted(s.value for s in ticket_service.TICKET_TRANSITIONS[ticket.status])
    follow = follow or FollowUpForm()
    follow.status.choices = [("", "—")] + [(s, label(s)) for s in allowed_next]
    product = db.session.get(Product, ticket.product_id) if ticket.product_id else None
    asset = db.session.get(Asset, ticket.asset_id) if ticket.asset_id else None
    return render_template(
        "console/ticket.html", ticket=ticket, notes=notes, jobs=jobs, users=users,
        suggested=suggested, follow=follow, assign=assign, work=work, sites=sites,
        skills_by_asset=skills_by_asset, part_rows=PART_ROWS,
        product=product, asset=asset, can=allowed), status


def _places(ticket: Ticket) -> tuple[list[Site], list[Asset]]:
    """The ticket's customer's sites and assets (the work order's where and what)."""
    sites = list(db.session.scalars(select(Site).where(Site.customer_id == ticket.customer_id)
                                    .order_by(Site.id)))
    assets = list(db.session.scalars(select(Asset).where(Asset.customer_id == ticket.customer_id)
                                     .order_by(Asset.id)))
    return sites, assets


@bp.get("/console/tickets/<int:ident>")
@requires("tickets")
def ticket(ident: int):
    return _render_ticket(get_or_404(db.session, Ticket, ident))


@bp.post("/console/tickets/<int:ident>/follow-up")
@requires("tickets", "update")
def follow_up(ident: int):
    ticket = get_or_404(db.session, Ticket, ident)
    form = FollowUpForm()
    if form.validate():
        status, notes = form.status.data or "", (form.notes.data or "").strip()
        if not status and not notes:
            form.notes.errors = [_("Write a note or choose a new status.")]
            return _render_ticket(ticket, follow=form, status=422)
        try:
            if status:
                if status not in {s.value for s in TicketStatus}:
                    raise ValidationError({"status": ["Not a valid status."]})
                ticket_service.update_ticket(db.session, ticket, {"status": status},
                                             current_actor())
            if notes:
                data = InteractionInputSchema().load({
                    "channel": InteractionChannel.CALL.value, "direction": "outbound",
                    "subject": _("Follow-up") + (f": {status}" if status else ""),
                    "notes": notes, "ticket_id": ticket.id})
                config = current_app.config
                interaction_service.create_interaction(
                    db.session, data, current_actor(), working_hours=config["WORKING_HOURS"],
                    timezone=config["DEFAULT_TIMEZONE"])
            db.session.flush()
        except (ValidationError, Problem) as exc:
            db.session.rollback()
            for message in attach_errors(form, exc):
                flash(message)
            ticket = get_or_404(db.session, Ticket, ident)
            return _render_ticket(ticket, follow=form, status=409 if isinstance(
                exc, Problem) and exc.status == 409 else 422)
        flash(_("Ticket updated."))
        return redirect(url_for("console.ticket", ident=ticket.id))
    return _render_ticket(ticket, follow=form, status=422)


@bp.post("/console/tickets/<int:ident>/assign")
@requires("tickets", "update")
def assign_ticket(ident: int):
    ticket = get_or_404(db.session, Ticket, ident)
    form = AssignForm()
    form.validate()
    raw = form.assigned_user_id.data or ""
    try:
        if raw and not raw.isdigit():
            raise ValidationError({"assigned_user_id": ["Choose an active agent."]})
        agent = ticket_routing.assign(db.session, ticket, current_actor(),
                                      int(raw) if raw else None)
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        for message in attach_errors(form, exc):
            flash(message)
        return _render_ticket(get_or_404(db.session, Ticket, ident), assign=form, status=422)
    if agent is None:
        flash(_("No agent has this skill: the ticket waits in the team queue."))
    else:
        flash(_("Assigned to %(name)s.", name=agent.full_name or agent.username))
    return redirect(url_for("console.ticket", ident=ticket.id))


@bp.post("/console/tickets/<int:ident>/work-orders")
@requires("tickets", "work-orders")
def ticket_work_order(ident: int):
    ticket = get_or_404(db.session, Ticket, ident)
    form = TicketWorkOrderForm()
    if form.validate():
        sites, _assets = _places(ticket)
        rows: dict = {"windows": [], "parts": []}
        try:
            payload, rows = work_order_form.payload(form, sites)
            data = TicketWorkOrderSchema().load(payload)
            check_references(db.session, TicketWorkOrderSchema(), data)
            job = ticket_service.create_work_order_from_ticket(db.session, ticket, data,
                                                               current_actor())
        except (ValidationError, Problem) as exc:
            db.session.rollback()
            for message in attach_errors(form, work_order_form.form_errors(exc, rows)):
                flash(message)
            return _render_ticket(get_or_404(db.session, Ticket, ident), work=form,
                                  status=422)
        flash(_("Work order %(id)s opened.", id=job.id))
        offer_emergency(job, None)
        return redirect(url_for("console.ticket", ident=ticket.id))
    return _render_ticket(ticket, work=form, status=422)
