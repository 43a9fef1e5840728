"""Products, assets and meter readings."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from fieldsvc.dates import local_today
from fieldsvc.models import Customer, Product, Site
from fieldsvc.models.enums import ProductKind
from fieldsvc.schemas.common import Name, Ref, StrictBoolean, StrictSchema, Text
from fieldsvc.schemas.work_orders import SkillRequirementSchema
from fieldsvc.services import catalog as service
from fieldsvc.vin import VIN_RE, check_digit_valid

CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
CODE_ERROR = "Letters, digits and . _ / - only, starting with a letter or digit."


class Stripped(fields.String):
    """An identifier-like string: surrounding blanks removed, blank or control chars refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            hint = "; send null to clear it" if self.allow_none else ""
            raise ValidationError(f"Must not be blank{hint}.")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise ValidationError("Must not contain control characters.")
        return text


class Vin(Stripped):
    """A VIN, upper-cased; I, O and Q are refused (they look like 1 and 0)."""

    def _deserialize(self, value, attr, data, **kwargs):
        vin = super()._deserialize(value, attr, data, **kwargs).upper()
        if not VIN_RE.match(vin):
            raise ValidationError(
                "A VIN has 17 characters: digits and letters except I, O and Q."
            )
        return vin


def IdArg(**kwargs) -> fields.Integer:  # noqa: N802 - reads like a field type
    """An id in a query filter, within the database's integer range."""
    return fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), **kwargs)


class ProductSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    code = Stripped(required=True, validate=[validate.Length(min=1, max=60),
                                             validate.Regexp(CODE_RE, error=CODE_ERROR)])
    name = Name(required=True)
    kind = fields.Enum(ProductKind, by_value=True, required=True)
    manufacturer = Text(120, allow_none=True)
    warranty_months = fields.Integer(strict=True, allow_none=True,
                                     validate=validate.Range(min=0, max=600))
    meter_unit = Text(20, allow_none=True,
                      metadata={"description": "Unit of the usage meter: pages, km, hours"})
    skills = fields.List(
        fields.Nested(SkillRequirementSchema), validate=validate.Length(max=50),
        metadata={"description": (
            "What servicing the product takes: [{skill_id, min_level 1-5}], each skill once; "
            "replaces the previous list as a whole. A work order created on one of the "
            "product's assets without a skills key takes these.")})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class AssetSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    product_id = Ref(Product, required=True)
    customer_id = Ref(Customer, required=True)
    site_id = Ref(Site, allow_none=True,
                  metadata={"description": "Where it is installed; a site of the customer"})
    serial_number = Stripped(allow_none=True, validate=validate.Length(max=80))
    vin = Vin(allow_none=True, metadata={"description": "17 characters, stored upper-case"})
    install_date = fields.Date(allow_none=True)
    warranty_end = fields.Date(
        allow_none=True,
        metadata={"description": "Defaults to install_date + the product's warranty months"},
    )
    notes = Text(4000, allow_none=True)
    under_warranty = fields.Method("_under_warranty", dump_only=True,
                                    metadata={"type": "boolean"})
    vin_check_digit_valid = fields.Method(
        "_vin_check", dump_only=True, allow_none=True,
        metadata={"description": "ISO 3779 position-9 check; null without a VIN. Reported, "
                  "not enforced: many regions do not use it."},
    )
    contract_ids = fields.Method("_contract_ids", dump_only=True, metadata={
        "type": "array", "items": {"type": "integer"}})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def _under_warranty(self, asset) -> bool:
        return service.under_warranty(asset, local_today())

    def _vin_check(self, asset) -> bool | None:
        return check_digit_valid(asset.vin)

    def _contract_ids(self, asset) -> list[int]:
        return [link.contract_id for link in asset.contract_links]


class MeterReadingSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    asset_id = fields.Integer(dump_only=True)
    value = fields.Float(required=True, allow_nan=False,
                        validate=validate.Range(min=0, max=1e15))
    unit = Stripped(validate=validate.Length(max=20),
                    metadata={"description": "Defaults to the product's meter unit"})
    read_at = fields.AwareDateTime(metadata={"description": "Defaults to now; not in the future"})
    source = Text(40, allow_none=True)
    reset = StrictBoolean(load_only=True, load_default=False,
                           metadata={"description": "The meter was reset or replaced: allow a "
                                     "value lower than the previous one"})
