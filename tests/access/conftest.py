"""Helpers for the access tests: users with known passwords, logins, database peeks."""

from __future__ import annotations

import pytest

from fieldsvc.extensions import db
from tests.conftest import TEST_PASSWORD, make_user


@pytest.fixture
def user(app):
    """user("dispatcher", username="dina") → the new user's id (password TEST_PASSWORD)."""

    def build(role: str = "admin", username: str | None = None, **links) -> int:
        return make_user(app, role, username=username, **links)

    return build


@pytest.fixture
def login(anon_client):
    """login("dina") → the token response of POST /api/v1/auth/token."""

    def do(username: str, password: str = TEST_PASSWORD):
        return anon_client.post("/api/v1/auth/token",
                                json={"username": username, "password": password})

    return do


@pytest.fixture
def scalar(app):
    """Run one query in a fresh session and return its scalar result."""

    def run(stmt):
        with app.app_context():
            try:
                return db.session.scalar(stmt)
            finally:
                db.session.remove()

    return run
