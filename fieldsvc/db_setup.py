"""Per-connection settings that make SQLite behave like a real database, and the pool's
guard against connections that died while they sat idle."""

from __future__ import annotations

import select
import sqlite3
import time

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

# Instead of pool_pre_ping (a round trip on every checkout, i.e. every request), a pooled
# connection is checked without talking to the server: an idle connection has nothing to
# read unless the server ended it (restart, pg_terminate_backend, idle timeout: it sends a
# FATAL message and closes), so a readable socket means dead and the pool connects again.
# A connection idle for longer than this is also tried with a round trip, for paths that
# die silently. What is left (a connection that dies unannounced, between two requests
# close together) fails its first statement; API requests retry it once on a new
# connection (fieldsvc.transaction.first_statement).
PING_AFTER_IDLE_SECONDS = 10.0
_CHECKED_IN = "fieldsvc_checked_in_at"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Concurrent readers with one writer; writers wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@event.listens_for(Pool, "checkin")
def _note_checkin(dbapi_connection, connection_record) -> None:
    if connection_record is not None:
        connection_record.info[_CHECKED_IN] = time.monotonic()


def _ended_by_server(dbapi_connection) -> bool:
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None or isinstance(dbapi_connection, sqlite3.Connection):
        return False
    try:
        readable, _, _ = select.select([fileno()], [], [], 0)
    except (OSError, ValueError):  # closed already
        return True
    return bool(readable)


@event.listens_for(Pool, "checkout")
def _check_pooled(dbapi_connection, connection_record, connection_proxy) -> None:
    since = connection_record.info.get(_CHECKED_IN)
    if since is None:  # just connected
        return
    if _ended_by_server(dbapi_connection):
        raise DisconnectionError("the server ended this pooled connection")
    if time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # end the transaction the driver may have opened
    except Exception as exc:  # any failure: the pool drops it and connects again
        raise DisconnectionError(f"pooled connection failed its idle check: {exc}") from exc


TIMEOUT_SETTINGS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")


def role_timeouts(app) -> dict[str, int]:
    """The PostgreSQL timeouts of this process's role (`PROCESS_ROLE`), in milliseconds."""
    role = app.config.get("PROCESS_ROLE", "web")
    timeouts = app.config.get("DB_TIMEOUTS") or {}
    if role not in timeouts:
        raise RuntimeError(f"FIELDSVC_PROCESS_ROLE={role!r}: use one of "
                           f"{', '.join(sorted(timeouts))}.")
    return timeouts[role]


def install_timeouts(app, engine: Engine) -> None:
    """Give every new PostgreSQL connection of `engine` the timeouts of the process's role.

    The role is read when the connection opens, so `set_role` followed by a pool dispose
    takes effect at once.
    """
    if engine.dialect.name != "postgresql":
        return
    role_timeouts(app)  # fail at start on an unknown role, not on the first query

    @event.listens_for(engine, "connect")
    def _set_timeouts(dbapi_connection, connection_record) -> None:
        settings = role_timeouts(app)
        cursor = dbapi_connection.cursor()
        for name in TIMEOUT_SETTINGS:
            cursor.execute(f"SET {name} = {int(settings[name])}")
        cursor.close()
        dbapi_connection.commit()


def set_role(app, role: str) -> None:
    """Switch this process to `role` (worker, scheduler...): new timeouts on every connection."""
    from fieldsvc.extensions import db

    app.config["PROCESS_ROLE"] = role
    role_timeouts(app)
    with app.app_context():
        db.engine.dispose()


def session_timeouts(connection) -> dict[str, str]:
    """The timeouts a connection runs with, as PostgreSQL shows them."""
    return {name: connection.execute(text(f"SHOW {name}")).scalar() for name in TIMEOUT_SETTINGS}
