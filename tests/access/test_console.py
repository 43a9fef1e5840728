"""Console sign-in: CSRF on every form, server-side sessions, cookie flags, headers."""

from __future__ import annotations

import re

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, AuthToken
from tests.conftest import TEST_PASSWORD


def csrf_from(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1).decode()


def sign_in(test_client, username: str, password: str = TEST_PASSWORD):
    page = test_client.get("/login")
    return test_client.post("/login", data={"csrf_token": csrf_from(page.data),
                                            "username": username, "password": password})


def test_home_requires_sign_in(anon_client):
    response = anon_client.get("/console")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert anon_client.get("/").status_code == 302


def test_sign_in_shows_who_you_are_and_links_the_api_docs(app, user, anon_client):
    user("dispatcher", username="dana")
    response = sign_in(anon_client, "dana")
    assert response.status_code == 302 and response.headers["Location"].endswith("/console")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = anon_client.get("/console")
    assert home.status_code == 200
    assert b"dana" in home.data and b"dispatcher" in home.data
    assert b'href="/api/docs"' in home.data
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "login"))
        assert (entry.actor_name, entry.source) == ("dana", "console")


def test_form_post_without_csrf_token_is_refused(user, anon_client):
    user("agent", username="amir")
    response = anon_client.post("/login", data={"username": "amir", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert anon_client.get("/console").status_code == 302  # not signed in
    bad = anon_client.post("/login", data={"username": "amir", "password": TEST_PASSWORD,
                                           "csrf_token": "forged"})
    assert bad.status_code == 400


def test_wrong_password_rerenders_the_form_with_a_generic_message(user, anon_client):
    user("agent", username="anna")
    response = sign_in(anon_client, "anna", "wrong-password")
    assert response.status_code == 401
    assert b"Invalid username or password" in response.data
    unknown = sign_in(anon_client, "nobody", "wrong-password")
    assert unknown.status_code == 401
    assert b"Invalid username or password" in unknown.data


def test_logout_needs_csrf_and_ends_the_session_on_the_server(app, user, anon_client):
    user("manager", username="maya")
    sign_in(anon_client, "maya")
    home = anon_client.get("/console")
    assert home.status_code == 200
    stolen = anon_client.get_cookie("session").value
    assert anon_client.post("/logout").status_code == 400
    assert anon_client.get("/console").status_code == 200
    out = anon_client.post("/logout", data={"csrf_token": csrf_from(home.data)})
    assert out.status_code == 302
    assert anon_client.get("/console").status_code == 302
    # Replaying the old cookie does not bring the session back.
    anon_client.set_cookie("session", stolen)
    assert anon_client.get("/console").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuthToken.id)).where(
            AuthToken.kind == "console", AuthToken.revoked_at.is_(None))) == 0


def test_next_parameter_never_leaves_the_site(user, anon_client):
    user("agent", username="arash")
    page = anon_client.get("/login?next=//evil.example/x")
    response = anon_client.post("/login", data={
        "csrf_token": csrf_from(page.data), "username": "arash", "password": TEST_PASSWORD,
        "next": "//evil.example/x"})
    assert response.headers["Location"].endswith("/console")


def test_console_session_does_not_open_the_api(user, anon_client):
    user("admin", username="root")
    sign_in(anon_client, "root")
    assert anon_client.get("/api/v1/customers").status_code == 401


def test_security_headers_on_pages_and_api(anon_client, client):
    for response in (anon_client.get("/login"), client.get("/api/v1/customers"),
                     anon_client.get("/api/v1/customers"), anon_client.get("/healthz")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(anon_client):
    page = anon_client.get("/login").data
    assert b"<script" not in page
    assert b'href="/static/console.css"' in page
    assert anon_client.get("/static/console.css").status_code == 200


def test_secure_cookie_flag_when_configured(app, user, anon_client):
    user("agent", username="sara")
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = sign_in(anon_client, "sara")
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "Secure" in response.headers["Set-Cookie"]
