"""Stock movements (the ledger) and stock levels."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from fieldsvc.models import Part, Warehouse, WorkOrder
from fieldsvc.models.enums import MovementKind
from fieldsvc.schemas.common import ListArgs, Ref, StrictSchema, Text

MAX_QUANTITY = 1_000_000


class StockMovementSchema(StrictSchema):
    """One ledger line. Which warehouse fields a kind needs:

    receive: to; reserve / release / issue: from + work_order_id; return: to + work_order_id;
    transfer: from + to; scrap: from.
    """

    id = fields.Integer(dump_only=True)
    kind = fields.Enum(MovementKind, by_value=True, required=True)
    part_id = Ref(Part, required=True)
    quantity = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=MAX_QUANTITY))
    from_warehouse_id = Ref(Warehouse, allow_none=True)
    to_warehouse_id = Ref(Warehouse, allow_none=True)
    work_order_id = Ref(WorkOrder, allow_none=True)
    rma_id = fields.Integer(allow_none=True, dump_only=True)
    serial_number = Text(80, allow_none=True)
    note = Text(4000, allow_none=True)
    actor_id = fields.Integer(allow_none=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class StockLevelSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer()
    warehouse_id = fields.Integer()
    part_id = fields.Integer()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class StockMovementListArgs(ListArgs):
    kind = fields.Enum(MovementKind, by_value=True)
    part_id = fields.Integer(validate=validate.Range(min=1))
    warehouse_id = fields.Integer(validate=validate.Range(min=1),
                                  metadata={"description": "Into or out of this warehouse"})
    work_order_id = fields.Integer(validate=validate.Range(min=1))
    rma_id = fields.Integer(validate=validate.Range(min=1))


class StockLevelListArgs(ListArgs):
    warehouse_id = fields.Integer(validate=validate.Range(min=1))
    part_id = fields.Integer(validate=validate.Range(min=1))
    available_below = fields.Integer(
        metadata={"description": "Only levels with fewer than this many available"})
