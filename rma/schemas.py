"""RMA input and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from fieldsvc.models import Asset, Customer, Part, Ticket, Warehouse, WorkOrder
from fieldsvc.models.enums import Entitlement, RmaStatus, RmaType
from fieldsvc.schemas.common import (
    Day,
    Name,
    Ref,
    StrictBoolean,
    StrictSchema,
    Text,
    no_control_characters,
)
from rma.models import Disposition, InspectionResult
from rma.services import allowed_targets


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
    whole_unit = StrictBoolean(
        allow_none=True,
        metadata={"description": "The asset itself comes back (its serial must match); "
                                 "default: true when asset_id is given without part_id"})
    replacement_warehouse_id = Ref(
        Warehouse, allow_none=True,
        metadata={"description": "Advance exchange: where the replacement ships from (a "
                                 "technician's van only for a swap on site)"})


class WorkOrderRmaInputSchema(RmaInputSchema):
    """From a work order: customer, work order (and asset, ticket) come from the job."""

    class Meta(RmaInputSchema.Meta):
        exclude = ("customer_id", "work_order_id")


def _serial(**kwargs):
    return fields.String(validate=[validate.Length(min=1, max=80), no_control_characters],
                         **kwargs)


class RmaMoveSchema(StrictSchema):
    to = fields.Enum(RmaStatus, by_value=True, required=True)
    note = Text(2000, allow_none=True, metadata={"description": "Required to reject or cancel"})
    warehouse_id = Ref(Warehouse, allow_none=True, metadata={
        "description": "approved/replacement_shipped: ships from; defective_received: the "
                       "quarantine warehouse (default: the region's); inspected: where "
                       "restock/to_vendor sends the unit"})
    replacement_serial = _serial(allow_none=True)
    defective_serial = _serial(allow_none=True)
    result = fields.Enum(InspectionResult, by_value=True, allow_none=True)
    failure_code = fields.String(allow_none=True, validate=[validate.Length(min=1, max=40),
                                                            no_control_characters])
    inspection_notes = Text(8000, allow_none=True)
    disposition = fields.Enum(Disposition, by_value=True, allow_none=True)


class GoodwillSchema(StrictSchema):
    reason = Name(400, required=True)


class RmaTransitionSchema(StrictSchema):
    from_status = fields.String(allow_none=True, dump_only=True)
    to_status = fields.String(dump_only=True)
    actor_id = fields.Integer(allow_none=True, dump_only=True)
    actor_name = fields.String(dump_only=True)
    at = fields.AwareDateTime(dump_only=True)
    note = fields.String(allow_none=True, dump_only=True)


class RmaSchema(RmaInputSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True, metadata={"description": "RMA-YYMM-NNNN"})
    status = fields.Enum(RmaStatus, by_value=True, dump_only=True)
    entitlement = fields.Enum(Entitlement, by_value=True, dump_only=True)
    entitlement_reason = fields.String(dump_only=True)
    replacement_warehouse_id = fields.Integer(allow_none=True, dump_only=True)
    replacement_serial = fields.String(allow_none=True, dump_only=True)
    defective_serial = fields.String(allow_none=True, dump_only=True)
    return_deadline = fields.Date(allow_none=True, dump_only=True)
    inspection_result = fields.String(allow_none=True, dump_only=True)
    inspection_notes = fields.String(allow_none=True, dump_only=True)
    charge_customer = StrictBoolean(dump_only=True)
    overdue_flagged_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    replacement_reserved = fields.Integer(dump_only=True)
    quarantine_warehouse_id = fields.Integer(allow_none=True, dump_only=True)
    inspection_failure_code = fields.String(allow_none=True, dump_only=True)
    disposition = fields.String(allow_none=True, dump_only=True)
    disposition_warehouse_id = fields.Integer(allow_none=True, dump_only=True)
    goodwill_approved_by_id = fields.Integer(allow_none=True, dump_only=True)
    goodwill_approved_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    allowed_transitions = fields.Method("_allowed", dump_only=True, metadata={
        "type": "array", "items": {"type": "string"},
        "description": "Statuses this RMA may move to now"})
    transitions = fields.List(fields.Nested(RmaTransitionSchema), dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def _allowed(self, rma):
        return allowed_targets(rma)


class ReturnsReportArgs(StrictSchema):
    from_ = Day(data_key="from", required=True)
    to = Day(required=True)
    group = fields.String(load_default="month,product,failure_code", metadata={
        "description": "Comma-separated: month, product, failure_code"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ReturnsRowSchema(StrictSchema):
    month = fields.String(metadata={"description": "YYYY-MM (UTC) the RMA was opened"})
    product_id = fields.Integer(allow_none=True)
    product_code = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True)
    returns = fields.Integer()
    inspected = fields.Integer()
    failure_confirmed = fields.Integer()
    no_fault_found = fields.Integer()
    customer_damage = fields.Integer()
    no_fault_found_rate = fields.Float(allow_none=True, metadata={
        "description": "no_fault_found / inspected; null when nothing was inspected"})


class ReturnsReportSchema(StrictSchema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    group = fields.List(fields.String())
    items = fields.List(fields.Nested(ReturnsRowSchema))
