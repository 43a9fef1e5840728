"""The console's RMA form: open a return for a customer from the customer screen.

It lives in the rma package because it calls rma's services (fieldsvc never imports rma
except to register rma's blueprints). The console registers this blueprint; the page uses
the console's base template, access rule (policy: rmas/create) and CSRF-checked form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import func, select

from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.views import attach_errors, get_or_404, requires
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import (
    Asset,
    Customer,
    Part,
    Product,
    StockLevel,
    Ticket,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
)
from fieldsvc.models.enums import RmaType, WarehouseKind
from fieldsvc.problems import Problem
from fieldsvc.schemas.common import check_references
from rma.models import Rma
from rma.schemas import RmaInputSchema
from rma.services import create_rma

bp = Blueprint("rma_console", __name__)
FIELDS = ("type", "asset_id", "part_id", "ticket_id", "failure_description", "failure_code")


@dataclass
class Choice:
    part: Part
    free: int  # on hand and not reserved, over every warehouse that can ship it


@dataclass
class ChoiceGroup:
    product: Product | None  # None: stocked parts not known on the customer's products
    choices: list[Choice] = field(default_factory=list)


def replacement_choices(customer: Customer) -> list[ChoiceGroup]:
    """The parts an advance exchange can ship now, grouped by the customer's products.

    A part belongs to a product when it was needed on a work order, or returned on an RMA,
    for an asset of that product. Only parts with free stock outside quarantine are offered
    (a replacement ships from stock); those known on none of the customer's products
    follow in a last group.
    """
    session = db.session
    free = dict(session.execute(
        select(StockLevel.part_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(Warehouse.kind != WarehouseKind.QUARANTINE)
        .group_by(StockLevel.part_id)
        .having(func.sum(StockLevel.on_hand - StockLevel.reserved) > 0)).all())
    if not free:
        return []
    parts = {p.id: p for p in session.scalars(
        select(Part).where(Part.id.in_(free)).order_by(Part.name, Part.id))}
    products = list(session.scalars(
        select(Product).where(Product.id.in_(
            select(Asset.product_id).where(Asset.customer_id == customer.id)))
        .order_by(Product.name, Product.id)))
    product_ids = [p.id for p in products]
    on_work_orders = (
        select(Asset.product_id, WorkOrderPart.part_id)
        .join(WorkOrder, WorkOrder.id == WorkOrderPart.work_order_id)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(Asset.product_id.in_(product_ids), WorkOrderPart.part_id.in_(free)))
    on_rmas = (
        select(Asset.product_id, Rma.part_id)
        .join(Asset, Asset.id == Rma.asset_id)
        .where(Asset.product_id.in_(product_ids), Rma.part_id.in_(free)))
    known: dict[int, set[int]] = {}
    for product_id, part_id in session.execute(on_work_orders.union(on_rmas)).all():
        known.setdefault(product_id, set()).add(part_id)
    groups = []
    for product in products:
        group = ChoiceGroup(product, [Choice(part, free[pid]) for pid, part in parts.items()
                                      if pid in known.get(product.id, ())])
        if group.choices:
            groups.append(group)
    listed = set().union(*known.values()) if known else set()
    rest = ChoiceGroup(None, [Choice(part, free[pid]) for pid, part in parts.items()
                              if pid not in listed])
    if rest.choices:
        groups.append(rest)
    return groups


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
                           part_groups=replacement_choices(customer),
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
