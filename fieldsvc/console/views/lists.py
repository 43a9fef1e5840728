"""List pages for the console: work orders, technicians, assets, parts, stock levels, PM
plans and recall campaigns — each with search, filters and pagination.

The filters are the API's: each page parses its query string with the resource's list
arguments schema and runs `fieldsvc.api.crud.list_query` + `paginate` with the same
`Resource` description (so the role scopes of the policy apply here too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for
from marshmallow import EXCLUDE, ValidationError, fields
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from fieldsvc.api.crud import Resource, list_query, paginate
from fieldsvc.api.resources import pm_plans as pm_api
from fieldsvc.api.resources.catalog import assets as ASSETS
from fieldsvc.api.resources.inventory import PartListArgs
from fieldsvc.api.resources.work_orders import RESOURCE as WORK_ORDERS
from fieldsvc.api.resources.workforce import technicians as TECHNICIANS
from fieldsvc.console import bp
from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.i18n import label
from fieldsvc.console.views import allowed, error_messages, get_or_404, page_args, requires
from fieldsvc.extensions import db
from fieldsvc.models import (
    Asset,
    Part,
    PmPlan,
    Product,
    StockLevel,
    Technician,
    Warehouse,
    WorkOrder,
    WorkOrderTransition,
)
from fieldsvc.models.enums import CampaignStatus, WorkOrderStatus, WorkOrderType
from fieldsvc.recall.api import campaigns as CAMPAIGNS
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.stock import StockLevelListArgs

# The parts and PM plan resources are registered inline by their API modules; these
# describe the same filters for the console (the PM filters are the API module's own).
PARTS = Resource(name="parts", model=Part, schema=ListArgs, list_args=PartListArgs,
                 filters={"serialized": Part.serialized}, default_sort=(Part.sku,),
                 search=(Part.sku, Part.name))
PM_PLANS = Resource(name="pm-plans", model=PmPlan, schema=ListArgs,
                    list_args=pm_api.PmPlanListArgs,
                    filters={"active": PmPlan.active, "asset_id": pm_api._by_asset,
                             "kind": pm_api._by_kind, "priority": PmPlan.priority},
                    search=(PmPlan.name, PmPlan.description))


class StockArgs(StockLevelListArgs):
    q = fields.String()


def _part_search(stmt, value):
    pattern = f"%{value.strip()}%"
    return stmt.where(StockLevel.part_id.in_(select(Part.id).where(
        or_(Part.sku.ilike(pattern), Part.name.ilike(pattern)))))


STOCK = Resource(name="stock-levels", model=StockLevel, schema=ListArgs, list_args=StockArgs,
                 filters={"warehouse_id": StockLevel.warehouse_id,
                          "part_id": StockLevel.part_id, "q": _part_search,
                          "available_below": lambda s, v: s.where(
                              StockLevel.on_hand - StockLevel.reserved < v)},
                 default_sort=(StockLevel.warehouse_id, StockLevel.part_id),
                 options=(selectinload(StockLevel.part), selectinload(StockLevel.warehouse)))


@dataclass
class Column:
    title: str
    value: Callable[[Any], Any]
    link: Callable[[Any], str] | None = None
    numeric: bool = False


@dataclass
class Filter:
    name: str
    title: str
    kind: str = "text"  # text | select | number | date
    choices: Callable[[], list[tuple[str, str]]] | None = None


@dataclass
class ListPage:
    endpoint: str
    title: str
    resource: Resource
    columns: list[Column]
    filters: list[Filter] = field(default_factory=list)
    search_hint: str = "Search"
    options: tuple = ()


def _enum_choices(enum):
    return lambda: [(e.value, label(e)) for e in enum]


def _yes_no():
    return [("true", _("yes")), ("false", _("no"))]


def _warehouses():
    return [(str(w.id), f"{w.code} · {w.name}") for w in
            db.session.scalars(select(Warehouse).order_by(Warehouse.code).limit(500))]


def _products():
    return [(str(p.id), p.name) for p in
            db.session.scalars(select(Product).order_by(Product.name).limit(500))]


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


PAGES: dict[str, ListPage] = {}


def _page(page: ListPage) -> ListPage:
    PAGES[page.endpoint] = page
    return page


_page(ListPage(
    "work_orders", "Work orders", WORK_ORDERS,
    [Column("#", lambda w: w.id, lambda w: url_for("console.work_order", ident=w.id), True),
     Column("Summary", lambda w: w.summary),
     Column("Status", lambda w: label(w.status)),
     Column("Type", lambda w: label(w.type)),
     Column("Priority", lambda w: f"P{w.priority}"),
     Column("Customer", lambda w: w.customer.name,
            lambda w: url_for("console.customer", ident=w.customer_id)),
     Column("Technician", lambda w: w.technician.name if w.technician else "—"),
     Column("Scheduled", lambda w: _when(w.scheduled_start_at))],
    [Filter("status", "Status", "select", _enum_choices(WorkOrderStatus)),
     Filter("type", "Type", "select", _enum_choices(WorkOrderType)),
     Filter("priority", "Priority", "select", lambda: [(str(i), f"P{i}") for i in range(1, 5)]),
     Filter("territory", "Territory"),
     Filter("date", "Scheduled day", "date"),
     Filter("sla_breached", "SLA breached", "select", _yes_no)],
    "Summary or description",
    (selectinload(WorkOrder.customer), selectinload(WorkOrder.technician))))

_page(ListPage(
    "technicians", "Technicians", TECHNICIANS,
    [Column("Code", lambda t: t.code), Column("Name", lambda t: t.name),
     Column("Territory", lambda t: t.territory or "—"),
     Column("Skills", lambda t: ", ".join(f"{s.skill.code} {s.level}" for s in t.skills)),
     Column("Active", lambda t: _("yes") if t.active else _("no"))],
    [Filter("territory", "Territory"), Filter("skill", "Skill"),
     Filter("min_level", "Minimum level", "select",
            lambda: [(str(i), str(i)) for i in range(1, 6)]),
     Filter("active", "Active", "select", _yes_no)],
    "Code, name, email, phone"))

_page(ListPage(
    "assets", "Assets", ASSETS,
    [Column("Serial / VIN", lambda a: a.serial_number or a.vin or f"#{a.id}"),
     Column("Product", lambda a: a.product.name),
     Column("Customer", lambda a: a.customer.name,
            lambda a: url_for("console.customer", ident=a.customer_id)),
     Column("Warranty until", lambda a: a.warranty_end.isoformat() if a.warranty_end else "—"),
     Column("Installed", lambda a: a.install_date.isoformat() if a.install_date else "—")],
    [Filter("product_id", "Product", "select", _products),
     Filter("under_warranty", "Under warranty", "select", _yes_no)],
    "Serial number, VIN, notes",
    (selectinload(Asset.product), selectinload(Asset.customer))))

_page(ListPage(
    "parts", "Parts", PARTS,
    [Column("SKU", lambda p: p.sku, lambda p: url_for("console.stock", q=p.sku)),
     Column("Name", lambda p: p.name),
     Column("Unit cost", lambda p: p.unit_cost if p.unit_cost is not None else "—",
            numeric=True),
     Column("Serialized", lambda p: _("yes") if p.serialized else _("no"))],
    [Filter("serialized", "Serialized", "select", _yes_no)], "SKU or name"))

_page(ListPage(
    "stock", "Stock levels", STOCK,
    [Column("Warehouse", lambda s: f"{s.warehouse.code} · {s.warehouse.name}"),
     Column("Part", lambda s: f"{s.part.sku} · {s.part.name}"),
     Column("On hand", lambda s: s.on_hand, numeric=True),
     Column("Reserved", lambda s: s.reserved, numeric=True),
     Column("Available", lambda s: s.on_hand - s.reserved, numeric=True)],
    [Filter("warehouse_id", "Warehouse", "select", _warehouses),
     Filter("available_below", "Available below", "number")], "Part SKU or name"))

_page(ListPage(
    "pm_plans", "PM plans", PM_PLANS,
    [Column("Name", lambda p: p.name),
     Column("Schedule", lambda p: p.rrule or (f"{p.meter_interval:g} {p.meter_unit or ''}"
                                               if p.meter_interval else "—")),
     Column("Priority", lambda p: f"P{p.priority}"),
     Column("Assets", lambda p: len(p.assets), numeric=True),
     Column("Active", lambda p: _("yes") if p.active else _("no"))],
    [Filter("kind", "Kind", "select", lambda: [("calendar", _("calendar")),
                                                ("meter", _("meter"))]),
     Filter("active", "Active", "select", _yes_no),
     Filter("priority", "Priority", "select", lambda: [(str(i), f"P{i}") for i in range(1, 5)])],
    "Name or description", (selectinload(PmPlan.assets),)))

_page(ListPage(
    "campaigns", "Recall campaigns", CAMPAIGNS,
    [Column("Code", lambda c: c.code), Column("Title", lambda c: c.title),
     Column("Status", lambda c: label(c.status)),
     Column("Remedy minutes", lambda c: c.remedy_minutes, numeric=True),
     Column("Parts available", lambda c: _("yes") if c.parts_available else _("no"))],
    [Filter("status", "Status", "select", _enum_choices(CampaignStatus)),
     Filter("product_id", "Product", "select", _products)], "Code or title"))


def render_list(page: ListPage):
    names = {f.name for f in page.filters} | {"q"}
    values = {k: v.strip() for k, v in request.args.items() if k in names and v.strip()}
    errors: dict[str, list[str]] = {}
    result = None
    try:
        args = page.resource.list_args(unknown=EXCLUDE).load({**values, **page_args()})
    except ValidationError as exc:
        errors = error_messages(exc)
    else:
        stmt = list_query(page.resource, args)
        if page.options:
            stmt = stmt.options(*page.options)
        result = paginate(stmt, args)
    pages = 0 if result is None else max(1, -(-result["total"] // result["per_page"]))
    return render_template("console/list.html", page=page, result=result, values=values,
                           errors=errors, pages=pages,
                           filters=[(f, f.choices() if f.choices else None)
                                    for f in page.filters]), (422 if errors else 200)


def _register(endpoint: str, resource: str) -> None:
    page = PAGES[endpoint]

    @requires(resource)
    def view():
        return render_list(page)

    view.__name__ = endpoint
    bp.add_url_rule(f"/console/{endpoint.replace('_', '-')}", endpoint, view)


for _endpoint, _resource in (("work_orders", "work-orders"), ("technicians", "technicians"),
                             ("assets", "assets"), ("parts", "parts"),
                             ("stock", "stock-levels"), ("pm_plans", "pm-plans"),
                             ("campaigns", "recall-campaigns")):
    _register(_endpoint, _resource)


@bp.get("/console/work-orders/<int:ident>")
@requires("work-orders")
def work_order(ident: int):
    job = get_or_404(db.session, WorkOrder, ident)
    history = list(db.session.scalars(
        select(WorkOrderTransition).where(WorkOrderTransition.work_order_id == job.id)
        .order_by(WorkOrderTransition.id)))
    from fieldsvc.console.views.slots import latest_offers
    from fieldsvc.services.work_orders import allowed_targets

    can_assign = allowed("work-orders", "assign")
    technicians = list(db.session.scalars(
        select(Technician).where(Technician.active.is_(True)).order_by(Technician.name))
    ) if can_assign else []
    return render_template("console/work_order.html", job=job, history=history,
                           offers=latest_offers(job),
                           can_find=allowed("work-orders", "slot-offers"),
                           can_book=allowed("work-orders", "book"),
                           can_edit=allowed("work-orders", "update"),
                           can_transition=allowed("work-orders", "transition"),
                           can_assign=can_assign, technicians=technicians,
                           targets=allowed_targets(job.status),
                           tz=ZoneInfo(current_app.config["DEFAULT_TIMEZONE"]))
