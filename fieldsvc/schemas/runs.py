"""Optimization runs as the API shows them (read-only here; requests come with dispatch)."""

from __future__ import annotations

from marshmallow import Schema, fields

from fieldsvc.models.enums import RunStatus


class RunSchema(Schema):
    """A run without its input snapshot, which can be megabytes."""

    id = fields.Integer(dump_only=True)
    status = fields.Enum(RunStatus, by_value=True, dump_only=True)
    plan_date = fields.Date(dump_only=True)
    horizon_days = fields.Integer(dump_only=True)
    territory = fields.String(dump_only=True)
    parameters = fields.Dict(dump_only=True)
    progress = fields.Float(dump_only=True)
    message = fields.String(dump_only=True)
    error = fields.String(dump_only=True)
    objective = fields.Dict(dump_only=True)
    result = fields.Dict(dump_only=True)
    phases = fields.Method("get_phases", dump_only=True)
    solve_seconds = fields.Float(dump_only=True)
    assigned_count = fields.Integer(dump_only=True)
    unassigned_count = fields.Integer(dump_only=True)
    started_at = fields.AwareDateTime(dump_only=True)
    finished_at = fields.AwareDateTime(dump_only=True)
    published_at = fields.AwareDateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True)
    published_by_id = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

    def get_phases(self, run) -> list:
        """The optimizer's phases: name, seconds, gain, or why it was skipped."""
        return (run.result or {}).get("phases") or []
