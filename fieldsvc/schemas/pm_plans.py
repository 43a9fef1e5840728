"""Preventive maintenance plans."""

from __future__ import annotations

from marshmallow import fields, validate

from fieldsvc.models import Part, Skill
from fieldsvc.models.enums import SkillLevel
from fieldsvc.schemas.common import (  # noqa: F401 - Day, RowId, ... are re-exported
    Day,
    IdList,
    Instant,
    Name,
    Priority,
    Ref,
    RowId,
    StrictBoolean,
    StrictSchema,
    Text,
    TimeZone,
    patch_schema,
    sane_year,
    valid_zone,
)

# Kept under its old name for modules that import it from here.
strict_patch = patch_schema

MAX_CHECKLIST_ITEMS = 100
MAX_CHECKLIST_ITEM_LENGTH = 200


class SkillNeedSchema(StrictSchema):
    skill_id = Ref(Skill, required=True)
    min_level = fields.Integer(
        strict=True, load_default=SkillLevel.MIN,
        validate=validate.Range(min=SkillLevel.MIN, max=SkillLevel.MAX),
    )


class PartNeedSchema(StrictSchema):
    part_id = Ref(Part, required=True)
    quantity = fields.Integer(strict=True, load_default=1,
                              validate=validate.Range(min=1, max=100_000))


class PmPlanInputSchema(StrictSchema):
    name = Name(required=True)
    description = Text(4000, allow_none=True)
    rrule = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=500),
        metadata={"description": "RFC 5545 RRULE, e.g. FREQ=MONTHLY;BYMONTHDAY=-1. "
                                 "Give either rrule (+dtstart) or meter_interval."},
    )
    dtstart = Instant(allow_none=True,
                                   metadata={"description": "First occurrence (aware)."})
    timezone = TimeZone()
    meter_interval = fields.Float(allow_none=True, allow_nan=False,
                                  validate=validate.Range(min=0, min_inclusive=False, max=1e12))
    meter_unit = fields.String(allow_none=True, validate=validate.Length(min=1, max=20))
    lead_days = fields.Integer(strict=True, load_default=7, validate=validate.Range(min=0, max=365))
    estimated_minutes = fields.Integer(strict=True, load_default=60,
                                       validate=validate.Range(min=1, max=7 * 24 * 60))
    priority = Priority(load_default=4)
    checklist = fields.List(
        fields.String(validate=[
            validate.Length(min=1, max=MAX_CHECKLIST_ITEM_LENGTH),
            validate.Regexp(r"\s*\S", error="Give a non-blank item."),
        ]),
        allow_none=True, validate=validate.Length(max=MAX_CHECKLIST_ITEMS),
    )
    tools = fields.List(
        fields.String(validate=[
            validate.Length(min=1, max=120),
            validate.Regexp(r"\s*\S", error="Give a non-blank tool."),
        ]),
        allow_none=True, validate=validate.Length(max=50),
        metadata={"description": "Tools to bring to every visit, shown on the phone."},
    )
    active = StrictBoolean(load_default=True)
    asset_ids = IdList(load_default=list)
    skills = fields.List(fields.Nested(SkillNeedSchema), load_default=list,
                         validate=validate.Length(max=50))
    parts = fields.List(fields.Nested(PartNeedSchema), load_default=list,
                        validate=validate.Length(max=200))


PmPlanPatchSchema = strict_patch(PmPlanInputSchema)


class PmPlanSchema(PmPlanInputSchema):
    """What the API shows of a plan."""

    id = fields.Integer(dump_only=True)
    asset_ids = fields.List(RowId(), attribute="assets", dump_only=True)
    next_occurrences = fields.Method(
        "_next", dump_only=True,
        metadata={"type": "array", "items": {"type": "string", "format": "date-time"},
                  "description": "The next 5 due times from now, in the plan's time zone."},
    )
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def _next(self, plan) -> list[str]:
        from fieldsvc.services.pm_plans import next_occurrences

        return [when.isoformat() for when in next_occurrences(plan)]
