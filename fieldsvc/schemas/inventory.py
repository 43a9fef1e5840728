"""Parts and warehouses (the places; stock levels live with stock movements)."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from fieldsvc.models.enums import WarehouseKind
from fieldsvc.schemas.catalog import CODE_ERROR, CODE_RE, Stripped
from fieldsvc.schemas.common import Latitude, Longitude, Name, StrictBoolean, StrictSchema, Text

# Numeric(12, 2): ten digits before the point, two after.
MAX_COST = Decimal("9999999999.99")


def _cents(value: Decimal) -> None:
    if value.as_tuple().exponent < -2:
        raise ValidationError("At most two decimal places.")


class Money(fields.Decimal):
    """Loaded exactly (extra decimals are refused, not rounded); shown with two decimals."""

    CENT = Decimal("0.01")

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None:
            value = Decimal(value).quantize(self.CENT)
        return super()._serialize(value, attr, obj, **kwargs)


class PartSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    sku = Stripped(required=True, validate=[validate.Length(min=1, max=60),
                                            validate.Regexp(CODE_RE, error=CODE_ERROR)])
    name = Name(required=True)
    unit_cost = Money(
        as_string=True, allow_none=True, allow_nan=False,
        validate=[validate.Range(min=0, max=MAX_COST), _cents],
        metadata={"description": "Decimal as a string, e.g. \"12.50\"; ≥ 0"},
    )
    serialized = StrictBoolean(load_default=False,
                                metadata={"description": "Tracked unit by unit by serial"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class WarehouseSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    code = Stripped(required=True, validate=[validate.Length(min=1, max=40),
                                             validate.Regexp(CODE_RE, error=CODE_ERROR)])
    name = Name(required=True)
    kind = fields.Enum(WarehouseKind, by_value=True, required=True)
    region = Text(80, allow_none=True)
    address = Text(400, allow_none=True)
    latitude = Latitude(allow_none=True)
    longitude = Longitude(allow_none=True)
    technician_id = fields.Method(
        "_technician_id", dump_only=True, allow_none=True,
        metadata={"type": "integer", "description": "For a van: the technician it belongs to"},
    )
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def _technician_id(self, warehouse) -> int | None:
        from fieldsvc.extensions import db
        from fieldsvc.services.inventory import van_holder

        return van_holder(db.session, warehouse.id)
