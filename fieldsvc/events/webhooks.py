"""Webhooks: the channel that POSTs events to subscribed URLs, signed as Standard Webhooks says.

Each request carries `webhook-id` (the event's id, the same on every retry so a receiver can
drop duplicates), `webhook-timestamp` (seconds since the epoch) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the subscription's secret), made by
the `standardwebhooks` reference library; receivers verify with the same library.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import urllib3
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from fieldsvc.events.channels import Outcome, Send
from fieldsvc.events.models import EventDelivery, OutboxEvent, WebhookSubscription
from fieldsvc.events.outbox import WILDCARD

CHANNEL = "webhook"
USER_AGENT = "fieldsvc-webhooks/1"


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_id(event_id: int) -> str:
    return f"evt_{event_id}"


def body_of(event: OutboxEvent) -> bytes:
    """The JSON body sent for an event (compact, keys in a stable order)."""
    return json.dumps(
        {
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "aggregate": {
                "type": event.aggregate_type,
                "id": event.aggregate_id,
                "sequence": event.sequence,
            },
            "data": event.data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def signed_headers(secret: str, msg_id: str, body: bytes, at_seconds: float) -> dict[str, str]:
    moment = datetime.fromtimestamp(at_seconds, UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at_seconds)),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


# ------------------------------------------------------------------ where we may send


class RefusedTarget(ValueError):
    """The URL is not one fieldsvc sends to (scheme, or a private address)."""


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_target(url: str, *, allow_private: bool) -> None:
    """Raise RefusedTarget unless `url` is http(s) to a public address (or private allowed).

    The host is resolved: a name that points at loopback, a private network, link-local
    (cloud metadata) or another non-global address is refused like the address itself."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise RefusedTarget("Only http and https URLs are accepted.")
    if not parts.hostname:
        raise RefusedTarget("The URL has no host.")
    if parts.username or parts.password:
        raise RefusedTarget(
            "Credentials in the URL are not accepted; verify the signature instead."
        )
    try:
        port = parts.port
    except ValueError:
        raise RefusedTarget("The URL's port is not a number from 1 to 65535.") from None
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise RefusedTarget(f"The host {parts.hostname} does not resolve.") from None
    for info in infos:
        if _private(str(info[4][0])):
            raise RefusedTarget(
                f"{parts.hostname} is a loopback, private or otherwise non-public address; "
                "fieldsvc sends webhooks to public addresses only "
                "(FIELDSVC_WEBHOOK_ALLOW_PRIVATE=1 allows private ones)."
            )


# ------------------------------------------------------------------------ the channel


def _gone() -> Outcome:
    return Outcome(False, error="The subscription was deleted or deactivated.", retry=False)


def subscribed(subscription_events: list[str], event_type: str) -> bool:
    return WILDCARD in subscription_events or event_type in subscription_events


class WebhookChannel:
    """POST each event to every active subscription whose `events` name it.

    Settings are read from the app's configuration at each send (`WEBHOOK_TIMEOUT_SECONDS`,
    `WEBHOOK_ALLOW_PRIVATE`); connections are kept alive per host."""

    name = CHANNEL

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._http = urllib3.PoolManager(
            num_pools=64, maxsize=int(config["EVENTS_CONCURRENCY"]), block=False, retries=False
        )

    def targets(self, session: Session, events: Sequence[OutboxEvent]) -> dict[int, list[int]]:
        subscriptions = session.execute(
            select(WebhookSubscription.id, WebhookSubscription.events)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.id)
        ).all()
        return {
            event.id: [sid for sid, wanted in subscriptions if subscribed(wanted, event.type)]
            for event in events
        }

    def prepare(
        self, session: Session, batch: Sequence[tuple[EventDelivery, OutboxEvent]]
    ) -> list[Send]:
        ids = {delivery.target_id for delivery, _ in batch}
        subscriptions = {
            s.id: (s.url, s.secret)
            for s in session.scalars(
                select(WebhookSubscription).where(
                    WebhookSubscription.id.in_(ids), WebhookSubscription.active.is_(True)
                )
            )
        }
        # Each URL's host is resolved and checked once per batch, again at every batch: a
        # name that came to point at a private address is refused from then on.
        allow_private = bool(self.config["WEBHOOK_ALLOW_PRIVATE"])
        refused: dict[str, str | None] = {}
        for url, _ in subscriptions.values():
            try:
                check_target(url, allow_private=allow_private)
                refused[url] = None
            except RefusedTarget as exc:
                refused[url] = str(exc)
        sends: list[Send] = []
        for delivery, event in batch:
            target = subscriptions.get(delivery.target_id)
            if target is None:
                sends.append(_gone)
                continue
            url, secret = target
            reason = refused[url]
            if reason is not None:
                sends.append(partial(Outcome, False, error=reason))
                continue
            sends.append(partial(self.send, url, secret, webhook_id(event.id), body_of(event)))
        return sends

    def send(self, url: str, secret: str, msg_id: str, body: bytes) -> Outcome:
        """POST one signed event (the URL was checked by `prepare`)."""
        headers = signed_headers(secret, msg_id, body, time.time())
        started = time.perf_counter()
        try:
            response = self._http.request(
                "POST",
                url,
                body=body,
                headers=headers,
                redirect=False,
                preload_content=True,
                timeout=urllib3.Timeout(total=float(self.config["WEBHOOK_TIMEOUT_SECONDS"])),
            )
        except urllib3.exceptions.HTTPError as exc:
            return Outcome(
                False,
                error=f"{type(exc).__name__}: {exc}"[:500],
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        latency = (time.perf_counter() - started) * 1000
        ok = 200 <= response.status < 300
        return Outcome(
            ok,
            status_code=response.status,
            latency_ms=latency,
            error=None if ok else f"HTTP {response.status}",
        )
