"""Work orders, their requirements and status transitions."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_dump, validate

from fieldsvc.models import Asset, Customer, Site, Technician, Ticket
from fieldsvc.models.enums import SkillLevel, WorkOrderStatus, WorkOrderType
from fieldsvc.schemas.common import (
    Latitude,
    ListArgs,
    Longitude,
    Name,
    Priority,
    Ref,
    StrictBoolean,
    StrictSchema,
    Text,
)
from fieldsvc.schemas.insertion import InsertionOfferSchema

MAX_MINUTES = 7 * 24 * 60
MAX_QUANTITY = 100_000


class SkillRequirementSchema(StrictSchema):
    skill_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    min_level = fields.Integer(strict=True, load_default=1,
                               validate=validate.Range(min=SkillLevel.MIN, max=SkillLevel.MAX))


def _missing(line) -> int | None:
    get = line.get if isinstance(line, dict) else lambda key: getattr(line, key, None)
    quantity, reserved, issued = get("quantity"), get("reserved"), get("issued")
    if quantity is None:
        return None
    return max(0, quantity - (reserved or 0) - (issued or 0))


class PartRequirementSchema(StrictSchema):
    part_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    quantity = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=MAX_QUANTITY))
    reserved = fields.Integer(dump_only=True)
    issued = fields.Integer(dump_only=True)
    reserved_warehouse_id = fields.Integer(dump_only=True, allow_none=True)
    missing = fields.Function(_missing, dump_only=True, allow_none=True, metadata={
        "type": "integer",
        "description": "Still to find: quantity − reserved − issued (never below 0)."})


class TimeWindowSchema(StrictSchema):
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class RequirementsSchema(StrictSchema):
    """Skills, parts and time windows; each list replaces the previous one as a whole."""

    skills = fields.List(fields.Nested(SkillRequirementSchema), validate=validate.Length(max=50))
    parts = fields.List(fields.Nested(PartRequirementSchema), validate=validate.Length(max=100))
    time_windows = fields.List(fields.Nested(TimeWindowSchema),
                               validate=validate.Length(max=50))


class WorkOrderSchema(Schema):
    """A work order as the API shows it."""

    class Meta:
        ordered = True

    id = fields.Integer()
    type = fields.Enum(WorkOrderType, by_value=True)
    status = fields.Enum(WorkOrderStatus, by_value=True)
    priority = fields.Integer()
    summary = fields.String()
    description = fields.String(allow_none=True)
    customer_id = fields.Integer()
    site_id = fields.Integer()
    asset_id = fields.Integer(allow_none=True)
    ticket_id = fields.Integer(allow_none=True)
    contract_id = fields.Integer(allow_none=True)
    estimated_minutes = fields.Integer()
    response_due_at = fields.AwareDateTime(allow_none=True)
    resolution_due_at = fields.AwareDateTime(allow_none=True)
    technician_id = fields.Integer(allow_none=True)
    scheduled_start_at = fields.AwareDateTime(allow_none=True)
    scheduled_end_at = fields.AwareDateTime(allow_none=True)
    eta_at = fields.AwareDateTime(allow_none=True)
    pinned = fields.Boolean()
    started_at = fields.AwareDateTime(allow_none=True)
    arrived_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolution_code = fields.String(allow_none=True)
    first_time_fix = fields.Boolean(allow_none=True)
    hold_reason = fields.String(allow_none=True)
    cannot_complete_reason = fields.String(allow_none=True)
    follow_up_of_id = fields.Integer(allow_none=True)
    pm_plan_id = fields.Integer(allow_none=True)
    pm_due_on = fields.Date(allow_none=True)
    checklist = fields.Raw(allow_none=True, metadata={
        "description": "Items to check: [{item, done, note}] (plain strings from older plans)"})
    skills = fields.List(fields.Nested(SkillRequirementSchema))
    parts = fields.List(fields.Nested(PartRequirementSchema))
    time_windows = fields.List(fields.Nested(TimeWindowSchema))
    version = fields.Integer(metadata={"description": "Bumped by every change (ETag)."})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class WorkOrderEventSchema(WorkOrderSchema):
    """A created or changed work order; `insertion` only after it became P1."""

    insertion = fields.Nested(InsertionOfferSchema, metadata={"description": (
        "Present when the work order was created as P1 or raised to P1: the emergency "
        "insertion proposed into the published plan of its territory and day (the day of "
        "its first time window not yet over, else today), stored and acceptable at "
        "`accept_url`; or `offered: false` with the `reason` there is none (no published "
        "plan, no technician can take it, it is not new, ...). Never makes the create or "
        "change itself fail.")})

    @post_dump
    def _drop_empty_insertion(self, data, **kwargs):
        if data.get("insertion") is None:
            data.pop("insertion", None)
        return data


PRODUCT_SKILLS_NOTE = (
    "Without this key, a work order on an asset takes the skills the asset's product "
    "declares (GET /api/v1/products/{id}); send [] for a job that needs none.")


class WorkOrderCreateSchema(RequirementsSchema):
    skills = fields.List(fields.Nested(SkillRequirementSchema), validate=validate.Length(max=50),
                         metadata={"description": PRODUCT_SKILLS_NOTE})
    type = fields.Enum(WorkOrderType, by_value=True, load_default=WorkOrderType.BREAKDOWN)
    priority = Priority(load_default=3)
    summary = Name(200, required=True)
    description = Text(10_000, allow_none=True)
    customer_id = Ref(Customer, metadata={"description": "Implied by the site or asset."})
    site_id = Ref(Site, metadata={
        "description": "Required unless the asset has a site or the customer has one site."})
    asset_id = Ref(Asset, allow_none=True)
    ticket_id = Ref(Ticket, allow_none=True)
    estimated_minutes = fields.Integer(strict=True, load_default=60,
                                       validate=validate.Range(min=1, max=MAX_MINUTES))
    pinned = StrictBoolean(load_default=False)


class TicketWorkOrderSchema(RequirementsSchema):
    """A work order opened from a ticket: customer, asset, priority and text default to it."""

    skills = fields.List(fields.Nested(SkillRequirementSchema), validate=validate.Length(max=50),
                         metadata={"description": PRODUCT_SKILLS_NOTE})
    type = fields.Enum(WorkOrderType, by_value=True)
    priority = Priority()
    summary = Name(200)
    description = Text(10_000, allow_none=True)
    site_id = Ref(Site)
    asset_id = Ref(Asset, allow_none=True)
    estimated_minutes = fields.Integer(strict=True,
                                       validate=validate.Range(min=1, max=MAX_MINUTES))
    pinned = StrictBoolean()


class ChecklistItemSchema(StrictSchema):
    item = Name(200, required=True)
    done = StrictBoolean(load_default=False)
    note = Text(1000, allow_none=True)


class WorkOrderUpdateSchema(RequirementsSchema):
    """What a dispatcher may change; the status changes only through transitions.

    A technician may change only the resolution fields and the checklist answers (the
    access policy enforces that whitelist).
    """

    priority = Priority()
    summary = Name(200)
    description = Text(10_000, allow_none=True)
    estimated_minutes = fields.Integer(strict=True,
                                       validate=validate.Range(min=1, max=MAX_MINUTES))
    pinned = StrictBoolean()
    technician_id = Ref(Technician, allow_none=True)
    scheduled_start_at = fields.AwareDateTime(allow_none=True)
    scheduled_end_at = fields.AwareDateTime(allow_none=True)
    resolution = Text(10_000, allow_none=True)
    resolution_code = Text(60, allow_none=True)
    checklist = fields.List(fields.Nested(ChecklistItemSchema), allow_none=True,
                            validate=validate.Length(max=100))
    override_reason = Text(500, allow_none=True, load_only=True, metadata={
        "description": "Assign anyway although the placement breaks planning rules (the "
                       "reason and the rules go to the audit log); without it such a "
                       "placement is a 409 listing the broken rules."})


class TransitionSchema(StrictSchema):
    to = fields.Enum(WorkOrderStatus, by_value=True, required=True)
    reason = Text(4000, allow_none=True)
    at = fields.AwareDateTime(metadata={"description": "When it happened; default now."})
    lat = Latitude(allow_none=True)
    lon = Longitude(allow_none=True)
    technician_id = Ref(Technician, metadata={"description": "Moving to scheduled."})
    scheduled_start_at = fields.AwareDateTime(metadata={"description": "Moving to scheduled."})
    resolution = Text(10_000, allow_none=True, metadata={"description": "Moving to completed."})
    resolution_code = Text(60, allow_none=True)
    override_reason = Text(500, allow_none=True, load_only=True, metadata={
        "description": "Assign anyway although the placement breaks planning rules (the "
                       "reason and the rules go to the audit log); without it such a "
                       "placement is a 409 listing the broken rules."})


class TransitionOutSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer()
    work_order_id = fields.Integer()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String(allow_none=True)
    at = fields.AwareDateTime()
    reason = fields.String(allow_none=True)
    lat = fields.Float(attribute="latitude", allow_none=True)
    lon = fields.Float(attribute="longitude", allow_none=True)


class CommaEnum(fields.Field):
    """A comma-separated list of enum values: ?status=new,scheduled."""

    def __init__(self, enum_cls, **kwargs):
        self.enum_cls = enum_cls
        kwargs.setdefault("metadata", {})["description"] = (
            "Comma-separated: " + ", ".join(m.value for m in enum_cls))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Give comma-separated values.")
        out = []
        for raw in value.split(","):
            raw = raw.strip()
            if not raw:
                continue
            try:
                out.append(self.enum_cls(raw))
            except ValueError:
                choices = ", ".join(m.value for m in self.enum_cls)
                raise ValidationError(f"Unknown value '{raw}'. Choose from: {choices}.") \
                    from None
        if not out:
            raise ValidationError("Give at least one value.")
        return out


class WorkOrderListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in summary and description"})
    status = CommaEnum(WorkOrderStatus)
    type = fields.Enum(WorkOrderType, by_value=True)
    priority = fields.Integer(validate=validate.Range(min=1, max=4))
    technician_id = fields.Integer(validate=validate.Range(min=1))
    customer_id = fields.Integer(validate=validate.Range(min=1))
    site_id = fields.Integer(validate=validate.Range(min=1))
    asset_id = fields.Integer(validate=validate.Range(min=1))
    ticket_id = fields.Integer(validate=validate.Range(min=1))
    territory = fields.String(metadata={"description": "The site's territory"})
    date = fields.Date(metadata={"description": "Scheduled to start on this local day"})
    sla_breached = fields.Boolean(metadata={
        "description": "Response (arrival) or resolution (completion) late, or overdue now"})


class TransitionListArgs(ListArgs):
    pass

