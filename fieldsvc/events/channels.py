"""Channels: the consumers of the outbox, registered per app.

A channel says which targets want an event (`targets`) and how to send a batch of deliveries
(`prepare` reads what they need from the database and returns one callable per delivery
that sends without it, on a sender thread). The dispatcher fans every event out to every registered channel and
keeps the per-delivery bookkeeping (attempts, backoff, dead letters, order per aggregate), so
a channel holds no state of its own. Webhooks are one channel (fieldsvc.events.webhooks);
customer notifications plug in the same way:

    from fieldsvc.events.channels import register_channel
    register_channel(app, EmailChannel(...))   # name "email", targets = customer ids
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask import Flask
from sqlalchemy.orm import Session

from fieldsvc.events.models import EventDelivery, OutboxEvent

EXTENSION_KEY = "fieldsvc_event_channels"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: `ok`, or why not (HTTP status, error text)."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    # False: no later attempt can succeed (the target is gone); dead-letter at once.
    retry: bool = True


Send = Callable[[], Outcome]


class Channel(Protocol):
    name: str

    def targets(self, session: Session, events: Sequence[OutboxEvent]) -> dict[int, list[int]]:
        """Target ids per event id, for the events this channel delivers."""
        ...

    def prepare(
        self, session: Session, batch: Sequence[tuple[EventDelivery, OutboxEvent]]
    ) -> list[Send]:
        """Everything each attempt of the batch needs, read now (in few queries); each
        returned call sends one delivery, in the batch's order."""
        ...


def register_channel(app: Flask, channel: Channel) -> None:
    """Add a channel to the app's dispatcher; a name is registered once."""
    channels = app.extensions.setdefault(EXTENSION_KEY, {})
    if channel.name in channels:
        raise RuntimeError(f"The event channel {channel.name} is already registered.")
    channels[channel.name] = channel


def channels_of(app: Flask) -> dict[str, Channel]:
    return app.extensions.setdefault(EXTENSION_KEY, {})
