"""Console page tests: Flask test clients signed in through the real login form."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD, make_user


def csrf_from(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1).decode()


@pytest.fixture
def page_as(app):
    """page_as("agent", agent_skills="complaint") → a test client signed in to the console."""
    counter = {"n": 0}

    def build(role: str = "agent", username: str | None = None, **columns):
        counter["n"] += 1
        username = username or f"con-{role}-{counter['n']}"
        make_user(app, role=role, username=username, **columns)
        client = app.test_client()
        form = client.get("/login")
        response = client.post("/login", data={"csrf_token": csrf_from(form.data),
                                               "username": username,
                                               "password": TEST_PASSWORD})
        assert response.status_code == 302, response.data
        client.csrf = csrf_from(client.get("/console").data)
        return client

    return build


@pytest.fixture
def data(app):
    """Like `make`, but each call opens its own app context and returns detached rows,
    so the signed-in test clients never share a request context (and Flask-Login's
    per-context user cache) with the test."""
    from fieldsvc.extensions import db
    from tests.factories import Factories

    class Data:
        def __getattr__(self, name):
            def call(*args, **kwargs):
                with app.app_context():
                    obj = getattr(Factories(db.session), name)(*args, **kwargs)
                    db.session.refresh(obj)
                    db.session.expunge(obj)
                    return obj

            return call

    return Data()


@pytest.fixture
def db_session(app):
    """query(lambda s: ...) → runs in a fresh app context and returns the result."""
    from fieldsvc.extensions import db

    def run(fn):
        with app.app_context():
            result = fn(db.session)
            db.session.expunge_all()
            return result

    return run
