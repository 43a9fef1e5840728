"""Preventive maintenance plans, plus small schema helpers the operations resources share."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate

from fieldsvc.models import Part, Skill
from fieldsvc.models.enums import SkillLevel
from fieldsvc.schemas.common import Name, Priority, Ref, StrictSchema, Text

MAX_CHECKLIST_ITEMS = 100
MAX_CHECKLIST_ITEM_LENGTH = 200


class RowId(fields.Integer):
    """Dumps a related row as its id: `fields.List(RowId(), attribute="assets")`."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any):
        return super()._serialize(getattr(value, "id", value), attr, obj, **kwargs)


def IdList(**kwargs: Any) -> fields.List:  # noqa: N802 - reads like a field type
    """A list of positive integer ids (existence is checked by the service)."""
    return fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)),
                       validate=validate.Length(max=kwargs.pop("max_items", 1000)), **kwargs)


EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def sane_year(value) -> None:
    """Validator: dates and instants stay within years 1900-2200.

    Year 1 or 9999 with a UTC offset overflows on conversion; no service record needs them.
    """
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(f"Give a year between {EARLIEST_YEAR} and {LATEST_YEAR}.")


def Instant(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802
    """A timezone-aware timestamp within a sane range (naive input is refused)."""
    return fields.AwareDateTime(validate=sane_year, **kwargs)


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    return fields.Date(validate=sane_year, **kwargs)


def valid_zone(name: str) -> None:
    """Validator: `name` must be an IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError(f"Unknown time zone '{name}'. Use an IANA name like "
                              "Asia/Tehran.") from exc


def TimeZone(**kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(validate=[validate.Length(min=1, max=64), valid_zone],
                         metadata={"description": "IANA time zone, e.g. Asia/Tehran"}, **kwargs)


def strict_patch(schema_cls: type[Schema]) -> type[Schema]:
    """The schema with its top-level fields optional; nested items stay complete.

    `partial=True` would also make the fields of nested list items optional, so a PATCH
    could store a skill requirement without a skill; naming the top-level fields does not.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", tuple(
            name for name, field in schema_cls._declared_fields.items() if not field.dump_only
        ))
        schema_cls.__init__(self, *args, **kwargs)

    name = schema_cls.__name__.removesuffix("Schema") + "PatchSchema"
    return type(name, (schema_cls,), {"__init__": __init__})


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
    active = fields.Boolean(load_default=True)
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
