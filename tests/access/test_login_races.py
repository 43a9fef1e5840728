"""The lockout under concurrency: real threads, each its own request, session and connection."""

from __future__ import annotations

import threading
import time

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, User
from tests.conftest import TEST_PASSWORD

WRONG = "wrong-password"


def _attempts(app, username: str, passwords: list[str], barrier=None) -> list[threading.Thread]:
    """Threads that each POST one password to /api/v1/auth/token; statuses land in `.status`."""
    threads = []
    for password in passwords:
        def run(thread, password=password):
            client = app.test_client()
            if barrier is not None:
                barrier.wait(timeout=30)
            thread.status = client.post("/api/v1/auth/token", json={
                "username": username, "password": password}).status_code

        thread = threading.Thread()
        thread.status = None
        thread.run = lambda thread=thread, run=run: run(thread)
        threads.append(thread)
    return threads


def _run(threads) -> list[int]:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [t.status for t in threads]


def test_twenty_concurrent_wrong_passwords_lock_the_account(app, user, login, scalar):
    uid = user("dispatcher", username="dara")
    attempts = _attempts(app, "dara", [WRONG] * 20, threading.Barrier(20))
    assert _run(attempts) == [401] * 20
    # Sequentially five wrong passwords lock; twenty at once must lock as well.
    assert scalar(db.select(User.locked_until).where(User.id == uid)) is not None
    right = login("dara")
    assert right.status_code == 401
    # The same answer as ever (each answer names its own request id).
    assert ({**right.json, "request_id": None}
            == {**login("nobody-at-all", WRONG).json, "request_id": None})
    assert scalar(db.select(db.func.count(AuditEntry.id)).where(
        AuditEntry.action == "lockout", AuditEntry.entity_id == str(uid))) == 1
    assert scalar(db.select(db.func.count(AuditEntry.id)).where(
        AuditEntry.action == "login")) == 0


def test_right_password_as_sixth_of_eight_concurrent_guesses_is_refused(app, user, login,
                                                                       scalar):
    uid = user("agent", username="ali")
    first = _attempts(app, "ali", [WRONG] * 5, threading.Barrier(5))
    rest = _attempts(app, "ali", [TEST_PASSWORD, WRONG, WRONG], threading.Barrier(3))
    for t in first:
        t.start()
    # The next three go once the first five are counted (they may still be in flight):
    # the right password is the sixth guess, past the allowance of five.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        failed, locked = (scalar(db.select(User.failed_logins).where(User.id == uid)),
                          scalar(db.select(User.locked_until).where(User.id == uid)))
        if failed >= 5 or locked is not None:
            break
        time.sleep(0.002)
    statuses = _run(rest)
    for t in first:
        t.join(timeout=120)
    assert [t.status for t in first] == [401] * 5
    assert statuses == [401, 401, 401]
    assert scalar(db.select(User.locked_until).where(User.id == uid)) is not None
    assert login("ali").status_code == 401
    assert scalar(db.select(db.func.count(AuditEntry.id)).where(
        AuditEntry.action == "login")) == 0


def test_concurrent_right_passwords_all_sign_in(app, user, scalar):
    """Counting attempts before checking them does not refuse a user's parallel logins."""
    uid = user("dispatcher", username="dina")
    attempts = _attempts(app, "dina", [TEST_PASSWORD] * 4, threading.Barrier(4))
    assert _run(attempts) == [200] * 4
    assert scalar(db.select(User.failed_logins).where(User.id == uid)) == 0
    assert scalar(db.select(User.locked_until).where(User.id == uid)) is None
