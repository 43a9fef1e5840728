"""The request id: taken from `X-Request-ID` or made here, and carried into the work a
request starts (run queue jobs) and the jobs of the scheduler.

It lives in a context variable, so a log line written anywhere while the request (or the
job) is being served carries it, without passing it around.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "X-Request-ID"
# A client's own id is kept when it is a plain token of reasonable length; anything else
# (spaces, control characters, a novel) is replaced, so it cannot forge log lines.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

_current: ContextVar[str | None] = ContextVar("fieldsvc_request_id", default=None)


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex


def accept(header_value: str | None) -> str:
    """The client's id when acceptable, else a new one."""
    if header_value and _ACCEPTED.fullmatch(header_value):
        return header_value
    return new_id()


def current() -> str | None:
    return _current.get()


def set_current(value: str | None):
    return _current.set(value)


def reset(token) -> None:
    _current.reset(token)


@contextmanager
def carrying(value: str | None) -> Iterator[str]:
    """Run a block (a queued job, a scheduler job) under `value`, or a new id."""
    token = _current.set(value or new_id())
    try:
        yield _current.get()
    finally:
        _current.reset(token)
