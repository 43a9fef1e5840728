"""Recall campaigns, their VINs, dealerships, holidays and appointments."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Customer, Skill
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus
from fieldsvc.recall.models import Dealership, RecallCampaign
from fieldsvc.recall.services import owner_visible
from fieldsvc.schemas.common import (
    Latitude,
    Longitude,
    Name,
    Ref,
    StrictBoolean,
    StrictSchema,
    Text,
)
from fieldsvc.schemas.pm_plans import Day, IdList, PartNeedSchema, RowId, TimeZone, strict_patch

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
                       error="Use letters, digits and . _ / - only.")
MAX_VINS_PER_REQUEST = 10_000
MAX_ID = 2**63 - 1


def RowRef(model: type, **kwargs):  # noqa: N802 - reads like a field type
    """Ref with a 64-bit ceiling: larger ids name nothing (and would overflow SQLite)."""
    metadata = {**kwargs.pop("metadata", {}), "ref": model}
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID),
                          metadata=metadata, **kwargs)


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
    parts_available = StrictBoolean(load_default=False)
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


class OwnerSchema(StrictSchema):
    name = fields.String(dump_only=True)
    contact_name = fields.String(dump_only=True)
    phone = fields.String(dump_only=True)
    mobile = fields.String(dump_only=True)
    email = fields.String(dump_only=True)


class AppointmentSchema(StrictSchema):
    """Owner data (customer_id, owner) is null for a dealership the owner did not choose."""

    id = fields.Integer(dump_only=True)
    campaign_id = fields.Integer(dump_only=True)
    vin = fields.String(dump_only=True)
    asset_id = fields.Integer(allow_none=True, dump_only=True)
    customer_id = fields.Method("_customer_id", dump_only=True,
                                metadata={"type": "integer", "nullable": True})
    owner = fields.Method("_owner", dump_only=True, metadata={"type": "object",
                                                             "nullable": True})
    dealership_id = fields.Integer(allow_none=True, dump_only=True)
    day = fields.Date(allow_none=True, dump_only=True)
    slot = fields.Time(allow_none=True, dump_only=True, format="%H:%M")
    status = fields.Enum(AppointmentStatus, by_value=True, dump_only=True)
    invited_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    booked_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    completed_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    work_order_id = fields.Integer(allow_none=True, dump_only=True)
    notes = fields.String(allow_none=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def _customer_id(self, obj):
        return obj.customer_id if owner_visible(current_actor(), obj) else None

    def _owner(self, obj):
        if obj.customer_id is None or not owner_visible(current_actor(), obj):
            return None
        customer = db.session.get(Customer, obj.customer_id)
        return OwnerSchema().dump(customer) if customer is not None else None


class BookingInputSchema(StrictSchema):
    campaign_id = RowRef(RecallCampaign, required=True)
    vin = fields.String(required=True, validate=validate.Length(min=1, max=40),
                        metadata={"description": "17 characters; case and spaces around "
                                                 "are forgiven."})
    dealership_id = RowRef(Dealership, required=True)
    day = Day(required=True)
    notes = Text(2000, allow_none=True)


class AcceptInputSchema(StrictSchema):
    dealership_id = RowRef(Dealership, metadata={"description": "Default: the proposed one"})
    day = Day(metadata={"description": "Default: the proposed day"})


class RescheduleInputSchema(StrictSchema):
    dealership_id = RowRef(Dealership, metadata={"description": "Default: the same dealership"})
    day = Day(required=True)
    notes = Text(2000, allow_none=True)


class CancelInputSchema(StrictSchema):
    reason = Text(500, allow_none=True)


class CompleteInputSchema(StrictSchema):
    resolution = Text(2000, allow_none=True)
    notes = Text(2000, allow_none=True)


class NoShowInputSchema(StrictSchema):
    notes = Text(2000, allow_none=True)


class ReinviteInputSchema(StrictSchema):
    dealership_id = RowRef(Dealership)
    day = Day()


class CapacityArgs(StrictSchema):
    day_from = Day(data_key="from", required=True)
    day_to = Day(data_key="to", required=True)
    campaign_id = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("day_from") and data.get("day_to") and data["day_from"] > data["day_to"]:
            raise ValidationError("'from' must not be after 'to'.", "from")


class CapacityOverrideSchema(StrictSchema):
    campaign_id = RowRef(RecallCampaign, allow_none=True, load_default=None, metadata={
        "description": "Absent or null: the day's places (the shared pool gets what the "
                       "reservations leave). A campaign: that campaign's reservation."})
    capacity = fields.Integer(strict=True, required=True, allow_none=True,
                              validate=validate.Range(min=0, max=100_000),
                              metadata={"description": "Places. For the day, null returns "
                                                       "to bays × hours ÷ remedy duration; "
                                                       "for a reservation, null ends it "
                                                       "(its bookings go back to the "
                                                       "shared pool)."})


class CapacityDayInputSchema(CapacityOverrideSchema):
    """The portal's form: the day comes with the places."""

    day = Day(required=True)


POOLS = ("shared", "reserved")


class PoolSchema(StrictSchema):
    pool = fields.String(metadata={"enum": list(POOLS), "description":
                                   "shared: used by every campaign without a reservation "
                                   "that day; reserved: one campaign's own places"})
    campaign_id = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True)
    capacity = fields.Integer()
    booked = fields.Integer(metadata={"description": "Places held: invitations and bookings "
                                                     "(of every campaign in the shared pool)"})
    free = fields.Integer()
    overridden = fields.Boolean()


class CampaignDaySchema(StrictSchema):
    campaign_id = fields.Integer()
    code = fields.String()
    pool = fields.String(metadata={"enum": list(POOLS),
                                   "description": "The pool this campaign books from"})
    holds = fields.Integer(metadata={"description": "Places this campaign holds that day"})
    free = fields.Integer(metadata={"description": "Places this campaign can still book"})


class CapacityDaySchema(StrictSchema):
    day = fields.Date()
    working_day = fields.Boolean()
    holiday = fields.Boolean()
    holiday_name = fields.String(allow_none=True)
    capacity = fields.Integer(metadata={"description": "The day's places (all pools), or "
                                                       "with campaign_id that campaign's "
                                                       "pool"})
    booked = fields.Integer(metadata={"description": "Places held: invitations and bookings"})
    free = fields.Integer()
    reserved = fields.Integer(metadata={"description": "Places reserved for single "
                                                       "campaigns"})
    overridden = fields.Boolean()
    pool = fields.String(metadata={"enum": list(POOLS), "description":
                                   "With campaign_id: the pool the figures are of"})
    pools = fields.List(fields.Nested(PoolSchema))
    campaigns = fields.List(fields.Nested(CampaignDaySchema))


class CapacitySchema(StrictSchema):
    dealership_id = fields.Integer()
    campaign_id = fields.Integer(allow_none=True)
    day_from = fields.Date(data_key="from", attribute="from")
    day_to = fields.Date(data_key="to", attribute="to")
    days = fields.List(fields.Nested(CapacityDaySchema))


class LookupArgs(StrictSchema):
    vin = fields.String(required=True, validate=validate.Length(min=1, max=40))


class LookupPhaseSchema(StrictSchema):
    sequence = fields.Integer()
    region = fields.String()
    starts_on = fields.Date()


class LookupStateSchema(StrictSchema):
    id = fields.Integer()
    status = fields.String()
    dealership_id = fields.Integer(allow_none=True)
    day = fields.Date(allow_none=True)


class LookupCampaignSchema(StrictSchema):
    campaign_id = fields.Integer()
    code = fields.String()
    title = fields.String()
    remedy_minutes = fields.Integer()
    parts_available = fields.Boolean()
    bookable = fields.Boolean()
    phases = fields.List(fields.Nested(LookupPhaseSchema))
    appointment = fields.Nested(LookupStateSchema, allow_none=True)


class LookupSchema(StrictSchema):
    vin = fields.String()
    check_digit_applies = fields.Boolean()
    check_digit_valid = fields.Boolean()
    warnings = fields.List(fields.String())
    asset_id = fields.Integer(allow_none=True)
    product_id = fields.Integer(allow_none=True)
    campaigns = fields.List(fields.Nested(LookupCampaignSchema))


class AllocateInputSchema(StrictSchema):
    horizon_days = fields.Integer(strict=True, load_default=30,
                                  validate=validate.Range(min=1, max=120))


class UnplacedSchema(StrictSchema):
    vin = fields.String()
    code = fields.String()
    reason = fields.String()


class DealerCountSchema(StrictSchema):
    dealership_id = fields.Integer()
    invited = fields.Integer()


class AllocationSchema(StrictSchema):
    campaign_id = fields.Integer()
    first_day = fields.Date()
    last_day = fields.Date()
    invited = fields.Integer()
    unplaced = fields.Integer()
    waiting_for_phase = fields.Integer()
    total_km = fields.Float()
    mean_km = fields.Float(allow_none=True)
    solve_seconds = fields.Float()
    unplaced_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    unplaced_owners = fields.List(fields.Nested(UnplacedSchema))
    by_dealership = fields.List(fields.Nested(DealerCountSchema))


class _Counts(StrictSchema):
    invited = fields.Integer()
    booked = fields.Integer()
    completed = fields.Integer()
    no_show = fields.Integer()
    cancelled = fields.Integer()
    appointments = fields.Integer()
    completion_rate = fields.Float(allow_none=True)


class ProgressDaySchema(StrictSchema):
    day = fields.Date()
    pool = fields.String(metadata={"enum": list(POOLS)})
    capacity = fields.Integer()
    booked = fields.Integer()
    utilization = fields.Float(allow_none=True)


class ProgressTotalsSchema(_Counts):
    involved = fields.Integer(allow_none=True)


class ProgressDealershipSchema(_Counts):
    dealership_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    region = fields.String()
    capacity = fields.Integer()
    places_taken = fields.Integer()
    utilization = fields.Float(allow_none=True)
    days = fields.List(fields.Nested(ProgressDaySchema))


class ProgressRegionSchema(_Counts):
    region = fields.String()
    involved = fields.Integer()


class ProgressSchema(StrictSchema):
    campaign_id = fields.Integer()
    code = fields.String()
    status = fields.String()
    dealership_id = fields.Integer(allow_none=True,
                                   metadata={"description": "Set when only one dealership's "
                                                            "part is shown"})
    totals = fields.Nested(ProgressTotalsSchema)
    by_dealership = fields.List(fields.Nested(ProgressDealershipSchema))
    by_region = fields.List(fields.Nested(ProgressRegionSchema), allow_none=True)
    days = fields.List(fields.Nested(ProgressDaySchema))
