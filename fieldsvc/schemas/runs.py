"""Optimization runs as the API shows them (read-only here; requests come with dispatch)."""

from __future__ import annotations

from marshmallow import Schema, fields

from fieldsvc.models.enums import RunStatus


class PublishStateSchema(Schema):
    status = fields.String(attribute="publish_status", allow_none=True, metadata={
        "description": "null (not asked), queued, running, done or failed"})
    progress = fields.Float(attribute="publish_progress", allow_none=True)
    message = fields.String(attribute="publish_message", allow_none=True)
    started_at = fields.AwareDateTime(attribute="publish_started_at", allow_none=True)


class PublishReportSchema(PublishStateSchema):
    report = fields.Dict(attribute="publish_report", allow_none=True, metadata={
        "description": "work-order ids by outcome: scheduled, rescheduled, unchanged, "
                       "unscheduled, changed_since_run (edited after the run started: left "
                       "as they were), fixed (pinned or started)"})


class RunSummarySchema(Schema):
    """A run as lists show it: status and figures, without its input and result (each can
    be megabytes; GET the run itself for them)."""

    id = fields.Integer(dump_only=True)
    status = fields.Enum(RunStatus, by_value=True, dump_only=True)
    plan_date = fields.Date(dump_only=True)
    horizon_days = fields.Integer(dump_only=True)
    territory = fields.String(allow_none=True, dump_only=True)
    parameters = fields.Dict(dump_only=True)
    progress = fields.Float(dump_only=True)
    message = fields.String(allow_none=True, dump_only=True)
    error = fields.String(allow_none=True, dump_only=True)
    objective = fields.Dict(allow_none=True, dump_only=True)
    solve_seconds = fields.Float(allow_none=True, dump_only=True)
    assigned_count = fields.Integer(allow_none=True, dump_only=True)
    unassigned_count = fields.Integer(allow_none=True, dump_only=True)
    started_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    finished_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    published_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    created_by_id = fields.Integer(allow_none=True, dump_only=True)
    published_by_id = fields.Integer(allow_none=True, dump_only=True)
    publish = fields.Function(lambda run: PublishStateSchema().dump(run), dump_only=True,
                              metadata={"type": "object",
                                        "description": "the publication job's state"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class RunSchema(RunSummarySchema):
    """One run with what it planned with (`input`) and its plan (`result`)."""

    input = fields.Dict(attribute="input_snapshot", allow_none=True, dump_only=True)
    publish = fields.Function(lambda run: PublishReportSchema().dump(run), dump_only=True,
                              metadata={"type": "object", "description": "the publication "
                                        "job's state and, once done, what it did"})
    result = fields.Dict(allow_none=True, dump_only=True)
    phases = fields.Method("get_phases", dump_only=True, metadata={
        "type": "array", "items": {"type": "object"},
        "description": "The optimizer's phases: name, seconds, gain, or why it was skipped."})

    def get_phases(self, run) -> list:
        return (run.result or {}).get("phases") or []
