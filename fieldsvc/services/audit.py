"""Read side of the audit log (entries are written by fieldsvc.audit's flush hook)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select

from fieldsvc.models import AuditEntry


def since(stmt: Select, value: datetime) -> Select:
    return stmt.where(AuditEntry.at >= value)


def until(stmt: Select, value: datetime) -> Select:
    return stmt.where(AuditEntry.at <= value)


def entity_type(stmt: Select, value: str) -> Select:
    """Accept the table name or the resource's kebab name: work-order → work_order."""
    return stmt.where(AuditEntry.entity_type == value.strip().replace("-", "_"))
