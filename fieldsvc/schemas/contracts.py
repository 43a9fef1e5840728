"""Service contracts: period, coverage hours, SLA targets per priority, covered assets."""

from __future__ import annotations

from datetime import time

from marshmallow import ValidationError, fields, validate, validates_schema

from fieldsvc.dates import configured_zone_name, local_today
from fieldsvc.models import Customer
from fieldsvc.schemas.catalog import CODE_ERROR, CODE_RE, Stripped
from fieldsvc.schemas.common import (
    LocalTime,
    Name,
    Priority,
    Ref,
    StrictBoolean,
    StrictSchema,
    TimeZone,
)
from fieldsvc.schemas.workforce import WholeItem
from fieldsvc.services import contracts as service

MINUTES_CAP = 366 * 24 * 60


def _coverage_days(value: str) -> None:
    if any(ch not in "0123456" for ch in value):
        raise ValidationError("Weekday digits 0 (Monday) to 6 (Sunday) only, e.g. '01234'.")
    if len(set(value)) != len(value):
        raise ValidationError("Each weekday at most once.")


class SlaTargetSchema(WholeItem):
    REQUIRED = ("priority", "response_minutes", "resolution_minutes")

    priority = Priority(required=True)
    response_minutes = fields.Integer(strict=True, required=True,
                                      validate=validate.Range(min=1, max=MINUTES_CAP))
    resolution_minutes = fields.Integer(strict=True, required=True,
                                        validate=validate.Range(min=1, max=MINUTES_CAP))

    @validates_schema
    def _order(self, data, **kwargs):
        response, resolution = data.get("response_minutes"), data.get("resolution_minutes")
        if response is not None and resolution is not None and resolution < response:
            raise ValidationError("Must be at least response_minutes.", "resolution_minutes")


def _unique_priorities(targets: list[dict]) -> None:
    priorities = [t.get("priority") for t in targets]
    if len(set(priorities)) != len(priorities):
        raise ValidationError("One target per priority.")


def _unique_ids(ids: list[int]) -> None:
    if len(set(ids)) != len(ids):
        raise ValidationError("Each asset at most once.")


class ContractSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    number = Stripped(required=True, validate=[validate.Length(min=1, max=40),
                                               validate.Regexp(CODE_RE, error=CODE_ERROR)])
    customer_id = Ref(Customer, required=True)
    name = Name(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "Inclusive; ≥ starts_on"})
    coverage_24x7 = StrictBoolean(load_default=False,
                                   metadata={"description": "Round the clock; days and hours "
                                             "are then ignored"})
    coverage_days = fields.String(
        load_default="012345", validate=[validate.Length(min=1, max=7), _coverage_days],
        metadata={"description": "Covered weekdays as digits, Monday=0: '01234' = Mon–Fri"},
    )
    coverage_start = LocalTime(load_default=time(8),
                                 metadata={"description": "Local time, HH:MM"})
    coverage_end = LocalTime(load_default=time(17),
                               metadata={"description": "Local time, after coverage_start"})
    timezone = TimeZone(load_default=configured_zone_name)
    pm_included = StrictBoolean(load_default=False)
    sla_targets = fields.List(
        fields.Nested(SlaTargetSchema), attribute="targets", load_default=list,
        validate=[validate.Length(max=4), _unique_priorities],
        metadata={"description": "Replaced as a whole when given"},
    )
    asset_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)), load_default=list,
        validate=[validate.Length(max=10_000), _unique_ids],
        metadata={"description": "Assets of the contract's customer; replaced as a whole"},
    )
    active = fields.Method("_active", dump_only=True,
                           metadata={"type": "boolean",
                                     "description": "Today falls within the period"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def get_attribute(self, obj, attr, accessor):
        if attr == "asset_ids" and not isinstance(obj, dict):
            return [link.asset_id for link in obj.asset_links]
        return super().get_attribute(obj, attr, accessor)

    def _active(self, contract) -> bool:
        return service.is_active(contract, local_today())
