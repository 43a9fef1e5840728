"""Query and body schemas of /api/v1/reports/kpis and /api/v1/reports/voice-of-customer."""

from __future__ import annotations

from marshmallow import fields, validate

from fieldsvc.schemas.common import Day, StrictSchema, Text


class PeriodArgs(StrictSchema):
    from_ = Day(data_key="from", required=True,
                metadata={"description": "First local day (DEFAULT_TIMEZONE), YYYY-MM-DD"})
    to = Day(required=True, metadata={"description": "Last local day, inclusive; at most "
                                                     "366 days after from"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class KpiArgs(PeriodArgs):
    territory = Text(80, metadata={"description": "Only this territory (sites, technicians, "
                                                  "runs; dealership region for recalls)"})
    series = fields.String(load_default="none", validate=validate.OneOf(["none", "month"]),
                           metadata={"description": "month: add the KPIs per month"})


class VocArgs(PeriodArgs):
    group = fields.String(load_default="category", metadata={
        "description": "Comma-separated, nested in this order: category, topic, product, "
                       "region"})
    region = Text(80, metadata={"description": "Only tickets of this region"})
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100),
                         metadata={"description": "How many recurring faults"})
    part = fields.String(load_default="tickets", validate=validate.OneOf(["tickets", "faults"]),
                         metadata={"description": "CSV only: the ticket rows or the faults"})


class WeightsSchema(StrictSchema):
    weights = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True, metadata={
        "description": "Whole number 0–100 per KPI key; missing keys are 0; sum must be 100"})


class WeightsInfoSchema(StrictSchema):
    weights = fields.Dict(keys=fields.String(), values=fields.Integer())
    defaults = fields.Dict(keys=fields.String(), values=fields.Integer())
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    customized = fields.Boolean()
    updated_at = fields.AwareDateTime(allow_none=True)
