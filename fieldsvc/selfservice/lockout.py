"""Lockout after repeated wrong phone digits, counted per VIN.

Wrong answers are counted for every VIN tried, whether it exists or not, so a lockout says
nothing about which VINs are known. The count is written in a transaction of its own and
committed at once: the request itself answers 4xx and rolls its own work back, and the
count must survive that. After SELF_SERVICE_MAX_FAILURES wrong answers the VIN is locked
for SELF_SERVICE_LOCK_SECONDS; a right answer clears the count.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import Table, case, select, update

from fieldsvc.extensions import db
from fieldsvc.models import utcnow
from fieldsvc.selfservice.models import SelfServiceLock
from fieldsvc.sql import insert_ignore

LOCKS = cast(Table, SelfServiceLock.__table__)


def key_of(vin: str) -> str:
    """The VIN's key in the lock table: a digest, so the table lists no VINs."""
    secret = current_app.config["SECRET_KEY"].encode()
    return "vin:" + hashlib.blake2b(vin.encode(), key=secret[:64], digest_size=20).hexdigest()


def locked_until(vin: str, now: datetime | None = None) -> datetime | None:
    """When the VIN's lock ends, or None when it is not locked."""
    now = now or utcnow()
    with db.engine.connect() as conn:
        until = conn.scalar(select(LOCKS.c.locked_until).where(LOCKS.c.key == key_of(vin)))
    if until is None:
        return None
    until = until if until.tzinfo else until.replace(tzinfo=now.tzinfo)
    return until if until > now else None


def record_failure(vin: str, now: datetime | None = None) -> bool:
    """Count one wrong answer for the VIN (committed now); True when that locks it."""
    now = now or utcnow()
    limit = current_app.config["SELF_SERVICE_MAX_FAILURES"]
    until = now + timedelta(seconds=current_app.config["SELF_SERVICE_LOCK_SECONDS"])
    key = key_of(vin)
    with db.engine.begin() as conn:
        conn.execute(
            insert_ignore(
                conn.dialect.name,
                LOCKS,
                {"key": key, "failures": 0, "locked_until": None},
                index_elements=["key"],
            )
        )
        reached = LOCKS.c.failures + 1 >= limit
        conn.execute(
            update(LOCKS)
            .where(LOCKS.c.key == key)
            .values(
                failures=case((reached, 0), else_=LOCKS.c.failures + 1),
                locked_until=case((reached, until), else_=LOCKS.c.locked_until),
            )
        )
        now_until = conn.scalar(select(LOCKS.c.locked_until).where(LOCKS.c.key == key))
    if now_until is None:
        return False
    now_until = now_until if now_until.tzinfo else now_until.replace(tzinfo=now.tzinfo)
    return now_until >= until


def clear(vin: str) -> None:
    """A right answer: forget the wrong ones before it."""
    with db.engine.begin() as conn:
        conn.execute(
            update(LOCKS).where(LOCKS.c.key == key_of(vin), LOCKS.c.failures > 0).values(failures=0)
        )
