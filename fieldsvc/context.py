"""Who is acting: set once per request, CLI command or job, read by services and audit."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    source: str  # api | console | cli | job | self-service
    role: str | None = None
    technician_id: int | None = None
    dealership_id: int | None = None
    # The API token or console session the request came with (None for CLI and jobs).
    token_id: int | None = None


SYSTEM = Actor(id=None, name="system", source="job")
_current: ContextVar[Actor] = ContextVar("fieldsvc_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def set_actor(actor: Actor):
    """Make `actor` current; returns the token to reset with."""
    return _current.set(actor)


def reset_actor(token) -> None:
    _current.reset(token)


@contextmanager
def acting_as(actor: Actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
