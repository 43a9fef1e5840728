"""Idempotency-Key: a phone replaying its offline queue never applies a write twice.

A key is unique per technician in the database (`mobile_idempotency_key`), so the rule
holds across processes and machines. The first request with a key *claims* it (state
`in_progress`); its answer is stored with the key (state `done`) and every replay gets that
answer back without running anything. The same key with another request (method, path or
body) is a 422; a key whose first request is still running is a 409.

Direct endpoints claim on a separate connection that commits at once, so a concurrent
request with the same key sees the claim and gets its 409; the stored answer of a
successful write is committed in the same transaction as the write itself. A claim whose
request died (a killed worker) is taken over after `LOCK_SECONDS`.

Sync batches claim inside the request's own transaction (a savepoint per action), so a
batch is applied and remembered together.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fieldsvc.models.base import utcnow
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.sql import insert_ignore
from mobile_api.models import IdempotencyKey

HEADER = "Idempotency-Key"
IN_PROGRESS, DONE = "in_progress", "done"
# A claim older than this whose request never finished is considered abandoned.
LOCK_SECONDS = 60
# Keys (and their answers) are kept at least this long; `fieldsvc mobile purge-keys` drops
# older ones.
KEEP_DAYS = 7
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")

table = IdempotencyKey.__table__


@dataclass(frozen=True)
class Stored:
    """An answer remembered under a key."""

    status: int
    body: dict[str, Any] | list | None
    etag: str | None


@dataclass(frozen=True)
class Claim:
    id: int | None = None  # the claimed row, when this request runs the write
    replay: Stored | None = None  # the first answer, when this is a replay


def check_key(key: str, field: str = HEADER) -> str:
    if not _KEY_RE.match(key):
        raise InvalidInput({field: ["1-200 printable ASCII characters without spaces, e.g. "
                                    "a UUID the phone made for this action."]})
    return key


def canonical(body: Any) -> bytes:
    """The body as bytes that do not depend on key order or spacing."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def fingerprint(method: str, path: str, payload: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\n", path.encode(), b"\n", payload):
        digest.update(part)
    return digest.hexdigest()


def _insert_ignoring_conflict(dialect: str, values: dict[str, Any]):
    return insert_ignore(dialect, table, values, index_elements=["technician_id", "key"])


def _decide(conn, row, method: str, path: str, fp: str, now) -> Claim:
    """Given the existing row for a key: replay it, refuse, or take over an abandoned claim."""
    if (row.method, row.path, row.fingerprint) != (method.upper(), path, fp):
        raise InvalidInput(
            {HEADER: [f"This key was already used for another request ({row.method} "
                      f"{row.path} with a different body). Use a new key for a new action."]},
            detail="Idempotency-Key reused with a different request.")
    if row.state == DONE:
        return Claim(replay=Stored(row.response_status, row.response_body, row.response_etag))
    if row.created_at < now - timedelta(seconds=LOCK_SECONDS):
        taken = conn.execute(update(table).where(
            table.c.id == row.id, table.c.state == IN_PROGRESS,
            table.c.created_at == row.created_at).values(created_at=now)).rowcount
        if taken == 1:
            return Claim(id=row.id)
    raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.",
                   slug="idempotency-in-progress", title="Request in progress",
                   headers={"Retry-After": "1"})


def _claim_on(conn, technician_id: int, key: str, method: str, path: str, fp: str) -> Claim:
    now = utcnow()
    values = {"technician_id": technician_id, "key": key, "method": method.upper(),
              "path": path, "fingerprint": fp, "state": IN_PROGRESS, "created_at": now}
    inserted = conn.execute(
        _insert_ignoring_conflict(conn.dialect.name, values).returning(table.c.id)).first()
    if inserted is not None:
        return Claim(id=inserted.id)
    row = conn.execute(select(table).where(table.c.technician_id == technician_id,
                                           table.c.key == key)).one()
    return _decide(conn, row, method, path, fp, now)


def claim(engine, technician_id: int, key: str, method: str, path: str, fp: str) -> Claim:
    """Claim `key` on a separate, immediately committed connection."""
    with engine.begin() as conn:
        return _claim_on(conn, technician_id, key, method, path, fp)


def claim_in_session(session: Session, technician_id: int, key: str, method: str, path: str,
                     fp: str) -> Claim:
    """Claim `key` inside the session's transaction (used by sync, action by action)."""
    with session.begin_nested():
        return _claim_on(session.connection(), technician_id, key, method, path, fp)


def _done(claim_id: int, stored: Stored):
    return update(table).where(table.c.id == claim_id).values(
        state=DONE, response_status=stored.status, response_body=stored.body,
        response_etag=stored.etag, completed_at=utcnow())


def finish_in_session(session: Session, claim_id: int, stored: Stored) -> None:
    """Remember the answer in the same transaction as the write it answers."""
    session.execute(_done(claim_id, stored))


def finish(engine, claim_id: int, stored: Stored) -> None:
    """Remember an answer whose request changed nothing (a refusal), on its own."""
    with engine.begin() as conn:
        conn.execute(_done(claim_id, stored))


def release(engine, claim_id: int) -> None:
    """Forget a claim whose request failed unexpectedly, so the phone may retry."""
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.id == claim_id, table.c.state == IN_PROGRESS))


def forget_in_session(session: Session, claim_id: int) -> None:
    """Drop a claim inside the session's transaction: its request is to be judged again."""
    session.execute(delete(table).where(table.c.id == claim_id))


def purge(session: Session, keep_days: int = KEEP_DAYS) -> int:
    """Delete keys older than `keep_days` (never fewer than KEEP_DAYS); return how many."""
    cutoff = utcnow() - timedelta(days=max(keep_days, KEEP_DAYS))
    return session.execute(delete(table).where(table.c.created_at < cutoff)).rowcount
