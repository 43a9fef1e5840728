"""Rate limits (Flask-Limiter): login attempts per address and username, writes per token.

Counters live in Redis when REDIS_URL (or RATELIMIT_STORAGE_URI=redis://...) is set, so
every app server and worker of a deployment counts the same limit; else in this process's
memory, which the gunicorn config refuses for several workers (fieldsvc.ops.shared_state).
When that storage does not answer, the limiter logs a warning and counts in this process's
memory until it answers again: logins and API writes go on (limited per process), never a 500.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from fieldsvc.auth.tokens import digest
from fieldsvc.errors import problem_response
from fieldsvc.problems import Problem

TOKEN_PATH = "/api/v1/auth/token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer_from_header() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def client_key() -> str:
    """Writes are counted per token; requests without one per address."""
    raw = bearer_from_header()
    if raw:
        return "token:" + digest(raw)[:32]
    return "ip:" + (request.remote_addr or "unknown")


def login_key() -> str:
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    name = username.strip().lower()[:80] if isinstance(username, str) else ""
    return f"login:{request.remote_addr or 'unknown'}:{name}"


def _not_an_api_write() -> bool:
    return (request.method in SAFE_METHODS or not request.path.startswith("/api/")
            or request.path == TOKEN_PATH)


def token_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


def install_limiter(app: Flask) -> Limiter:
    """One Limiter per app (its settings live on the instance, so apps must not share it)."""
    limiter = Limiter(
        key_func=client_key,
        application_limits=[lambda: current_app.config["WRITE_RATE_LIMIT"]],
        application_limits_exempt_when=_not_an_api_write,
        headers_enabled=True,
        # Shared storage down (Redis restarting): keep limiting, per process, with a warning
        # ("Rate limit storage unreachable - falling back to in-memory storage"); the
        # limiter tries the storage again with a growing back-off. An error the fallback
        # does not cover is logged and the request goes on unlimited.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    # Reads are never limited (the write limit exempts them, the login limit is on a POST):
    # say so first, so a GET skips the limiter's per-request evaluation altogether.
    limiter.request_filter(lambda: request.method in SAFE_METHODS)
    app.extensions["fieldsvc_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, rate_limited)
    return limiter


def limit_login(app: Flask, endpoint: str) -> None:
    """Put the login limit (per address and username) on the token view."""
    limiter: Limiter = app.extensions["fieldsvc_limiter"]
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = limiter.limit(token_limit, key_func=login_key)(view)


def rate_limited(exc: RateLimitExceeded):
    """429 as problem+json, with Retry-After in seconds."""
    current = current_app.extensions["fieldsvc_limiter"].current_limit
    retry = max(1, int(current.reset_at - time.time())) if current else 60
    problem = Problem(
        f"Too many requests ({exc.description}); retry in {retry} s.",
        status=429, title="Too many requests", slug="rate-limited",
        headers={"Retry-After": str(retry)},
    )
    return problem_response(problem)
