"""Shared helpers of the console pages: access by policy, form errors, pagination."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from fieldsvc.auth import policy
from fieldsvc.auth.decorators import login_required
from fieldsvc.console.i18n import gettext as _
from fieldsvc.context import current_actor
from fieldsvc.problems import NotFound, Problem, field_messages

PER_PAGE = 25


# The console is for office roles; technicians work in the mobile app and dealerships in
# their portal, even where the API lets them read a few of the same rows.
CONSOLE_ROLES = frozenset({"admin", "manager", "dispatcher", "agent"})


def allowed(resource: str, action: str = policy.READ) -> bool:
    if not current_user.is_authenticated:
        return False
    role = current_user.user.role.value
    return role in CONSOLE_ROLES and policy.allowed(role, resource, action)


def requires(resource: str, action: str = policy.READ):
    """Signed-in users whose role the policy lets do `action` on `resource` (403 otherwise)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.user.role.value == "dealership" and request.method == "GET" \
                    and "portal.home" in current_app.view_functions:
                return redirect(url_for("portal.home"))  # their own area
            if not allowed(resource, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def get_or_404(session, model, ident: int):
    """The row if it exists and the signed-in user may see it (the policy's scopes); else
    the console's 404 page."""
    try:
        return policy.get_or_404(session, model, ident, current_actor())
    except NotFound:
        abort(404)


def error_messages(exc: Exception) -> dict[str, list[str]]:
    """Per-field messages of a marshmallow error or a Problem (422 errors, 409 detail)."""
    if isinstance(exc, ValidationError):
        raw = field_messages(exc)
    else:
        raw = dict(getattr(exc, "extensions", {}).get("errors") or {})
        if not raw:
            raw = {"_schema": [getattr(exc, "detail", None) or str(exc)]}
    out: dict[str, list[str]] = {}
    for key, value in raw.items():
        if isinstance(value, dict):  # nested: flatten into the parent field
            value = [m for v in value.values() for m in (v if isinstance(v, list) else [v])]
        out[key] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return out


def attach_errors(form, exc: Exception, aliases: dict[str, str] | None = None) -> list[str]:
    """Put each message next to its form field; return those that belong to no field."""
    loose: list[str] = []
    for key, messages in error_messages(exc).items():
        name = (aliases or {}).get(key, key)
        field = getattr(form, name, None) if name != "_schema" else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [_(m) for m in messages]
        else:
            loose.extend(_(m) for m in messages)
    return loose


def present(form, names) -> dict[str, Any]:
    """The non-empty values of `names` from a validated WTForms form."""
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(form, name).data
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "") or value == "None":
            continue
        data[name] = value
    return data


def page_args() -> dict[str, int]:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return {"page": min(max(page, 1), 1_000_000), "per_page": PER_PAGE}


__all__ = ["Problem", "allowed", "attach_errors", "error_messages", "get_or_404",
           "page_args", "present", "requires"]
