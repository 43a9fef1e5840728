"""Interactions: the log of every contact with a customer."""

from __future__ import annotations

from marshmallow import fields

from fieldsvc.models import Customer, Ticket, WorkOrder
from fieldsvc.models.enums import Direction, InteractionChannel
from fieldsvc.schemas.common import Ref, StrictSchema, Text
from fieldsvc.schemas.pm_plans import Instant


class InteractionInputSchema(StrictSchema):
    channel = fields.Enum(InteractionChannel, by_value=True, required=True)
    direction = fields.Enum(Direction, by_value=True, load_default=Direction.INBOUND)
    calling_number = Text(40, allow_none=True,
                          metadata={"description": "As caller ID delivered it, any format"})
    customer_id = Ref(Customer, allow_none=True, metadata={
        "description": "When absent, the customer is looked up by calling_number; exactly "
                       "one match is linked."})
    subject = Text(200, allow_none=True)
    notes = Text(20_000, allow_none=True)
    ticket_id = Ref(Ticket, allow_none=True)
    work_order_id = Ref(WorkOrder, allow_none=True)
    occurred_at = Instant(metadata={"description": "Defaults to now"})


class InteractionPatchSchema(StrictSchema):
    """An interaction is a log entry: only the callback can be marked done afterwards."""

    callback_done_at = Instant(required=True, allow_none=True)


class InteractionSchema(InteractionInputSchema):
    id = fields.Integer(dump_only=True)
    agent_id = fields.Integer(allow_none=True, dump_only=True)
    outside_hours = fields.Boolean(dump_only=True)
    callback_due_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    callback_done_at = fields.AwareDateTime(allow_none=True, dump_only=True)
