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


def _limited(app, tmp_path, **config):
    return create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret", "INSTANCE_PATH": str(tmp_path),
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
        "TOKEN_RATE_LIMIT": "3/minute", "WRITE_RATE_LIMIT": "3/minute", **config,
    })


def _login(client, address, username="ali"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": "no"},
                       headers={"X-Forwarded-For": address}).status_code


def test_behind_a_trusted_proxy_limits_count_the_forwarded_address(app, tmp_path):
    proxied = _limited(app, tmp_path, TRUSTED_PROXIES=1)
    make_user(proxied, "agent", username="ali")
    client = proxied.test_client()
    assert [_login(client, "198.51.100.1") for _ in range(4)] == [401, 401, 401, 429]
    # Another client behind the same balancer has its own budget...
    assert _login(client, "198.51.100.2") == 401
    # ...and a client cannot pick one: only the hop our proxy added is believed.
    assert _login(client, "203.0.113.9, 198.51.100.1") == 429
    with proxied.app_context():
        db.engine.dispose()


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, tmp_path):
    direct = _limited(app, tmp_path)
    make_user(direct, "agent", username="ali")
    client = direct.test_client()
    answers = [_login(client, f"198.51.100.{n}") for n in range(4)]
    assert answers == [401, 401, 401, 429]  # one address: the connection's
    with direct.app_context():
        db.engine.dispose()


def test_limits_fall_back_to_memory_when_their_redis_is_down(app, tmp_path, caplog):
    down = _limited(app, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    uid = make_user(down, "admin", username="root")
    make_user(down, "agent", username="ali")
    client = down.test_client()
    with caplog.at_level("WARNING"):
        answers = [_login(client, "x") for _ in range(4)]
    assert answers == [401, 401, 401, 429]  # no 500: still limited, in memory
    assert "falling back to in-memory storage" in caplog.text
    headers = {"Authorization": "Bearer " + bearer_for(down, uid)}
    created = client.post("/api/v1/customers", json={"name": "Kaveh"}, headers=headers)
    assert created.status_code == 201, created.json
    with down.app_context():
        assert db.session.query(Customer).filter_by(name="Kaveh").count() == 1
        db.session.remove()
        db.engine.dispose()
