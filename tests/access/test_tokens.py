"""API tokens: issue, use, refresh, revoke, expiry, tampering, lockout."""

from __future__ import annotations

from datetime import timedelta

from fieldsvc.auth.tokens import digest
from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, AuthToken, Customer, Part, User
from fieldsvc.models.base import utcnow

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(response):
    assert response.status_code == 401, response.data
    assert response.mimetype == PROBLEM
    assert response.json["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_is_issued_for_good_credentials_and_opens_the_api(app, user, login, anon_client):
    user("dispatcher", username="dina")
    response = login("dina")
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["TOKEN_TTL_SECONDS"]
    assert response.headers["Cache-Control"] == "no-store"
    me = anon_client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["username"] == "dina" and me.json["role"] == "dispatcher"
    listed = anon_client.get("/api/v1/customers", headers=bearer(body["access_token"]))
    assert listed.status_code == 200
    # Only the hash is stored.
    with app.app_context():
        stored = db.session.scalars(db.select(AuthToken.token_hash)).all()
        assert body["access_token"] not in stored
        assert digest(body["access_token"]) in stored


def test_bad_credentials_are_401_and_do_not_reveal_whether_the_user_exists(user, login):
    user("agent", username="ali")
    wrong_password = login("ali", "not-the-password")
    unknown_user = login("nobody", "not-the-password")
    for response in (wrong_password, unknown_user):
        assert_401(response)
    # The same answer, but for the request id that names each request.
    assert ({**wrong_password.json, "request_id": None}
            == {**unknown_user.json, "request_id": None})


def test_token_request_bad_input_is_422(anon_client):
    for body in ({}, {"username": "x"}, {"username": "", "password": ""},
                 {"username": "x", "password": "y", "role": "admin"}, [1, 2]):
        response = anon_client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 422, body
        assert response.mimetype == PROBLEM
    assert anon_client.post("/api/v1/auth/token", data="{oops",
                            content_type="application/json").status_code == 400


def test_missing_malformed_tampered_unknown_tokens_are_401(client, anon_client):
    good = client.environ_base["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    assert_401(anon_client.get("/api/v1/customers"))
    for header in ("Bearer", "Basic dXNlcjpwYXNz", f"Token {good}", "Bearer " + "x" * 500,
                   "Bearer " + good[:-1] + ("A" if good[-1] != "A" else "B"),
                   "Bearer not-a-token"):
        response = anon_client.get("/api/v1/customers", headers={"Authorization": header})
        assert_401(response)
    # The untouched token still works.
    assert anon_client.get("/api/v1/customers", headers=bearer(good)).status_code == 200


def test_expired_token_is_refused(app, user, login, anon_client):
    user("manager", username="mona")
    token = login("mona").json["access_token"]
    with app.app_context():
        row = db.session.scalar(db.select(AuthToken).where(AuthToken.token_hash == digest(token)))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert_401(anon_client.get("/api/v1/customers", headers=bearer(token)))


def test_tiny_ttl_from_config_expires_the_token(app, user, login, anon_client):
    user("manager", username="mina")
    app.config["TOKEN_TTL_SECONDS"] = 0
    try:
        response = login("mina")
    finally:
        app.config["TOKEN_TTL_SECONDS"] = 3600
    assert response.json["expires_in"] == 0
    assert_401(anon_client.get("/api/v1/customers",
                               headers=bearer(response.json["access_token"])))


def test_refresh_gives_a_new_token_and_retires_the_old_one(user, login, anon_client):
    user("agent", username="ava")
    old = login("ava").json["access_token"]
    refreshed = anon_client.post("/api/v1/auth/refresh", headers=bearer(old))
    assert refreshed.status_code == 200
    new = refreshed.json["access_token"]
    assert new != old and refreshed.json["token_type"] == "Bearer"
    assert anon_client.get("/api/v1/customers", headers=bearer(new)).status_code == 200
    assert_401(anon_client.get("/api/v1/customers", headers=bearer(old)))
    assert_401(anon_client.post("/api/v1/auth/refresh", headers=bearer(old)))
    assert_401(anon_client.post("/api/v1/auth/refresh"))


def test_revoke_ends_the_token_at_once(user, login, anon_client):
    user("agent", username="arya")
    token = login("arya").json["access_token"]
    other = login("arya").json["access_token"]
    assert anon_client.post("/api/v1/auth/revoke", headers=bearer(token)).status_code == 204
    assert_401(anon_client.get("/api/v1/customers", headers=bearer(token)))
    assert_401(anon_client.post("/api/v1/auth/revoke", headers=bearer(token)))
    # Other sessions of the same user are not affected.
    assert anon_client.get("/api/v1/customers", headers=bearer(other)).status_code == 200


def test_disabled_user_tokens_stop_working(app, user, login, anon_client):
    uid = user("agent", username="ariel")
    token = login("ariel").json["access_token"]
    with app.app_context():
        db.session.get(User, uid).active = False
        db.session.commit()
    assert_401(anon_client.get("/api/v1/customers", headers=bearer(token)))
    assert_401(login("ariel"))


def test_five_failures_lock_the_account_for_a_while(app, user, login, scalar):
    uid = user("dispatcher", username="dara")
    for _ in range(4):
        assert_401(login("dara", "wrong-password"))
    assert scalar(db.select(User.failed_logins).where(User.id == uid)) == 4
    assert login("dara").status_code == 200  # success resets the counter
    assert scalar(db.select(User.failed_logins).where(User.id == uid)) == 0
    for _ in range(5):
        assert_401(login("dara", "wrong-password"))
    locked_until = scalar(db.select(User.locked_until).where(User.id == uid))
    assert locked_until is not None
    minutes = (locked_until - utcnow()).total_seconds() / 60
    assert 14 < minutes <= 15
    # The right password is refused while locked, with the same answer as a wrong one.
    locked = login("dara")
    assert_401(locked)
    assert ({**locked.json, "request_id": None}
            == {**login("nobody-at-all", "x").json, "request_id": None})
    with app.app_context():
        db.session.get(User, uid).locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login("dara").status_code == 200
    actions = scalar(db.select(db.func.count(AuditEntry.id)).where(
        AuditEntry.action == "lockout", AuditEntry.entity_id == str(uid)))
    assert actions == 1


def test_public_paths_need_no_token(anon_client):
    assert anon_client.get("/healthz").status_code == 200
    assert anon_client.get("/api/openapi.json").status_code == 200
    assert anon_client.get("/api/docs").status_code == 200


def test_unknown_api_paths_ask_for_a_token_before_saying_404(anon_client, client):
    assert_401(anon_client.get("/api/v1/nothing-here"))
    assert client.get("/api/v1/nothing-here").status_code == 404


def test_openapi_documents_the_bearer_scheme(anon_client):
    spec = anon_client.get("/api/openapi.json").json
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    token_op = spec["paths"]["/api/v1/auth/token"]["post"]
    assert token_op["security"] == []
    for path in ("/api/v1/auth/refresh", "/api/v1/auth/revoke", "/api/v1/auth/me"):
        assert path in spec["paths"]


def test_writes_record_the_authenticated_user_as_actor(app, client):
    created = client.post("/api/v1/customers", json={"name": "Actor check"})
    assert created.status_code == 201
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.entity_type == "customer", AuditEntry.action == "create"))
        user = db.session.get(User, client.user_id)
        assert (entry.actor_id, entry.actor_name, entry.source) == (user.id, user.username,
                                                                    "api")


def test_refused_write_leaves_no_audit_row_and_no_change(app, client, client_as):
    agent = client_as("agent")
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count(AuditEntry.id)))
    refused = agent.post("/api/v1/parts", json={"sku": "NOT-ALLOWED", "name": "Not allowed"})
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    invalid = client.post("/api/v1/customers", json={"name": "", "tier": "gold"})
    assert invalid.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Part.id))) == 0
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == before
