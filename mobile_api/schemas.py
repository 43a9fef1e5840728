"""Input of the technician's phone: whitelists, validated before anything is written."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from fieldsvc.schemas.common import (
    Day,
    Instant,
    Latitude,
    Longitude,
    StrictBoolean,
    StrictSchema,
    Text,
)
from fieldsvc.schemas.work_orders import ChecklistItemSchema
from mobile_api.day import TECHNICIAN_TARGETS

MAX_LINES = 50


class DayArgs(StrictSchema):
    date = Day(required=True, metadata={"description": "The day, YYYY-MM-DD (local)."})


class ChangesArgs(StrictSchema):
    cursor = fields.String(validate=validate.Length(max=18), metadata={
        "description": "The cursor of your last answer (or of the day); empty for all."})
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))


class StatusSchema(StrictSchema):
    to = fields.String(required=True, validate=validate.OneOf(sorted(
        s.value for s in TECHNICIAN_TARGETS)))
    at = Instant(metadata={"description": "When it happened on the phone; default now."})
    lat = Latitude(allow_none=True)
    lon = Longitude(allow_none=True)
    reason = Text(4000, allow_none=True, metadata={
        "description": "Required for on_hold and cannot_complete."})
    resolution = Text(10_000, allow_none=True, metadata={"description": "With completed."})
    resolution_code = Text(60, allow_none=True, metadata={"description": "With completed."})
    first_time_fix = StrictBoolean(metadata={
        "description": "With completed: false when the fix was not first-time after all."})

    @validates_schema
    def _pair(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("Give both lat and lon, or neither.", "lat")
        if "first_time_fix" in data and data.get("to") != "completed":
            raise ValidationError("Only accepted when moving to completed.", "first_time_fix")


class PartLineSchema(StrictSchema):
    part_id = fields.Integer(strict=True, required=True,
                             validate=validate.Range(min=1, max=2**63 - 1))
    quantity = fields.Integer(strict=True, required=True,
                              validate=validate.Range(min=1, max=10_000))
    serial_number = Text(80, allow_none=True)


class PartsSchema(StrictSchema):
    used = fields.List(fields.Nested(PartLineSchema), validate=validate.Length(max=MAX_LINES),
                       metadata={"description": "Issued from your van to this job."})
    returned = fields.List(fields.Nested(PartLineSchema),
                           validate=validate.Length(max=MAX_LINES),
                           metadata={"description": "Issued earlier, unused, back to the van."})
    at = Instant(metadata={"description": "When the parts were used on the phone. Needed for "
                           "parts booked after the job's completion: they are taken when "
                           "used no later than the completion."})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data.get("used") and not data.get("returned"):
            raise ValidationError("Give at least one line in used or returned.", "used")


class PickupActionSchema(StrictSchema):
    warehouse_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1),
                                  metadata={"description": "Where you took the parts; "
                                            "default: the planned pick-up's warehouse."})
    parts = fields.List(fields.Nested(PartLineSchema), validate=validate.Length(max=MAX_LINES),
                        metadata={"description": "What you took; default: everything the "
                                  "planned pick-up still lists."})


class ReportSchema(StrictSchema):
    checklist = fields.List(fields.Nested(ChecklistItemSchema), allow_none=True,
                            validate=validate.Length(max=100),
                            metadata={"description": "The checklist with answers: "
                                      "[{item, done, note}]; replaces it as a whole."})
    notes = Text(10_000, allow_none=True)
    labor_minutes = fields.Integer(strict=True, allow_none=True,
                                   validate=validate.Range(min=0, max=24 * 60))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give checklist, notes or labor_minutes.", "_schema")


class AttachmentFormSchema(StrictSchema):
    kind = fields.String(required=True,
                         validate=validate.OneOf(["signature", "photo", "document"]))
    note = Text(1000, allow_none=True)
    taken_at = Instant()


class LocationSchema(StrictSchema):
    at = Instant(required=True)
    lat = Latitude(required=True)
    lon = Longitude(required=True)
    accuracy_m = fields.Float(allow_none=True, allow_nan=False,
                              validate=validate.Range(min=0, max=100_000))


class SyncActionSchema(StrictSchema):
    id = Text(100, metadata={"description": "The phone's own id for the action, echoed."})
    seq = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**62), metadata={
        "description": "Order in which the action was made offline (applied in this order)."})
    type = fields.String(required=True,
                         validate=validate.OneOf(["status", "parts", "pickup", "report",
                                                   "location"]))
    job_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1))
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    if_match = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "The job version the action was made against (ETag)."})
    body = fields.Dict(required=True)

    @validates_schema
    def _job(self, data, **kwargs):
        if data.get("type") != "location" and data.get("job_id") is None:
            raise ValidationError("Required for this type of action.", "job_id")


class SyncSchema(StrictSchema):
    actions = fields.List(fields.Nested(SyncActionSchema), required=True,
                          validate=validate.Length(min=1, max=200))


# ------------------------------------------------------------------ answers (OpenAPI)
# What the phone receives. The views answer already-rendered JSON (the day is cached as
# bytes); these schemas document it, and the tests read the answers against them.


class _Out(Schema):
    class Meta:
        ordered = True


class WarehousePlaceSchema(_Out):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)


class PickupPartSchema(_Out):
    part_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    serialized = fields.Boolean()
    quantity = fields.Integer(metadata={"description": "To take, as planned."})
    picked_up = fields.Integer(metadata={"description": "Already moved to your van."})
    to_pick_up = fields.Integer()


class PickupStopSchema(_Out):
    id = fields.Integer(metadata={"description": "The pick-up's id: the job it serves "
                                  "(POST pickups/{id})."})
    kind = fields.String(metadata={"description": "pickup"})
    job_id = fields.Integer()
    warehouse = fields.Nested(WarehousePlaceSchema)
    arrival_at = fields.AwareDateTime()
    start_at = fields.AwareDateTime()
    end_at = fields.AwareDateTime()
    status = fields.String(validate=validate.OneOf(["pending", "partial", "done"]))
    parts = fields.List(fields.Nested(PickupPartSchema))


class StopSchema(_Out):
    """A stop of the route: the fields of a pick-up or of a job stop, by `kind`."""

    kind = fields.String(validate=validate.OneOf(["pickup", "job"]))
    id = fields.Integer(metadata={"description": "Pick-ups only: the pick-up's id."})
    job_id = fields.Integer()
    status = fields.String()
    warehouse = fields.Nested(WarehousePlaceSchema, metadata={"description": "Pick-ups."})
    parts = fields.List(fields.Nested(PickupPartSchema), metadata={"description": "Pick-ups."})
    arrival_at = fields.AwareDateTime(metadata={"description": "Pick-ups."})
    eta = fields.AwareDateTime(allow_none=True, metadata={"description": "Jobs."})
    start_at = fields.AwareDateTime(allow_none=True)
    end_at = fields.AwareDateTime(allow_none=True)
    summary = fields.String(metadata={"description": "Jobs."})
    address = fields.String(allow_none=True, metadata={"description": "Jobs."})


class JobSkillSchema(_Out):
    skill_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.Integer(metadata={"description": "The minimum level required (1-5)."})
