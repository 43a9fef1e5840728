"""A new password ends the tokens and console sessions issued before it."""

from __future__ import annotations

from fieldsvc.extensions import db
from fieldsvc.models import User
from tests.access.test_console import sign_in
from tests.conftest import TEST_PASSWORD

NEW = "a-new-password-1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signed_in_everywhere(app, login, username: str, password: str = TEST_PASSWORD):
    """Two API tokens and a console session of `username`."""
    first, second = (login(username, password).json["access_token"] for _ in range(2))
    console = app.test_client()
    assert sign_in(console, username, password).status_code == 302
    assert console.get("/console").status_code == 200
    return first, second, console


def _works(anon_client, token: str) -> bool:
    status = anon_client.get("/api/v1/auth/me", headers=bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


def _console_signed_out(console) -> bool:
    page = console.get("/console")
    return page.status_code == 302 and "/login" in page.headers["Location"]


def test_own_change_keeps_the_asking_token_and_ends_the_rest(app, user, login, anon_client):
    user("dispatcher", username="dina")
    mine, other, console = _signed_in_everywhere(app, login, "dina")
    changed = anon_client.post("/api/v1/auth/password", headers=bearer(mine), json={
        "current_password": TEST_PASSWORD, "new_password": NEW})
    assert changed.status_code == 200, changed.json
    assert changed.json == {"sessions_ended": 2}
    assert _works(anon_client, mine)  # it asked to stay signed in (the default)
    assert not _works(anon_client, other)
    assert _console_signed_out(console)
    assert login("dina").status_code == 401
    assert login("dina", NEW).status_code == 200


def test_own_change_without_staying_signed_in_ends_every_token(app, user, login, anon_client):
    user("agent", username="ali")
    mine, other, console = _signed_in_everywhere(app, login, "ali")
    changed = anon_client.post("/api/v1/auth/password", headers=bearer(mine), json={
        "current_password": TEST_PASSWORD, "new_password": NEW, "keep_signed_in": False})
    assert changed.json == {"sessions_ended": 3}
    assert not _works(anon_client, mine) and not _works(anon_client, other)
    assert _console_signed_out(console)


def test_wrong_current_password_changes_nothing_and_counts_as_a_failure(app, user, login,
                                                                        anon_client, scalar):
    uid = user("agent", username="ava")
    mine, other, console = _signed_in_everywhere(app, login, "ava")
    refused = anon_client.post("/api/v1/auth/password", headers=bearer(mine), json={
        "current_password": "not-it", "new_password": NEW})
    assert refused.status_code == 422 and "current_password" in refused.json["errors"]
    assert _works(anon_client, mine) and _works(anon_client, other)
    assert not _console_signed_out(console)
    assert scalar(db.select(User.failed_logins).where(User.id == uid)) == 1
    assert login("ava", NEW).status_code == 401
    too_short = anon_client.post("/api/v1/auth/password", headers=bearer(mine), json={
        "current_password": TEST_PASSWORD, "new_password": "short"})
    assert too_short.status_code == 422 and "new_password" in too_short.json["errors"]
    assert login("ava").status_code == 200


def test_admin_change_ends_the_users_tokens_and_sessions_not_the_admins(app, user, login,
                                                                        client, anon_client):
    uid = user("dispatcher", username="tara")
    first, second, console = _signed_in_everywhere(app, login, "tara")
    patched = client.patch(f"/api/v1/users/{uid}", json={"password": NEW})
    assert patched.status_code == 200, patched.json
    assert not _works(anon_client, first) and not _works(anon_client, second)
    assert _console_signed_out(console)
    assert client.get("/api/v1/auth/me").status_code == 200  # the admin's own token
    assert login("tara", NEW).status_code == 200


def test_admin_changing_their_own_password_may_stay_signed_in(app, user, login, anon_client):
    uid = user("admin", username="adam")
    mine, other, console = _signed_in_everywhere(app, login, "adam")
    kept = anon_client.patch(f"/api/v1/users/{uid}", headers=bearer(mine),
                             json={"password": NEW, "keep_signed_in": True})
    assert kept.status_code == 200, kept.json
    assert _works(anon_client, mine) and not _works(anon_client, other)
    assert _console_signed_out(console)
    again = anon_client.patch(f"/api/v1/users/{uid}", headers=bearer(mine),
                              json={"password": TEST_PASSWORD})
    assert again.status_code == 200
    assert not _works(anon_client, mine)


def test_create_user_on_an_existing_name_sets_a_new_password_and_ends_sessions(
        app, user, login, anon_client, runner):
    user("dispatcher", username="dora")
    first, second, console = _signed_in_everywhere(app, login, "dora")
    result = runner.invoke(args=["create-user", "--username", "dora", "--password", NEW,
                                 "--role", "dispatcher"])
    assert result.exit_code == 0, result.output
    assert "password changed, 3 token(s)" in result.output
    assert not _works(anon_client, first) and not _works(anon_client, second)
    assert _console_signed_out(console)
    assert login("dora").status_code == 401
    fresh = login("dora", NEW)
    assert fresh.status_code == 200
    # Another role is refused: nothing changes.
    refused = runner.invoke(args=["create-user", "--username", "dora", "--password",
                                  "yet-another-one", "--role", "admin"])
    assert refused.exit_code != 0 and "role dispatcher" in refused.output
    assert _works(anon_client, fresh.json["access_token"])
    assert login("dora", NEW).status_code == 200


def _change_in_console(console, current: str, new: str, confirm: str | None = None,
                       stay: bool = True):
    from tests.access.test_console import csrf_from

    page = console.get("/console/password")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.data), "current_password": current,
            "new_password": new, "confirm": confirm or new}
    if stay:
        data["stay_signed_in"] = "y"
    return console.post("/console/password", data=data)


def test_console_change_keeps_this_session_and_ends_the_others(app, user, login,
                                                               anon_client):
    user("manager", username="mina")
    first, second, console = _signed_in_everywhere(app, login, "mina")
    other_console = app.test_client()
    assert sign_in(other_console, "mina").status_code == 302
    changed = _change_in_console(console, TEST_PASSWORD, NEW)
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/console")
    assert "3 other sessions" in console.get("/console").get_data(as_text=True)
    assert _console_signed_out(other_console)
    assert not _works(anon_client, first) and not _works(anon_client, second)
    assert login("mina", NEW).status_code == 200


def test_console_change_refuses_a_wrong_current_password_or_a_mismatch(app, user, login):
    user("agent", username="omid")
    _, _, console = _signed_in_everywhere(app, login, "omid")
    wrong = _change_in_console(console, "not-it", NEW)
    assert wrong.status_code == 422 and b"Wrong password" in wrong.data
    mismatch = _change_in_console(console, TEST_PASSWORD, NEW, confirm=NEW + "x")
    assert mismatch.status_code == 422 and b"differ" in mismatch.data
    assert login("omid", NEW).status_code == 401
    # Without staying signed in, this session ends too.
    out = _change_in_console(console, TEST_PASSWORD, NEW, stay=False)
    assert out.status_code == 302 and "/login" in out.headers["Location"]
    assert _console_signed_out(console)
    assert login("omid", NEW).status_code == 200
