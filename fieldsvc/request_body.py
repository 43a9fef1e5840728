"""Request bodies, checked once before any other code reads them: the size limit (also for
a chunked body) and JSON that is too deeply nested to parse.

Flask, webargs, the auth gate and the rate limiter each parse the body on their own; the
checks live here, in a hook that runs first, and in the app's JSON provider, so none of
them meets a body that would make it fail with a server error.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from fieldsvc.problems import Problem

# No request of ours nests deeper than a handful of levels; Python's parser gives up near
# a thousand with a RecursionError, and so would anything walking the result.
MAX_JSON_DEPTH = 64


class BadJson(Problem):
    status, title, slug = 400, "Bad Request", "bad-request"


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deeply is invalid JSON (ValueError), not a
    RecursionError that escapes every handler."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
        if _depth_exceeds(value, MAX_JSON_DEPTH):
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def _chunked_over_limit() -> bool:
    """A body without Content-Length (chunked) is cut at the limit by werkzeug without a
    word; one byte more on the wire means it was too large."""
    limit = request.max_content_length
    if limit is None or request.content_length is not None \
            or "wsgi.input_terminated" not in request.environ:
        return False
    if len(request.get_data(cache=True)) < limit:
        return False
    return bool(request.environ["wsgi.input"].read(1))


def check_body() -> None:
    """Refuse a body over the size limit (413) or JSON that cannot be parsed (400)."""
    if request.method in ("GET", "HEAD", "OPTIONS") and request.content_length is None \
            and "wsgi.input_terminated" not in request.environ:
        return
    if _chunked_over_limit():
        raise RequestEntityTooLarge()
    if not request.is_json:
        return
    data = request.get_data(cache=True)  # 413 here when Content-Length is over the limit
    if not data.strip():
        return  # the view says what it needs
    try:
        current_app.json.loads(data)
    except ValueError as exc:
        raise BadJson(f"The body is not valid JSON: {exc}.") from None


def install(app: Flask) -> None:
    """Use the JSON provider and check every body before the other request hooks."""
    app.json = JSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, check_body)
