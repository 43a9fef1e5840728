"""Configuration read from the environment, with documented defaults."""

from __future__ import annotations

import os
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# PostgreSQL timeouts per role of process, in milliseconds (0 = none). A web request must
# answer within gunicorn's 30 s; a worker stores large plans; the scheduler's jobs commit in
# batches, so none of its statements or transactions should last long. The migrations and
# one-shot commands ("cli") wait on locks but are never cut short.
DB_TIMEOUT_DEFAULTS = {
    "web": {"statement_timeout": 30_000, "lock_timeout": 10_000,
            "idle_in_transaction_session_timeout": 60_000},
    "worker": {"statement_timeout": 300_000, "lock_timeout": 30_000,
               "idle_in_transaction_session_timeout": 600_000},
    "scheduler": {"statement_timeout": 60_000, "lock_timeout": 10_000,
                  "idle_in_transaction_session_timeout": 120_000},
    "cli": {"statement_timeout": 0, "lock_timeout": 60_000,
            "idle_in_transaction_session_timeout": 0},
}
PROCESS_ROLES = tuple(DB_TIMEOUT_DEFAULTS)


def db_timeouts(env) -> dict[str, dict[str, int]]:
    """The timeouts of every role; FIELDSVC_DB_<SETTING>_<ROLE> (milliseconds) overrides one,
    e.g. FIELDSVC_DB_STATEMENT_TIMEOUT_WEB=15000."""
    return {
        role: {name: int(env.get(f"FIELDSVC_DB_{name.upper()}_{role.upper()}", default))
               for name, default in settings.items()}
        for role, settings in DB_TIMEOUT_DEFAULTS.items()
    }


# Kinds of expiring rows (fieldsvc.services.retention) and their default days.
KINDS = ("tokens", "pings", "changes", "idempotency", "audit", "run_payloads")
DEFAULT_DAYS = {"tokens": 7, "pings": 90, "changes": 30, "idempotency": 7, "audit": 730,
                "run_payloads": 90}
MINIMUM_DAYS = {"idempotency": 7}  # a phone may retry a write for a week


def retention_days(env) -> dict[str, int]:
    """Days per kind from FIELDSVC_RETENTION_<KIND>_DAYS (0 = keep forever)."""
    days = {}
    for kind in KINDS:
        value = int(env.get(f"FIELDSVC_RETENTION_{kind.upper()}_DAYS", DEFAULT_DAYS[kind]))
        if value < 0:
            raise ValueError(f"FIELDSVC_RETENTION_{kind.upper()}_DAYS must be 0 or more")
        days[kind] = max(value, MINIMUM_DAYS.get(kind, 0)) if value else 0
    return days


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables.

    Every key here is documented in README.md ("Configuration").
    """
    env = os.environ
    default_db = "sqlite:///" + str(Path(instance_path) / "fieldsvc.sqlite3")
    return {
        "SECRET_KEY": env.get("SECRET_KEY", "dev-insecure-change-me"),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(env.get("DATABASE_URL", default_db)),
        # No pre-ping: fieldsvc.db_setup checks connections that sat idle instead.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # web (gunicorn, `fieldsvc serve`), worker, scheduler or cli: chooses DB_TIMEOUTS.
        "PROCESS_ROLE": env.get("FIELDSVC_PROCESS_ROLE", "web"),
        "DB_TIMEOUTS": db_timeouts(env),
        # Proxies in front of the app whose X-Forwarded-* headers are believed (0: none).
        "TRUSTED_PROXIES": int(env.get("FIELDSVC_TRUSTED_PROXIES", "0")),
        "API_MAX_PER_PAGE": int(env.get("FIELDSVC_MAX_PER_PAGE", "200")),
        "API_DEFAULT_PER_PAGE": int(env.get("FIELDSVC_DEFAULT_PER_PAGE", "50")),
        "DEFAULT_TIMEZONE": env.get("FIELDSVC_TIMEZONE", "Asia/Tehran"),
        "MAX_CONTENT_LENGTH": int(env.get("FIELDSVC_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        "TOKEN_TTL_SECONDS": int(env.get("FIELDSVC_TOKEN_TTL", "3600")),
        "RUN_QUEUE": env.get("FIELDSVC_RUN_QUEUE", "thread"),
        "REDIS_URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RQ_QUEUE": env.get("FIELDSVC_RQ_QUEUE", "fieldsvc-runs"),
        "SLA_RISK_MINUTES": int(env.get("FIELDSVC_SLA_RISK_MINUTES", "60")),
        "JOB_TIME_BUDGET_SECONDS": float(env.get("FIELDSVC_JOB_TIME_BUDGET", "30")),
        "JOB_BATCH_SIZE": int(env.get("FIELDSVC_JOB_BATCH_SIZE", "200")),
        # Days each kind of expiring row is kept (fieldsvc.services.retention; 0 = forever).
        "RETENTION_DAYS": retention_days(env),
        "RMA_RETURN_DAYS": int(env.get("FIELDSVC_RMA_RETURN_DAYS", "15")),
        "MOBILE_MAX_UPLOAD_BYTES": int(env.get("FIELDSVC_MOBILE_MAX_UPLOAD_BYTES",
                                               str(5 * 1024 * 1024))),
        "MOBILE_DAY_CACHE_SIZE": int(env.get("FIELDSVC_MOBILE_DAY_CACHE_SIZE", "4096")),
        "TILE_URL": env.get("FIELDSVC_TILE_URL", ""),
        "WORKING_HOURS": env.get("FIELDSVC_WORKING_HOURS", "07:30-18:00"),
        "SESSION_COOKIE_SECURE": _bool(env.get("FIELDSVC_SECURE_COOKIES"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }
