"""/api/v1/tickets, and work orders opened from a ticket."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, register_crud
from fieldsvc.api.resources.work_orders import RESOURCE as WORK_ORDERS
from fieldsvc.api.resources.work_orders import answer
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Ticket
from fieldsvc.schemas.common import check_references
from fieldsvc.schemas.tickets import TicketListArgs, TicketSchema, TicketUpdateSchema
from fieldsvc.schemas.work_orders import TicketWorkOrderSchema, WorkOrderEventSchema
from fieldsvc.services import tickets as service


def _day_start(value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=ZoneInfo(current_app.config["DEFAULT_TIMEZONE"]))


def _created_from(stmt, value):
    start = value if isinstance(value, datetime) else _day_start(value)
    return stmt.where(Ticket.created_at >= start)


def _created_to(stmt, value):
    if isinstance(value, datetime):
        return stmt.where(Ticket.created_at <= value)
    return stmt.where(Ticket.created_at < _day_start(value + timedelta(days=1)))


RESOURCE = Resource(
    name="tickets",
    label="ticket",
    model=Ticket,
    schema=TicketSchema,
    update_schema=TicketUpdateSchema,
    list_args=TicketListArgs,
    filters={
        "customer_id": Ticket.customer_id, "status": Ticket.status,
        "category": Ticket.category, "channel": Ticket.channel, "topic": Ticket.topic,
        "region": Ticket.region, "product_id": Ticket.product_id, "asset_id": Ticket.asset_id,
        "created_from": _created_from, "created_to": _created_to,
    },
    sortable={"id": Ticket.id, "created_at": Ticket.created_at, "priority": Ticket.priority,
              "status": Ticket.status},
    search=(Ticket.subject, Ticket.description),
    create=service.create_ticket,
    update=service.update_ticket,
    delete=service.delete_ticket,
)

blp = Blueprint("tickets", __name__, url_prefix=f"{API_PREFIX}/tickets",
                description="Tickets: what customers report, and the work they spawn")
register_crud(blp, RESOURCE)


@blp.route("/<int:ident>/work-orders")
class TicketWorkOrders(MethodView):
    @blp.arguments(TicketWorkOrderSchema)
    @blp.response(201, WorkOrderEventSchema)
    @blp.doc(summary="Open a work order for a ticket",
             description="Customer, asset, priority, summary and description default to the "
                         "ticket's; the ticket moves to in_progress. A P1 work order comes "
                         "with its emergency insertion offer (`insertion`).")
    def post(self, data, ident):
        ticket = get_or_404(RESOURCE, ident)
        check_references(db.session, TicketWorkOrderSchema(), data)
        actor = current_actor()
        work_order = service.create_work_order_from_ticket(db.session, ticket, data, actor)
        location = url_for(f"work_orders.{WORK_ORDERS.name}_item", ident=work_order.id)
        return answer(db.session, work_order, None, actor), 201, {"Location": location}


blueprints = [blp]
