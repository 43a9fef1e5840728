"""Read side of optimization runs; requesting and publishing live in fieldsvc.dispatch."""

from __future__ import annotations

from sqlalchemy import Select

from fieldsvc.models import OptimizationRun


def published(stmt: Select, value: bool) -> Select:
    """Filter runs by whether they have been published."""
    column = OptimizationRun.published_at
    return stmt.where(column.is_not(None) if value else column.is_(None))
