"""Audit log entries as the API shows them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

# Secrets are redacted when audited; their column names are not shown either.
SHOWN_AS = {"password_hash": "password"}


class AuditEntrySchema(Schema):
    id = fields.Integer(dump_only=True)
    at = fields.AwareDateTime(dump_only=True)
    actor_id = fields.Integer(allow_none=True, dump_only=True)
    actor_name = fields.String(dump_only=True)
    source = fields.String(dump_only=True)
    action = fields.String(dump_only=True)
    entity_type = fields.String(dump_only=True)
    entity_id = fields.String(allow_none=True, dump_only=True)
    changes = fields.Method("_changes", dump_only=True, allow_none=True, metadata={
        "type": "object", "description": '{"field": [before, after], ...}'})

    def _changes(self, entry) -> dict[str, Any] | None:
        if entry.changes is None:
            return None
        return {SHOWN_AS.get(key, key): (["***", "***"] if key in SHOWN_AS else value)
                for key, value in entry.changes.items()}
