"""POST /api/v1/pm-plans/generate: what to generate, and the report it answers with."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from fieldsvc.schemas.common import StrictSchema

MAX_DAYS = 365
MAX_PLAN_IDS = 10_000
# Lists in the answer stop here; the counts are always complete.
REPORT_LIST_LIMIT = 1000


class GenerateInputSchema(StrictSchema):
    days = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_DAYS),
                          metadata={"description": "Look this many days ahead instead of each "
                                                   "plan's lead time (0–365)."})
    plan_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)),
                           validate=validate.Length(min=1, max=MAX_PLAN_IDS),
                           metadata={"description": "Only these plans (default: every active "
                                                    "plan); unknown ids are refused with 422."})


class SkipSchema(Schema):
    plan_id = fields.Integer()
    asset_id = fields.Integer(allow_none=True)
    reason = fields.String()


class MissingPartSchema(Schema):
    work_order_id = fields.Integer()
    part_id = fields.Integer()
    quantity = fields.Integer()


class GenerationReportSchema(Schema):
    class Meta:
        ordered = True

    now = fields.AwareDateTime()
    days = fields.Integer(allow_none=True, attribute="horizon_days")
    plans_examined = fields.Integer()
    occurrences_found = fields.Integer()
    work_orders_created = fields.Integer()
    already_existing = fields.Integer()
    work_order_ids = fields.Function(lambda r: r.work_order_ids[:REPORT_LIST_LIMIT], metadata={
        "description": f"Ids of the created work orders (the first {REPORT_LIST_LIMIT})."})
    skipped_count = fields.Function(lambda r: len(r.skipped))
    skipped_by_reason = fields.Function(lambda r: r.skipped_by_reason())
    skipped = fields.Function(
        lambda r: SkipSchema(many=True).dump(r.skipped[:REPORT_LIST_LIMIT]),
        metadata={"description": f"Plans or assets not generated, with the reason (the first "
                                 f"{REPORT_LIST_LIMIT})."})
    parts_reserved = fields.Integer()
    parts_missing_count = fields.Function(lambda r: len(r.parts_missing))
    parts_missing = fields.Function(
        lambda r: MissingPartSchema(many=True).dump(r.parts_missing[:REPORT_LIST_LIMIT]),
        metadata={"description": "Part lines no warehouse could cover (the first "
                                 f"{REPORT_LIST_LIMIT})."})
