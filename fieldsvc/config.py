"""Configuration read from the environment, with documented defaults."""

from __future__ import annotations

import os
from pathlib import Path

# The deployment's time zone when FIELDSVC_TIMEZONE is not set.
DEFAULT_TIMEZONE = "Asia/Tehran"

# Periodic jobs of `fieldsvc scheduler`: the setting of each and its default schedule (a
# cron line in the configured zone, a number of seconds, or "off").
SCHEDULE_DEFAULTS = {
    "FIELDSVC_SCHEDULE_PM_GENERATION": "3600",
    "FIELDSVC_SCHEDULE_SLA_WATCH": "60",
    "FIELDSVC_SCHEDULE_NIGHTLY_REPLAN": "0 22 * * *",
    "FIELDSVC_SCHEDULE_RMA_OVERDUE": "3600",
    "FIELDSVC_SCHEDULE_RUN_REAPER": "30",
    "FIELDSVC_SCHEDULE_RETENTION": "30 3 * * *",
    "FIELDSVC_SCHEDULE_NOTIFICATIONS": "30",
    # Outbox delivery when runs are not on Redis (with rq, `fieldsvc worker` delivers).
    "FIELDSVC_SCHEDULE_EVENT_DELIVERY": "2",
}

# Contact-center hours: the Iranian week, Saturday to Wednesday full days, Thursday
# mornings, Friday off; holidays are added as "; closed YYYY-MM-DD YYYY-MM-DD"
# (grammar in fieldsvc.services.interactions.parse_hours).
WORKING_HOURS = "sat-wed 07:30-18:00; thu 07:30-13:00"


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
KINDS = ("tokens", "pings", "changes", "idempotency", "audit", "run_payloads", "events",
         "links")
DEFAULT_DAYS = {"tokens": 7, "pings": 90, "changes": 30, "idempotency": 7, "audit": 730,
                "run_payloads": 90, "events": 30, "links": 30}
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


def process_role(default: str) -> str:
    """The role of this process (web, worker, scheduler, cli): FIELDSVC_PROCESS_ROLE, else
    `default` (each command knows its own)."""
    return os.environ.get("FIELDSVC_PROCESS_ROLE", default)


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables.

    The only place that reads the environment; every key here is documented in README.md
    ("Configuration").
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
        "DEFAULT_TIMEZONE": env.get("FIELDSVC_TIMEZONE") or DEFAULT_TIMEZONE,
        "MAX_CONTENT_LENGTH": int(env.get("FIELDSVC_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        "TOKEN_TTL_SECONDS": int(env.get("FIELDSVC_TOKEN_TTL", "3600")),
        "RUN_QUEUE": env.get("FIELDSVC_RUN_QUEUE", "thread"),
        # Empty: no Redis configured (the rq queue then uses redis://127.0.0.1:6379/0).
        "REDIS_URL": env.get("REDIS_URL", ""),
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
        "WORKING_HOURS": env.get("FIELDSVC_WORKING_HOURS", WORKING_HOURS),
        "SESSION_COOKIE_SECURE": _bool(env.get("FIELDSVC_SECURE_COOKIES"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        **_operations(env),
        **_notifications(env),
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Sign-in and rate limits (fieldsvc.auth).
        "LOGIN_MAX_FAILURES": int(env.get("FIELDSVC_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_SECONDS": int(env.get("FIELDSVC_LOGIN_LOCK_SECONDS", "900")),
        "CONSOLE_SESSION_TTL_SECONDS": int(env.get("FIELDSVC_CONSOLE_SESSION_TTL",
                                                   str(12 * 3600))),
        "RATELIMIT_ENABLED": env.get("FIELDSVC_RATELIMIT", "on").lower()
        not in {"0", "off", "false"},
        "TOKEN_RATE_LIMIT": env.get("FIELDSVC_TOKEN_RATE_LIMIT", "10/minute"),
        "WRITE_RATE_LIMIT": env.get("FIELDSVC_WRITE_RATE_LIMIT", "120/minute"),
        # Customer self-service (fieldsvc.selfservice): link lifetimes, the VIN lockout,
        # rate limits per address and per VIN, and the rules of a customer's own changes.
        # The customer-facing base URL (https://service.example.com): links in messages
        # sent by background jobs are built under it; empty: the request's own host.
        "PUBLIC_URL": env.get("FIELDSVC_PUBLIC_URL", ""),
        "SELF_SERVICE_TRACK_LINK_HOURS": int(env.get("FIELDSVC_SELF_SERVICE_TRACK_HOURS",
                                                     "72")),
        "SELF_SERVICE_RECALL_LINK_DAYS": int(env.get("FIELDSVC_SELF_SERVICE_RECALL_DAYS",
                                                     "30")),
        "SELF_SERVICE_MAX_FAILURES": int(env.get("FIELDSVC_SELF_SERVICE_MAX_FAILURES", "5")),
        "SELF_SERVICE_LOCK_SECONDS": int(env.get("FIELDSVC_SELF_SERVICE_LOCK_SECONDS",
                                                 "900")),
        "SELF_SERVICE_RATE_LIMIT": env.get("FIELDSVC_SELF_SERVICE_RATE_LIMIT", "30/minute"),
        "SELF_SERVICE_VIN_RATE_LIMIT": env.get("FIELDSVC_SELF_SERVICE_VIN_RATE_LIMIT",
                                               "10/hour"),
        "SELF_SERVICE_CHANGE_CUTOFF_HOURS": int(env.get("FIELDSVC_SELF_SERVICE_CUTOFF_HOURS",
                                                        "2")),
        "SELF_SERVICE_RESCHEDULE_DAYS": int(env.get("FIELDSVC_SELF_SERVICE_RESCHEDULE_DAYS",
                                                    "3")),
        # The scheduler process (scheduler.jobs, `fieldsvc scheduler`).
        "SCHEDULES": {name: env.get(name, default) for name, default in SCHEDULE_DEFAULTS.items()},
        "REPLAN_TIME_LIMIT": float(env.get("FIELDSVC_REPLAN_TIME_LIMIT", "60")),
        "SCHEDULER_RETRY_SECONDS": float(env.get("FIELDSVC_SCHEDULER_RETRY_SECONDS", "5")),
        **_events(env),
    }


def _events(env) -> dict:
    """The outbox's delivery and webhooks (fieldsvc.events)."""
    return {
        "EVENTS_MAX_ATTEMPTS": int(env.get("FIELDSVC_EVENTS_MAX_ATTEMPTS", "8")),
        "EVENTS_BACKOFF_SECONDS": float(env.get("FIELDSVC_EVENTS_BACKOFF_SECONDS", "10")),
        "EVENTS_BACKOFF_MAX_SECONDS": float(env.get("FIELDSVC_EVENTS_BACKOFF_MAX_SECONDS",
                                                    "3600")),
        "EVENTS_BATCH_SIZE": int(env.get("FIELDSVC_EVENTS_BATCH_SIZE", "200")),
        "EVENTS_CONCURRENCY": int(env.get("FIELDSVC_EVENTS_CONCURRENCY", "16")),
        # A batch's sends must end well within the idle-in-transaction timeouts (120 s for
        # the scheduler): the claimed rows stay locked while they are out.
        "EVENTS_BATCH_SECONDS": float(env.get("FIELDSVC_EVENTS_BATCH_SECONDS", "60")),
        "EVENTS_POLL_SECONDS": float(env.get("FIELDSVC_EVENTS_POLL_SECONDS", "1")),
        "EVENTS_ETA_MINUTES": int(env.get("FIELDSVC_EVENTS_ETA_MINUTES", "15")),
        "WEBHOOK_TIMEOUT_SECONDS": float(env.get("FIELDSVC_WEBHOOK_TIMEOUT_SECONDS", "10")),
        "WEBHOOK_ALLOW_PRIVATE": _bool(env.get("FIELDSVC_WEBHOOK_ALLOW_PRIVATE"), False),
    }


def _notifications(env) -> dict:
    """Customer messages (fieldsvc.notify): where they go out, when not, how often retried."""
    return {
        # E-mail: an SMTP server (none: no e-mail is queued).
        "SMTP_HOST": env.get("FIELDSVC_SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("FIELDSVC_SMTP_PORT", "25")),
        "SMTP_USERNAME": env.get("FIELDSVC_SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("FIELDSVC_SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("FIELDSVC_SMTP_STARTTLS"), False),
        "NOTIFY_FROM": env.get("FIELDSVC_NOTIFY_FROM", "fieldsvc@localhost"),
        # SMS: the provider's HTTP endpoint taking {"to", "from", "text"} (none: no SMS).
        "SMS_URL": env.get("FIELDSVC_SMS_URL", ""),
        "SMS_TOKEN": env.get("FIELDSVC_SMS_TOKEN", ""),
        "SMS_SENDER": env.get("FIELDSVC_SMS_SENDER", ""),
        # Local hours of the customer's place when nothing is sent ("" for none); messages
        # queued then wait for the end, "technician en route" is dropped.
        "NOTIFY_QUIET_HOURS": env.get("FIELDSVC_NOTIFY_QUIET_HOURS", "21:00-08:00"),
        "NOTIFY_DEFAULT_LANGUAGE": env.get("FIELDSVC_NOTIFY_LANGUAGE", "fa"),
        "NOTIFY_MAX_ATTEMPTS": int(env.get("FIELDSVC_NOTIFY_MAX_ATTEMPTS", "6")),
        # An advance exchange's customer is reminded this many days before the return deadline.
        "NOTIFY_RETURN_REMINDER_DAYS": int(env.get("FIELDSVC_NOTIFY_RETURN_REMINDER_DAYS", "3")),
    }


def _operations(env) -> dict:
    """Settings of running it on several machines: metrics, logs, health, shared state."""
    return {
        # /metrics: "off", or on; with a token, only `Authorization: Bearer <token>` may
        # read it, without one only clients on this machine (loopback) may.
        "METRICS_ENABLED": _bool(env.get("FIELDSVC_METRICS"), True),
        "METRICS_TOKEN": env.get("FIELDSVC_METRICS_TOKEN", ""),
        # `fieldsvc worker` and `fieldsvc scheduler` serve their own /metrics on this port
        # (0: not at all; on one machine they share PROMETHEUS_MULTIPROC_DIR instead).
        "METRICS_PORT": int(env.get("FIELDSVC_METRICS_PORT", "0")),
        "LOG_FORMAT": env.get("FIELDSVC_LOG_FORMAT", "json"),
        "LOG_LEVEL": env.get("FIELDSVC_LOG_LEVEL", "INFO").upper(),
        # Which /readyz checks answer 503 when they fail (the others are only reported).
        "READYZ_CHECKS": env.get("FIELDSVC_READYZ_CHECKS",
                                 "database,migrations,redis,scheduler,workers"),
        # A lost database connection that cannot be retried answers 503 with this Retry-After.
        "DB_RETRY_AFTER_SECONDS": int(env.get("FIELDSVC_DB_RETRY_AFTER", "2")),
        # A running run is failed this long after its own time limit (its worker died); a
        # queued one that no worker took this long after it was requested.
        "RUN_GRACE_SECONDS": int(env.get("FIELDSVC_RUN_GRACE_SECONDS", "300")),
        "RUN_QUEUED_TIMEOUT_SECONDS": int(env.get("FIELDSVC_RUN_QUEUED_TIMEOUT", "3600")),
        # Rate-limit counters: the explicit URI, else Redis when REDIS_URL is set, else memory.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI")
        or env.get("REDIS_URL") or "memory://",
        # Allow per-process (memory://) limits under several gunicorn workers anyway.
        "RATELIMIT_PER_PROCESS_OK": _bool(env.get("FIELDSVC_RATELIMIT_PER_PROCESS"), False),
        # Uploads: "local" (instance/uploads or FIELDSVC_UPLOAD_DIR) or "s3" (the bucket
        # below, on AWS or any S3-compatible server; credentials from the usual AWS_*).
        "STORAGE": env.get("FIELDSVC_STORAGE", "local"),
        "MOBILE_UPLOAD_DIR": env.get("FIELDSVC_UPLOAD_DIR", ""),
        "S3_BUCKET": env.get("FIELDSVC_S3_BUCKET", ""),
        "S3_PREFIX": env.get("FIELDSVC_S3_PREFIX", "uploads/"),
        "S3_ENDPOINT_URL": env.get("FIELDSVC_S3_ENDPOINT_URL", ""),
        "S3_REGION": env.get("FIELDSVC_S3_REGION", "us-east-1"),
    }
