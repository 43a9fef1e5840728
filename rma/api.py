"""/api/v1/rmas (with transitions and goodwill), /api/v1/work-orders/{id}/rmas and
/api/v1/reports/returns."""

from __future__ import annotations

import logging

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate
from sqlalchemy.orm import selectinload

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, list_query, paginate, register_crud
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder
from fieldsvc.models.enums import Entitlement, RmaStatus, RmaType
from fieldsvc.schemas.common import ListArgs, check_references, page_schema
from rma import reports, services
from rma.models import Rma
from rma.schemas import (
    GoodwillSchema,
    ReturnsReportArgs,
    ReturnsReportSchema,
    RmaInputSchema,
    RmaMoveSchema,
    RmaSchema,
    WorkOrderRmaInputSchema,
)

log = logging.getLogger(__name__)


class RmaListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in number and failure code"})
    customer_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.Enum(RmaStatus, by_value=True)
    type = fields.Enum(RmaType, by_value=True)
    entitlement = fields.Enum(Entitlement, by_value=True)
    asset_id = fields.Integer(validate=validate.Range(min=1))
    work_order_id = fields.Integer(validate=validate.Range(min=1))
    number = fields.String(validate=validate.Length(min=1, max=20))
    overdue = fields.Boolean(metadata={"description": "Flagged overdue (faulty unit not back)"})
    charge_customer = fields.Boolean()


def _by_overdue(stmt, value):
    flagged = Rma.overdue_flagged_at.is_not(None)
    return stmt.where(flagged if value else ~flagged)


RESOURCE = Resource(
    name="rmas",
    model=Rma,
    schema=RmaSchema,
    create_schema=RmaInputSchema,
    list_args=RmaListArgs,
    filters={
        "customer_id": Rma.customer_id, "status": Rma.status, "type": Rma.type,
        "entitlement": Rma.entitlement, "asset_id": Rma.asset_id,
        "work_order_id": Rma.work_order_id, "overdue": _by_overdue,
        "charge_customer": Rma.charge_customer,
        "number": lambda stmt, v: stmt.where(Rma.number == v.strip().upper()),
    },
    sortable={"id": Rma.id, "number": Rma.number, "created_at": Rma.created_at,
              "status": Rma.status, "return_deadline": Rma.return_deadline},
    default_sort=(Rma.id.desc(),),
    search=(Rma.number, Rma.failure_code),
    options=(selectinload(Rma.transitions),),
    create=services.create_rma,
    actions=frozenset({"list", "get", "create"}),
    label="RMA",
)


def return_days() -> int:
    """Days the customer has to send the faulty unit back (FIELDSVC_RMA_RETURN_DAYS)."""
    raw = current_app.config.get("RMA_RETURN_DAYS")
    if raw in (None, ""):
        return services.RETURN_DAYS_DEFAULT
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 365:
        log.warning("FIELDSVC_RMA_RETURN_DAYS=%r is not 1-365; using %s", raw,
                    services.RETURN_DAYS_DEFAULT)
        return services.RETURN_DAYS_DEFAULT
    return days


rmas_blp = Blueprint("rmas", __name__, url_prefix=f"{API_PREFIX}/rmas",
                     description="Return material authorizations")
register_crud(rmas_blp, RESOURCE)


@rmas_blp.route("/<int:ident>/transitions")
class RmaTransitions(MethodView):
    @rmas_blp.arguments(RmaMoveSchema)
    @rmas_blp.response(200, RmaSchema)
    @rmas_blp.doc(
        summary="Move an RMA to another status",
        description=(
            "One step of the status machine with its stock movements. Paths: advance "
            "exchange requested → approved → replacement_shipped → defective_received → "
            "inspected → closed (replacement_shipped → closed once flagged overdue); "
            "repair_and_return, return_for_credit and return_to_vendor skip "
            "replacement_shipped. requested → rejected|cancelled, approved → cancelled "
            "(note required). Illegal moves are 409 naming the allowed targets."))
    def post(self, data, ident):
        rma = get_or_404(RESOURCE, ident)
        check_references(db.session, RmaMoveSchema(), data)
        return services.move(db.session, rma, data, current_actor(),
                             return_days=return_days())


@rmas_blp.route("/<int:ident>/goodwill")
class RmaGoodwill(MethodView):
    @rmas_blp.arguments(GoodwillSchema)
    @rmas_blp.response(200, RmaSchema)
    @rmas_blp.doc(summary="Approve goodwill for a chargeable RMA (managers)")
    def post(self, data, ident):
        rma = get_or_404(RESOURCE, ident)
        return services.approve_goodwill(db.session, rma, data["reason"], current_actor())


WORK_ORDER_RMA_PAGE = type("WorkOrderRmaPageSchema", (page_schema(RmaSchema),), {})
work_order_rmas_blp = Blueprint(
    "work_order_rmas", __name__, url_prefix=f"{API_PREFIX}/work-orders",
    description="RMAs opened from a work order")


@work_order_rmas_blp.route("/<int:ident>/rmas")
class WorkOrderRmas(MethodView):
    @work_order_rmas_blp.arguments(ListArgs, location="query", unknown=RAISE)
    @work_order_rmas_blp.response(200, WORK_ORDER_RMA_PAGE)
    @work_order_rmas_blp.doc(summary="The RMAs of a work order")
    def get(self, args, ident):
        get_or_404(WorkOrder, ident, label="work order")
        stmt = list_query(RESOURCE, args).where(Rma.work_order_id == ident)
        return paginate(stmt, args)

    @work_order_rmas_blp.arguments(WorkOrderRmaInputSchema)
    @work_order_rmas_blp.response(201, RmaSchema)
    @work_order_rmas_blp.doc(summary="Open an RMA for a faulty part found on this job")
    def post(self, data, ident):
        work_order = get_or_404(WorkOrder, ident, label="work order")
        check_references(db.session, WorkOrderRmaInputSchema(), data)
        return services.create_from_work_order(db.session, work_order, data, current_actor())


reports_blp = Blueprint("rma_reports", __name__, url_prefix=f"{API_PREFIX}/reports",
                        description="Reports")


@reports_blp.route("/returns")
class ReturnsReport(MethodView):
    @reports_blp.arguments(ReturnsReportArgs, location="query", unknown=RAISE)
    @reports_blp.response(200, ReturnsReportSchema)
    @reports_blp.doc(summary="Returns and no-fault-found rates",
                     description="Per month (UTC, when opened), product model and failure "
                                 "code (confirmed at inspection, else reported). "
                                 "?format=csv for CSV.")
    def get(self, args):
        groups = reports.parse_groups(args["group"])
        rows = reports.returns(db.session, args["from_"], args["to"], groups)
        if args["format"] == "csv":
            name = f"returns-{args['from_']}-{args['to']}.csv"
            return Response(reports.to_csv(rows), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{name}"'})
        return {"from_": args["from_"], "to": args["to"], "group": groups, "items": rows}


blueprints = [rmas_blp, work_order_rmas_blp, reports_blp]
