"""Skills, technicians, their skills, shifts, absences and certifications."""

from __future__ import annotations

from datetime import time

from marshmallow import ValidationError, fields, validate, validates_schema

from fieldsvc.dates import configured_zone_name, local_today
from fieldsvc.models import Skill, Warehouse
from fieldsvc.models.enums import SkillLevel
from fieldsvc.schemas.common import (
    Latitude,
    LocalTime,
    Longitude,
    Name,
    Ref,
    StrictBoolean,
    StrictSchema,
    Text,
    TimeZone,
)

SLUG_RE = r"^[a-z0-9]+([._-][a-z0-9]+)*$"
TECH_CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class WholeItem(StrictSchema):
    """A nested item given whole, even inside a PATCH.

    marshmallow passes `partial` down to nested schemas; items of a list that is replaced
    as a whole must still be complete.
    """

    REQUIRED: tuple[str, ...] = ()

    @validates_schema
    def _complete(self, data, **kwargs):
        missing = {name: ["Missing data for required field."]
                   for name in self.REQUIRED if name not in data}
        if missing:
            raise ValidationError(missing)


class SkillSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=60),
                  validate.Regexp(SLUG_RE, error="Lower-case letters and digits, words joined "
                                  "by '-', '_' or '.', e.g. 'hvac-2'.")],
    )
    name = Name(required=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class TechnicianSkillSchema(WholeItem):
    REQUIRED = ("skill_id", "level")

    skill_id = Ref(Skill, required=True)
    level = fields.Integer(strict=True, required=True,
                           validate=validate.Range(min=SkillLevel.MIN, max=SkillLevel.MAX))
    code = fields.String(dump_only=True, attribute="skill.code")
    name = fields.String(dump_only=True, attribute="skill.name")


class ShiftSchema(WholeItem):
    REQUIRED = ("weekday", "start_time", "end_time")

    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "Monday=0 … Sunday=6"})
    start_time = LocalTime(required=True, metadata={"description": "Local time, HH:MM"})
    end_time = LocalTime(required=True,
                           metadata={"description": "After start_time (no overnight shifts)"})

    @validates_schema
    def _order(self, data, **kwargs):
        start, end = data.get("start_time"), data.get("end_time")
        if start is not None and end is not None and end <= start:
            raise ValidationError("Must be after start_time.", "end_time")


def _unique_skills(items: list[dict]) -> None:
    ids = [i.get("skill_id") for i in items]
    if len(set(ids)) != len(ids):
        raise ValidationError("Each skill at most once.")


def _unique_weekdays(items: list[dict]) -> None:
    days = [i.get("weekday") for i in items]
    if len(set(days)) != len(days):
        raise ValidationError("One shift per weekday.")


class TechnicianSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=36),
                  validate.Regexp(TECH_CODE_RE, error="Letters, digits and . _ - only.")],
        metadata={"description": "Also names the van: VAN-<code>"},
    )
    name = Name(required=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = Text(40, allow_none=True)
    territory = Text(80, allow_none=True)
    home_address = Text(400, allow_none=True)
    home_latitude = Latitude(required=True)
    home_longitude = Longitude(required=True)
    timezone = TimeZone(load_default=configured_zone_name)
    break_minutes = fields.Integer(strict=True, load_default=30,
                                   validate=validate.Range(min=0, max=240))
    break_window_start = LocalTime(allow_none=True, load_default=time(12))
    break_window_end = LocalTime(allow_none=True, load_default=time(14))
    max_work_minutes = fields.Integer(strict=True, load_default=480,
                                      validate=validate.Range(min=1, max=24 * 60))
    overtime_limit_minutes = fields.Integer(strict=True, load_default=60,
                                            validate=validate.Range(min=0, max=12 * 60))
    active = StrictBoolean(load_default=True)
    van_warehouse_id = Ref(
        Warehouse,
        metadata={"description": "An unused van warehouse; by default one is created "
                  "(code VAN-<code>)"},
    )
    skills = fields.List(fields.Nested(TechnicianSkillSchema), load_default=list,
                         validate=[validate.Length(max=200), _unique_skills],
                         metadata={"description": "Replaced as a whole when given"})
    shifts = fields.List(fields.Nested(ShiftSchema), load_default=list,
                         validate=[validate.Length(max=7), _unique_weekdays],
                         metadata={"description": "Weekly pattern; replaced as a whole"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class AbsenceSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    technician_id = fields.Integer(dump_only=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    reason = Text(200, allow_none=True)

    @validates_schema
    def _order(self, data, **kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after starts_at.", "ends_at")


class CertificationSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    technician_id = fields.Integer(dump_only=True)
    skill_id = Ref(Skill, allow_none=True)
    name = Name(required=True)
    issued_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True)
    expired = fields.Method("_expired", dump_only=True, metadata={"type": "boolean"})

    @validates_schema
    def _order(self, data, **kwargs):
        expires = data.get("expires_on")
        if expires is not None and expires < data["issued_on"]:
            raise ValidationError("Must not be before issued_on.", "expires_on")

    def _expired(self, cert) -> bool:
        return cert.expires_on is not None and cert.expires_on < local_today()
