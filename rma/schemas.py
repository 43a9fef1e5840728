"""RMA input and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from fieldsvc.models import Asset, Customer, Part, Ticket, WorkOrder
from fieldsvc.models.enums import Entitlement, RmaStatus, RmaType
from fieldsvc.schemas.common import Ref, StrictSchema, Text


class RmaInputSchema(StrictSchema):
    type = fields.Enum(RmaType, by_value=True, required=True)
    customer_id = Ref(Customer, required=True)
    asset_id = Ref(Asset, allow_none=True,
                   metadata={"description": "The returned unit; must be the customer's"})
    part_id = Ref(Part, allow_none=True)
    quantity = fields.Integer(strict=True, load_default=1,
                              validate=validate.Range(min=1, max=10_000))
    ticket_id = Ref(Ticket, allow_none=True)
    work_order_id = Ref(WorkOrder, allow_none=True)
    failure_description = Text(8000, allow_none=True)
    failure_code = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))


class RmaTransitionSchema(StrictSchema):
    from_status = fields.String(dump_only=True)
    to_status = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True)
    actor_name = fields.String(dump_only=True)
    at = fields.AwareDateTime(dump_only=True)
    note = fields.String(dump_only=True)


class RmaSchema(RmaInputSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True, metadata={"description": "RMA-YYMM-NNNN"})
    status = fields.Enum(RmaStatus, by_value=True, dump_only=True)
    entitlement = fields.Enum(Entitlement, by_value=True, dump_only=True)
    entitlement_reason = fields.String(dump_only=True)
    replacement_warehouse_id = fields.Integer(dump_only=True)
    replacement_serial = fields.String(dump_only=True)
    defective_serial = fields.String(dump_only=True)
    return_deadline = fields.Date(dump_only=True)
    inspection_result = fields.String(dump_only=True)
    inspection_notes = fields.String(dump_only=True)
    charge_customer = fields.Boolean(dump_only=True)
    transitions = fields.List(fields.Nested(RmaTransitionSchema), dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
