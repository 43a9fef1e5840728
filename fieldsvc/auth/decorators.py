"""Decorators for console views: the API is guarded centrally, pages say what they need."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

__all__ = ["login_required", "roles_required"]


def roles_required(*roles: str):
    """Let only signed-in users of these roles in (403 for the others)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.user.role.value not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
