"""/api/v1/interactions: the append-only log of contacts with customers."""

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import Interaction
from fieldsvc.models.enums import Direction, InteractionChannel
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.interactions import (
    InteractionInputSchema,
    InteractionPatchSchema,
    InteractionSchema,
)
from fieldsvc.schemas.pm_plans import Instant
from fieldsvc.services import interactions as service


class InteractionListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in subject and notes"})
    customer_id = fields.Integer(validate=validate.Range(min=1))
    channel = fields.Enum(InteractionChannel, by_value=True)
    direction = fields.Enum(Direction, by_value=True)
    ticket_id = fields.Integer(validate=validate.Range(min=1))
    work_order_id = fields.Integer(validate=validate.Range(min=1))
    callback_pending = fields.Boolean(
        metadata={"description": "true: out-of-hours contacts still to be called back"})
    occurred_from = Instant(data_key="from")
    occurred_to = Instant(data_key="to")

    @validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and start > end:
            raise ValidationError("'from' must not be after 'to'.", "from")


def _callback_pending(stmt, pending):
    waiting = (Interaction.callback_due_at.is_not(None)
               & Interaction.callback_done_at.is_(None))
    return stmt.where(waiting if pending else ~waiting)


def _create(session, data, actor):
    config = current_app.config
    return service.create_interaction(session, data, actor,
                                      working_hours=config["WORKING_HOURS"],
                                      timezone=config["DEFAULT_TIMEZONE"])


interactions_blp = Blueprint("interactions", __name__, url_prefix=f"{API_PREFIX}/interactions",
                             description="Contacts with customers (calls, messages, visits)")
register_crud(
    interactions_blp,
    Resource(
        name="interactions",
        model=Interaction,
        schema=InteractionSchema,
        create_schema=InteractionInputSchema,
        update_schema=InteractionPatchSchema,
        list_args=InteractionListArgs,
        filters={
            "customer_id": Interaction.customer_id,
            "channel": Interaction.channel,
            "direction": Interaction.direction,
            "ticket_id": Interaction.ticket_id,
            "work_order_id": Interaction.work_order_id,
            "callback_pending": _callback_pending,
            "occurred_from": lambda stmt, v: stmt.where(Interaction.occurred_at >= v),
            "occurred_to": lambda stmt, v: stmt.where(Interaction.occurred_at <= v),
        },
        sortable={"id": Interaction.id, "occurred_at": Interaction.occurred_at,
                  "callback_due_at": Interaction.callback_due_at},
        default_sort=(Interaction.occurred_at.desc(), Interaction.id.desc()),
        search=(Interaction.subject, Interaction.notes),
        create=_create,
        update=service.update_interaction,
        actions=frozenset({"list", "get", "create", "update"}),
    ),
)

blueprints = [interactions_blp]
