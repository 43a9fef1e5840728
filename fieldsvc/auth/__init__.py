"""Identity and access: API tokens, console sessions, the policy matrix, rate limits.

`init_app` installs the request gate (authentication + authorization, see guard.py) and
must run before the request transaction binds the actor; `register_api` adds the auth
endpoints and the bearer security scheme to the OpenAPI document.
"""

from __future__ import annotations

import os

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # The API docs page carries its own <style>; no inline script is allowed anywhere.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _defaults(app: Flask) -> None:
    env = os.environ
    cfg = app.config
    cfg.setdefault("LOGIN_MAX_FAILURES", int(env.get("FIELDSVC_LOGIN_MAX_FAILURES", "5")))
    cfg.setdefault("LOGIN_LOCK_SECONDS", int(env.get("FIELDSVC_LOGIN_LOCK_SECONDS", "900")))
    cfg.setdefault("CONSOLE_SESSION_TTL_SECONDS",
                   int(env.get("FIELDSVC_CONSOLE_SESSION_TTL", str(12 * 3600))))
    cfg.setdefault("RATELIMIT_ENABLED",
                   env.get("FIELDSVC_RATELIMIT", "on").lower() not in {"0", "off", "false"})
    cfg.setdefault("TOKEN_RATE_LIMIT", env.get("FIELDSVC_TOKEN_RATE_LIMIT", "10/minute"))
    cfg.setdefault("WRITE_RATE_LIMIT", env.get("FIELDSVC_WRITE_RATE_LIMIT", "120/minute"))
    # CSRF is checked by the gate for console forms only: the API takes no cookies.
    cfg.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    cfg.setdefault("WTF_CSRF_TIME_LIMIT", None)
    cfg.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    cfg.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    cfg.setdefault("REMEMBER_COOKIE_SECURE", cfg.get("SESSION_COOKIE_SECURE", False))


def init_app(app: Flask) -> None:
    from fieldsvc.auth import guard
    from fieldsvc.auth.limits import install_limiter
    from fieldsvc.auth.session import login_manager

    _defaults(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    install_limiter(app)
    guard.install(app, csrf)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def register_api(app: Flask) -> None:
    from fieldsvc.auth.api import auth_blp, erasure_blp
    from fieldsvc.auth.limits import limit_login

    api = app.extensions["fieldsvc_api"]
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An opaque token from POST /api/v1/auth/token, sent as "
                       "'Authorization: Bearer <token>'. It expires after expires_in seconds.",
    })
    api.spec.options["security"] = [{"bearerAuth": []}]
    api.register_blueprint(auth_blp)
    api.register_blueprint(erasure_blp)
    limit_login(app, "auth.issue_token")
