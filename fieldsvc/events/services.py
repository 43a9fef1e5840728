"""Webhook subscriptions: create (with a new secret), change, delete; replay a delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.events import dispatcher
from fieldsvc.events.models import DeliveryStatus, EventDelivery, WebhookSubscription
from fieldsvc.events.webhooks import CHANNEL, RefusedTarget, check_target, new_secret
from fieldsvc.problems import Conflict, InvalidInput


def _check_url(url: str, allow_private: bool) -> None:
    try:
        check_target(url, allow_private=allow_private)
    except RefusedTarget as exc:
        raise InvalidInput({"url": [str(exc)]}) from None


def create_subscription(
    session: Session, data: dict[str, Any], actor: Actor, *, allow_private: bool
) -> WebhookSubscription:
    """A subscription with a fresh secret (the only answer that shows it)."""
    _check_url(data["url"], allow_private)
    subscription = WebhookSubscription(
        url=data["url"],
        events=list(data["events"]),
        description=data.get("description"),
        active=data.get("active", True),
        secret=new_secret(),
    )
    session.add(subscription)
    session.flush()
    return subscription


def update_subscription(
    session: Session,
    subscription: WebhookSubscription,
    data: dict[str, Any],
    actor: Actor,
    *,
    allow_private: bool,
) -> WebhookSubscription:
    if "url" in data:
        _check_url(data["url"], allow_private)
    for key in ("url", "events", "description", "active"):
        if key in data:
            setattr(subscription, key, list(data[key]) if key == "events" else data[key])
    return subscription


def delete_subscription(session: Session, subscription: WebhookSubscription, actor: Actor) -> None:
    """Delete a subscription and its delivery log; pending deliveries are dropped."""
    session.execute(
        delete(EventDelivery).where(
            EventDelivery.channel == CHANNEL, EventDelivery.target_id == subscription.id
        )
    )
    session.delete(subscription)


def replay_delivery(session: Session, delivery: EventDelivery, actor: Actor) -> EventDelivery:
    """Send a dead or delivered event again; a pending one is already on its way (409)."""
    if delivery.status == DeliveryStatus.PENDING:
        raise Conflict(
            f"Delivery {delivery.id} is pending; it is sent at its next attempt.",
            current_status=delivery.status.value,
        )
    return dispatcher.replay(session, delivery)
