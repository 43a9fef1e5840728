"""Rate limits: the token endpoint per address + username, writes per token → 429."""

from __future__ import annotations

import pytest

from fieldsvc import create_app
from fieldsvc.extensions import db
from fieldsvc.models import Customer
from tests.conftest import TEST_PASSWORD, bearer_for, make_user


@pytest.fixture
def limited_app(app, tmp_path):
    """A second app on the same database, with rate limiting switched on."""
    limited = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "TOKEN_RATE_LIMIT": "10/minute",
        "WRITE_RATE_LIMIT": "3/minute",
    })
    yield limited
    with limited.app_context():
        db.engine.dispose()


def assert_429(response):
    assert response.status_code == 429, response.data
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_token_endpoint_allows_ten_attempts_a_minute_per_address_and_user(limited_app):
    make_user(limited_app, "agent", username="ali")
    make_user(limited_app, "agent", username="bita")
    test_client = limited_app.test_client()

    def attempt(username, password="wrong-password"):
        return test_client.post("/api/v1/auth/token",
                                json={"username": username, "password": password})

    answers = [attempt("ali").status_code for _ in range(10)]
    assert answers == [401] * 10
    assert_429(attempt("ali"))
    assert_429(attempt("ali", TEST_PASSWORD))  # even the right password waits
    # Another username from the same address has its own budget.
    assert attempt("bita", TEST_PASSWORD).status_code == 200


def test_writes_are_limited_per_token_reads_are_not(limited_app):
    uid = make_user(limited_app, "admin", username="root")
    first = {"Authorization": "Bearer " + bearer_for(limited_app, uid)}
    second = {"Authorization": "Bearer " + bearer_for(limited_app, uid)}
    test_client = limited_app.test_client()
    for n in range(3):
        assert test_client.post("/api/v1/customers", json={"name": f"C{n}"},
                                headers=first).status_code == 201
    assert_429(test_client.post("/api/v1/customers", json={"name": "C4"}, headers=first))
    assert test_client.get("/api/v1/customers", headers=first).status_code == 200
    assert test_client.post("/api/v1/customers", json={"name": "C5"},
                            headers=second).status_code == 201
    with limited_app.app_context():
        names = db.session.scalars(db.select(Customer.name)).all()
        db.session.remove()
    assert "C4" not in names and len(names) == 4
