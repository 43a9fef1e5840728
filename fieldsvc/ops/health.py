"""Readiness: may a load balancer send this app server requests?

Each check answers ok or what is wrong; `FIELDSVC_READYZ_CHECKS` names the checks whose
failure makes /readyz answer 503 (the others are reported only). Checks of things the
deployment does not use (Redis, workers without FIELDSVC_RUN_QUEUE=rq) are skipped.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from fieldsvc.extensions import db

OK = "ok"
SKIPPED = "skipped"


def _database(app: Flask) -> tuple[str, str]:
    db.session.execute(text("SELECT 1"))
    return OK, "answers"


def migration_heads(app: Flask) -> set[str]:
    heads = app.extensions.get("fieldsvc_migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        from fieldsvc import PACKAGE_DIR

        config = app.extensions["migrate"].migrate.get_config(str(PACKAGE_DIR / "migrations"))
        heads = set(ScriptDirectory.from_config(config).get_heads())
        app.extensions["fieldsvc_migration_heads"] = heads
    return heads


def _migrations(app: Flask) -> tuple[str, str]:
    current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    heads = migration_heads(app)
    if current == heads:
        return OK, "at " + ", ".join(sorted(heads))
    return "fail", (f"database at {', '.join(sorted(current)) or 'no revision'}, code at "
                    f"{', '.join(sorted(heads))}: run `fieldsvc db upgrade`")


def uses_redis(app: Flask) -> bool:
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "")
    return app.config.get("RUN_QUEUE") == "rq" or storage.startswith(("redis", "rediss"))


def _redis_urls(app: Flask) -> list[str]:
    from fieldsvc.dispatch.queue import redis_url

    urls = []
    if app.config.get("RUN_QUEUE") == "rq":
        urls.append(redis_url(app))
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "")
    if storage.startswith(("redis://", "rediss://")) and storage not in urls:
        urls.append(storage)
    return urls


def _redis(app: Flask) -> tuple[str, str]:
    urls = _redis_urls(app)
    if not urls:
        return SKIPPED, "not configured"
    from redis import Redis

    for url in urls:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    return OK, "answers"


def _scheduler(app: Flask) -> tuple[str, str]:
    from scheduler.jobs import ADVISORY_KEY, SchedulerLock

    lock = SchedulerLock(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    if lock.is_postgresql:
        # The active scheduler holds this session-level advisory lock on its own connection:
        # a bigint key is kept as classid (high 32 bits) and objid (low 32 bits).
        holder = db.session.scalar(text(
            "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.objsubid = 1 AND l.classid::bigint = :high AND l.objid::bigint = :low "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ), {"high": ADVISORY_KEY >> 32, "low": ADVISORY_KEY & 0xFFFF_FFFF})
        if holder is None:
            return "fail", "no active scheduler holds the lock"
        return OK, f"active (database backend {holder})"
    path: Path = lock.lock_path()
    if not path.exists():
        return "fail", "no scheduler has run here"
    with open(path) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return OK, f"active (pid {handle.read().strip() or '?'})"
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return "fail", "no active scheduler holds the lock"


def _workers(app: Flask) -> tuple[str, str]:
    if app.config.get("RUN_QUEUE") != "rq":
        return SKIPPED, f"runs execute in the app ({app.config.get('RUN_QUEUE')})"
    from redis import Redis
    from rq import Queue, Worker

    from fieldsvc.dispatch.queue import redis_url, rq_queue_name

    connection = Redis.from_url(redis_url(app), socket_connect_timeout=1, socket_timeout=1)
    queue = Queue(rq_queue_name(app), connection=connection)
    # A worker's registration expires unless it heartbeats; what is listed is alive.
    count = len(Worker.all(queue=queue))
    if count == 0:
        return "fail", f"no worker takes runs from queue {queue.name}"
    return OK, f"{count} worker(s) on queue {queue.name}"


CHECKS: dict[str, Callable[[Flask], tuple[str, str]]] = {
    "database": _database,
    "migrations": _migrations,
    "redis": _redis,
    "scheduler": _scheduler,
    "workers": _workers,
}


def required(app: Flask) -> set[str]:
    return {c.strip() for c in str(app.config.get("READYZ_CHECKS", "")).split(",")
            if c.strip()}


def readiness(app: Flask) -> tuple[bool, dict[str, dict[str, str]]]:
    """Run every check; ready when no required check failed."""
    must = required(app)
    results: dict[str, dict[str, str]] = {}
    ready = True
    for name, check in CHECKS.items():
        if name == "migrations" and results["database"]["status"] != OK:
            results[name] = {"status": SKIPPED, "detail": "database does not answer",
                             "required": "yes" if name in must else "no"}
            continue
        try:
            status, detail = check(app)
        except Exception as exc:  # a check that raises failed: say how, go on with the next
            db.session.rollback()
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
            status, detail = "fail", f"{type(exc).__name__}: {reason[0][:300]}"
        results[name] = {"status": status, "detail": detail,
                         "required": "yes" if name in must else "no"}
        if status == "fail" and name in must:
            ready = False
    return ready, results
