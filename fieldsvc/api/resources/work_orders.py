"""/api/v1/work-orders and their status transitions."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, list_query, paginate, register_crud
from fieldsvc.context import current_actor
from fieldsvc.dispatch import feasibility
from fieldsvc.dispatch.offer import offer_if_emergency
from fieldsvc.extensions import db
from fieldsvc.models import Site, WorkOrder, WorkOrderTransition, utcnow
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.schemas.common import ListArgs, check_references, page_schema
from fieldsvc.schemas.work_orders import (
    TransitionOutSchema,
    TransitionSchema,
    WorkOrderCreateSchema,
    WorkOrderEventSchema,
    WorkOrderListArgs,
    WorkOrderSchema,
    WorkOrderUpdateSchema,
)
from fieldsvc.services import sla
from fieldsvc.services import work_orders as service


def _by_status(stmt, values):
    return stmt.where(WorkOrder.status.in_(values))


def _by_territory(stmt, value):
    return stmt.where(WorkOrder.site_id.in_(select(Site.id).where(Site.territory == value)))


def _by_day(stmt, day):
    tz = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return stmt.where(WorkOrder.scheduled_start_at >= start, WorkOrder.scheduled_start_at < end)


def _by_breach(stmt, breached):
    clause = sla.breached_clause(utcnow())
    return stmt.where(clause if breached else ~clause)


class Answer:
    """A created or changed work order as the API answers it (`WorkOrderEventSchema`): the
    work order, plus the insertion offer when the change made it P1."""

    def __init__(self, work_order: WorkOrder, insertion) -> None:
        self.work_order, self.insertion = work_order, insertion

    def __getattr__(self, name):
        return getattr(self.work_order, name)


def answer(session, work_order: WorkOrder, old_priority: int | None, actor) -> Answer:
    """The answer to a create (`old_priority` None) or change of `work_order`."""
    return Answer(work_order, offer_if_emergency(
        session, work_order, old_priority, actor,
        timezone=current_app.config["DEFAULT_TIMEZONE"]))


def _create(session, data, actor) -> Answer:
    return answer(session, service.create_work_order(session, data, actor), None, actor)


# The statuses in which the API may still put a work order on a technician's day.
HAND_CHECKED = (WorkOrderStatus.NEW, WorkOrderStatus.SCHEDULED, WorkOrderStatus.DISPATCHED)


def _check_hand_placement(session, work_order: WorkOrder, override_reason: str | None,
                          actor) -> None:
    """Every work order put on a technician at a start by hand through the API (PATCH of
    the technician, start, duration or pin, or the transition to scheduled), pinned or not,
    keeps the optimizer's rules (409 with the broken ones) unless an override reason is
    given (audited): the same check as the console's."""
    if work_order.technician_id is None or work_order.scheduled_start_at is None:
        return
    if work_order.status not in HAND_CHECKED:
        return
    feasibility.enforce(session, work_order, work_order.technician_id,
                        work_order.scheduled_start_at, actor,
                        timezone=current_app.config["DEFAULT_TIMEZONE"],
                        override_reason=override_reason)


def _update(session, work_order, data, actor) -> Answer:
    before = work_order.priority
    data = dict(data)
    override = data.pop("override_reason", None)
    service.update_work_order(session, work_order, data, actor)
    if {"technician_id", "scheduled_start_at", "estimated_minutes", "pinned"} & data.keys():
        _check_hand_placement(session, work_order, override, actor)
    return answer(session, work_order, before, actor)


RESOURCE = Resource(
    name="work-orders",
    label="work order",
    model=WorkOrder,
    schema=WorkOrderSchema,
    create_schema=WorkOrderCreateSchema,
    update_schema=WorkOrderUpdateSchema,
    list_args=WorkOrderListArgs,
    filters={
        "status": _by_status, "type": WorkOrder.type, "priority": WorkOrder.priority,
        "technician_id": WorkOrder.technician_id, "customer_id": WorkOrder.customer_id,
        "site_id": WorkOrder.site_id, "asset_id": WorkOrder.asset_id,
        "ticket_id": WorkOrder.ticket_id, "territory": _by_territory, "date": _by_day,
        "sla_breached": _by_breach,
    },
    sortable={
        "id": WorkOrder.id, "priority": WorkOrder.priority, "created_at": WorkOrder.created_at,
        "scheduled_start_at": WorkOrder.scheduled_start_at,
        "response_due_at": WorkOrder.response_due_at,
        "resolution_due_at": WorkOrder.resolution_due_at,
    },
    search=(WorkOrder.summary, WorkOrder.description),
    options=(selectinload(WorkOrder.skills), selectinload(WorkOrder.parts),
             selectinload(WorkOrder.time_windows)),
    create=_create,
    update=_update,
    created_schema=WorkOrderEventSchema,
    updated_schema=WorkOrderEventSchema,
    delete=service.delete_work_order,
)

TRANSITIONS = Resource(
    name="work-order-transitions",
    label="work order transition",
    model=WorkOrderTransition,
    schema=TransitionOutSchema,
    sortable={"id": WorkOrderTransition.id, "at": WorkOrderTransition.at},
    default_sort=(WorkOrderTransition.id,),
)

blp = Blueprint("work_orders", __name__, url_prefix=f"{API_PREFIX}/work-orders",
                description="Work orders; status changes only through transitions")
register_crud(blp, RESOURCE)


@blp.route("/<int:ident>/transitions")
class WorkOrderTransitions(MethodView):
    @blp.arguments(ListArgs, location="query", unknown=RAISE)
    @blp.response(200, page_schema(TransitionOutSchema))
    @blp.doc(summary="A work order's status history")
    def get(self, args, ident):
        get_or_404(RESOURCE, ident)
        stmt = list_query(TRANSITIONS, args).where(WorkOrderTransition.work_order_id == ident)
        return paginate(stmt, args)

    @blp.arguments(TransitionSchema)
    @blp.response(200, WorkOrderSchema)
    @blp.doc(summary="Move a work order to another status",
             description="Illegal moves are 409 problems naming the current status and the "
                         "allowed targets. on_hold, cannot_complete and cancelled need a "
                         "reason; scheduled needs a technician and a start.")
    def post(self, data, ident):
        work_order = get_or_404(RESOURCE, ident)
        check_references(db.session, TransitionSchema(), data)
        data = dict(data)
        to = data.pop("to")
        override = data.pop("override_reason", None)
        service.transition(db.session, work_order, to, current_actor(), **data)
        if to is WorkOrderStatus.SCHEDULED:
            _check_hand_placement(db.session, work_order, override, current_actor())
        return work_order


blueprints = [blp]
