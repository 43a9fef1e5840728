"""The console's RMA form: open a return for a customer from the customer screen.

It lives in the rma package because it calls rma's services (fieldsvc never imports rma
except to register rma's blueprints). The console registers this blueprint; the page uses
the console's base template, access rule (policy: rmas/create) and CSRF-checked form.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.views import attach_errors, get_or_404, requires
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Asset, Customer, Ticket
from fieldsvc.models.enums import RmaType
from fieldsvc.problems import Problem
from fieldsvc.schemas.common import check_references
from rma.schemas import RmaInputSchema
from rma.services import create_rma

bp = Blueprint("rma_console", __name__)
FIELDS = ("type", "asset_id", "ticket_id", "failure_description", "failure_code")


class _Errors:
    """Holds per-field messages for the template (attach_errors puts them here)."""

    def __init__(self) -> None:
        for name in FIELDS:
            setattr(self, name, type("F", (), {"errors": []})())


def _render(customer: Customer, values: dict, errors: _Errors, status: int = 200):
    assets = list(db.session.scalars(select(Asset).where(Asset.customer_id == customer.id)
                                     .order_by(Asset.id)))
    tickets = list(db.session.scalars(select(Ticket).where(Ticket.customer_id == customer.id)
                                      .order_by(Ticket.id.desc()).limit(50)))
    return render_template("console/rma_new.html", customer=customer, assets=assets,
                           tickets=tickets, values=values, errors=errors,
                           types=[t.value for t in RmaType]), status


@bp.get("/console/customers/<int:ident>/rmas/new")
@requires("rmas", "create")
def new_rma(ident: int):
    customer = get_or_404(db.session, Customer, ident)
    return _render(customer, dict(request.args), _Errors())


@bp.post("/console/customers/<int:ident>/rmas")
@requires("rmas", "create")
def create(ident: int):
    customer = get_or_404(db.session, Customer, ident)
    values = {k: request.form.get(k, "").strip() for k in FIELDS}
    errors = _Errors()
    payload: dict = {"customer_id": customer.id}
    for key, value in values.items():
        if not value:
            continue
        if key.endswith("_id"):
            if not value.isdigit() or len(value) > 18:
                abort(400)
            payload[key] = int(value)
        else:
            payload[key] = value
    try:
        data = RmaInputSchema().load(payload)
        check_references(db.session, RmaInputSchema(), data)
        rma = create_rma(db.session, data, current_actor())
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        for message in attach_errors(errors, exc):
            flash(message)
        return _render(customer, values, errors, 422)
    flash(_("RMA %(number)s requested (%(entitlement)s).", number=rma.number,
            entitlement=_(rma.entitlement.value)))
    return redirect(url_for("console.customer", ident=customer.id))
