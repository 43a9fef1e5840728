"""Recall campaigns, their VINs, dealerships, holidays and appointments."""

from __future__ import annotations

from marshmallow import fields, validate

from fieldsvc.models import Skill
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus
from fieldsvc.schemas.common import Latitude, Longitude, Name, Ref, StrictSchema, Text
from fieldsvc.schemas.pm_plans import Day, IdList, PartNeedSchema, RowId, TimeZone, strict_patch

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
                       error="Use letters, digits and . _ / - only.")
MAX_VINS_PER_REQUEST = 10_000


class PhaseSchema(StrictSchema):
    sequence = fields.Integer(strict=True, required=True,
                              validate=validate.Range(min=1, max=1000))
    region = Name(80, required=True)
    starts_on = Day(required=True)


class CampaignInputSchema(StrictSchema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=40), CODE])
    title = Name(required=True)
    description = Text(8000, allow_none=True)
    status = fields.Enum(CampaignStatus, by_value=True, load_default=CampaignStatus.DRAFT)
    remedy_minutes = fields.Integer(strict=True, load_default=60,
                                    validate=validate.Range(min=1, max=24 * 60))
    skill_id = Ref(Skill, allow_none=True)
    parts_available = fields.Boolean(load_default=False)
    product_ids = IdList(load_default=list)
    phases = fields.List(fields.Nested(PhaseSchema), load_default=list,
                         validate=validate.Length(max=100))
    parts = fields.List(fields.Nested(PartNeedSchema), load_default=list,
                        validate=validate.Length(max=200))


CampaignPatchSchema = strict_patch(CampaignInputSchema)


class CampaignSchema(CampaignInputSchema):
    id = fields.Integer(dump_only=True)
    product_ids = fields.List(RowId(), attribute="products", dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class VinListInputSchema(StrictSchema):
    vins = fields.List(fields.Raw(), required=True,
                       validate=validate.Length(min=1, max=MAX_VINS_PER_REQUEST),
                       metadata={"description": "17-character VINs (no I, O or Q)."})


class CampaignVinSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    campaign_id = fields.Integer(dump_only=True)
    vin = fields.String(dump_only=True)
    asset_id = fields.Integer(dump_only=True, allow_none=True)


class VinsAddedSchema(StrictSchema):
    added = fields.Integer(dump_only=True)
    matched_assets = fields.Integer(dump_only=True)


class HolidaySchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    dealership_id = fields.Integer(dump_only=True)
    day = Day(required=True)
    name = Text(120, allow_none=True)


class DealershipInputSchema(StrictSchema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=40), CODE])
    name = Name(required=True)
    region = Name(80, required=True)
    city = Text(120, allow_none=True)
    address = Text(400, allow_none=True)
    phone = Text(40, allow_none=True)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    timezone = TimeZone()
    bays = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=0, max=1000))
    opens_at = fields.Time(format="%H:%M", metadata={"description": "HH:MM"})
    closes_at = fields.Time(format="%H:%M", metadata={"description": "HH:MM"})
    working_days = fields.String(
        validate=validate.Regexp(r"^[0-6]{0,7}$", error="Use weekday digits 0-6, Monday=0."),
        metadata={"description": "Working weekdays as digits, Monday=0: '012356'"},
    )


DealershipPatchSchema = strict_patch(DealershipInputSchema)


class DealershipSchema(DealershipInputSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class AppointmentSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    campaign_id = fields.Integer(dump_only=True)
    vin = fields.String(dump_only=True)
    asset_id = fields.Integer(dump_only=True)
    customer_id = fields.Integer(dump_only=True)
    dealership_id = fields.Integer(dump_only=True)
    day = fields.Date(dump_only=True)
    slot = fields.Time(dump_only=True, format="%H:%M")
    status = fields.Enum(AppointmentStatus, by_value=True, dump_only=True)
    invited_at = fields.AwareDateTime(dump_only=True)
    booked_at = fields.AwareDateTime(dump_only=True)
    completed_at = fields.AwareDateTime(dump_only=True)
    work_order_id = fields.Integer(dump_only=True)
    notes = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
