"""Helpers for the catalog, workforce and warehouse API tests."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fieldsvc.extensions import db

PROBLEM = "application/problem+json"


@pytest.fixture
def count(app):
    """count(Model) → rows in its table now, read in a fresh session."""

    def _count(model) -> int:
        with app.app_context():
            n = db.session.scalar(select(func.count()).select_from(model))
            db.session.remove()
            return n

    return _count


@pytest.fixture
def today(app):
    """Today as the application sees it (its configured time zone)."""
    from fieldsvc.dates import local_today

    with app.app_context():
        return local_today()
