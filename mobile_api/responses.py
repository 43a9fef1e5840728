"""What the phone receives: the answers of /api/mobile/v1 as schemas, for the OpenAPI document.

The views build these answers as plain dicts (`mobile_api.day`, `jobs`, `changes`, `sync`)
for speed and cache them as rendered bytes; these schemas describe them so the phone's
contract is part of the document, and the fuzz test checks every answer against them.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from mobile_api.schemas import JobSkillSchema, PickupStopSchema, StopSchema, WarehousePlaceSchema


def _nullable(field_cls, **kwargs):
    return field_cls(allow_none=True, **kwargs)


def Str(**kw):  # noqa: N802 - reads like a field type
    return _nullable(fields.String, **kw)


def Int(**kw):  # noqa: N802
    return _nullable(fields.Integer, **kw)


def Instant(**kw):  # noqa: N802
    return _nullable(fields.String, metadata={"format": "date-time", **kw.pop("metadata", {})},
                     **kw)


def Day(**kw):  # noqa: N802
    return _nullable(fields.String, metadata={"format": "date", **kw.pop("metadata", {})}, **kw)


class ProductOut(Schema):
    id = fields.Integer(required=True)
    code = Str()
    name = Str()
    kind = Str()
    manufacturer = Str()


class AssetHistoryOut(Schema):
    work_order_id = fields.Integer(required=True)
    type = Str()
    summary = Str()
    completed_at = Instant()
    resolution = Str()
    resolution_code = Str()
    first_time_fix = _nullable(fields.Boolean)
    technician_id = Int()


class JobAssetOut(Schema):
    id = fields.Integer(required=True)
    serial_number = Str()
    vin = Str()
    install_date = Day()
    warranty_end = Day()
    notes = Str()
    product = fields.Nested(ProductOut, allow_none=True)
    history = fields.List(fields.Nested(AssetHistoryOut), metadata={
        "description": "The asset's last completed jobs, newest first."})


class JobCustomerOut(Schema):
    id = fields.Integer(required=True)
    name = Str()
    tier = Str()
    contact_name = Str()
    phone = Str()
    mobile = Str()
    email = Str()


class JobSiteOut(Schema):
    id = fields.Integer(required=True)
    name = Str()
    address = Str()
    city = Str()
    latitude = _nullable(fields.Float)
    longitude = _nullable(fields.Float)
    # The site's opening hours per weekday, {"mon": ["08:00", "17:00"], …}, as stored.
    access_hours = _nullable(fields.Dict, keys=fields.String(), values=fields.List(fields.String()))
    notes = Str()


class JobPartOut(Schema):
    part_id = fields.Integer(required=True)
    sku = Str()
    name = Str()
    serialized = _nullable(fields.Boolean)
    quantity = fields.Integer()
    issued = fields.Integer()
    reserved = fields.Integer()
    still_needed = fields.Integer()
    van_on_hand = fields.Integer()
    van_available = fields.Integer()
    on_van = fields.Boolean(metadata={"description": "Your van holds what is still needed."})
    where = Str(metadata={"description": "\"on the van\", \"pick up at <warehouse>\" or "
                          "\"not on the van\"."})
    pick_up_at = fields.Nested(WarehousePlaceSchema, allow_none=True)


class TimeWindowOut(Schema):
    starts_at = Instant()
    ends_at = Instant()


class OpenTicketOut(Schema):
    id = fields.Integer(required=True)
    subject = Str()
    category = Str()
    status = Str()
    priority = Int()
    asset_id = Int()
    created_at = Instant()


class CustomerRmaOut(Schema):
    id = fields.Integer(required=True)
    number = Str()
    type = Str()
    status = Str()
    asset_id = Int()
    part_id = Int()
    return_deadline = Day()


class CustomerRecallOut(Schema):
    id = fields.Integer(required=True)
    campaign_code = Str()
    campaign_title = Str()
    asset_id = Int()
    status = Str()
    day = Day()
    dealership_id = Int()


class JobReportOut(Schema):
    notes = Str()
    labor_minutes = Int()


class AttachmentOut(Schema):
    id = fields.Integer(required=True)
    kind = Str()
    content_type = Str()
    size_bytes = Int()
    filename = Str()
    created_at = Instant()


class JobTimesOut(Schema):
    started_at = Instant()
    arrived_at = Instant()
    completed_at = Instant()
    travel_minutes = Int()
    on_site_minutes = Int()


class JobOut(Schema):
    """One job with all the phone needs to do it offline."""

    id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "The ETag: send it back "
                                                      "as If-Match."})
    status = fields.String(required=True)
    eta = Instant()
    type = Str()
    priority = Int()
    summary = Str()
    problem = Str()
    scheduled_start_at = Instant()
    scheduled_end_at = Instant()
    estimated_minutes = Int()
    time_windows = fields.List(fields.Nested(TimeWindowOut))
    response_due_at = Instant()
    resolution_due_at = Instant()
    allowed_transitions = fields.List(fields.String())
    customer = fields.Nested(JobCustomerOut)
    site = fields.Nested(JobSiteOut)
    asset = fields.Nested(JobAssetOut, allow_none=True)
    checklist = fields.Raw(metadata={"type": "array", "items": {},
                                     "description": "[{item, done, note}]"})
    skills = fields.List(fields.Nested(JobSkillSchema), metadata={
        "description": "The skills the job requires, each with its minimum level."})
    tools = fields.List(fields.String(), metadata={
        "description": "Tools named by the job's preventive maintenance plan."})
    parts = fields.List(fields.Nested(JobPartOut))
    pickup = fields.Nested(PickupStopSchema, allow_none=True, metadata={
        "description": "The warehouse pick-up the plan puts before this job, if any."})
    open_tickets = fields.List(fields.Nested(OpenTicketOut))
    rmas = fields.List(fields.Nested(CustomerRmaOut))
    recalls = fields.List(fields.Nested(CustomerRecallOut))
    report = fields.Nested(JobReportOut)
    attachments = fields.List(fields.Nested(AttachmentOut))
    times = fields.Nested(JobTimesOut)
    resolution = Str()
    resolution_code = Str()
    first_time_fix = _nullable(fields.Boolean)
    hold_reason = Str()
    cannot_complete_reason = Str()


class TechnicianOut(Schema):
    id = fields.Integer(required=True)
    code = Str()
    name = Str()
    timezone = Str()
    van_warehouse_id = Int()


class DayOut(Schema):
    date = fields.String(required=True, metadata={"format": "date"})
    technician = fields.Nested(TechnicianOut, required=True)
    jobs = fields.List(fields.Nested(JobOut), required=True)
    stops = fields.List(fields.Nested(StopSchema), metadata={
        "description": "The route in order: each job, its warehouse pick-up right before it."})
    cursor = fields.String(required=True, metadata={"description": "Where /changes goes on."})


class ChangeOut(Schema):
    job_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    change_id = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    job = fields.Nested(JobOut, allow_none=True, metadata={
        "description": "The job now; null once it is no longer yours."})


class ChangesOut(Schema):
    cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)
    changes = fields.List(fields.Nested(ChangeOut), required=True)


class AttachmentAddedOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    filename = Str()


class AttachmentCreatedOut(Schema):
    attachment = fields.Nested(AttachmentAddedOut, required=True)
    job = fields.Nested(JobOut, required=True)


class PingOut(Schema):
    id = fields.Integer(required=True)
    at = fields.String(metadata={"format": "date-time"})
    lat = fields.Float()
    lon = fields.Float()


class NextJobOut(Schema):
    id = fields.Integer(required=True)
    eta = fields.String(metadata={"format": "date-time"})
    travel_seconds = fields.Float()
    distance_m = fields.Float()


class LocationOut(Schema):
    ping = fields.Nested(PingOut, required=True)
    next_job = fields.Nested(NextJobOut, allow_none=True, metadata={
        "description": "Your next job with its new ETA; null when none is ahead."})


class SyncResultOut(Schema):
    id = Str(metadata={"description": "The action's id, echoed."})
    seq = Int()
    type = fields.String(required=True)
    job_id = Int()
    status = fields.String(required=True, metadata={
        "description": "applied, replayed or rejected"})
    http_status = fields.Integer(required=True)
    reason = fields.String(metadata={"description": "When rejected: the problem's kind."})
    detail = fields.String(metadata={"description": "When rejected: what to do about it."})
    response = fields.Raw(metadata={
        "description": "What the single request would have answered: the job, the "
                       "location answer, or the problem."})


class SyncOut(Schema):
    results = fields.List(fields.Nested(SyncResultOut), required=True)
    cursor = fields.String(required=True)
