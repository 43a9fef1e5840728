"""/api/v1/webhook-subscriptions and /api/v1/event-deliveries (admin only: no other role is
granted these resources in fieldsvc.auth.policy)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, apply_sort, get_or_404, paginate, register_crud
from fieldsvc.context import current_actor
from fieldsvc.events import services
from fieldsvc.events.models import EventDelivery, OutboxEvent, WebhookSubscription
from fieldsvc.events.schemas import (
    DeliveryListArgs,
    DeliverySchema,
    SubscriptionCreatedSchema,
    SubscriptionDeliveryListArgs,
    SubscriptionDeliverySchema,
    SubscriptionInputSchema,
    SubscriptionListArgs,
    SubscriptionPatchSchema,
    SubscriptionSchema,
)
from fieldsvc.events.webhooks import CHANNEL
from fieldsvc.extensions import db
from fieldsvc.schemas.common import page_schema


def _allow_private() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])


def _event_type(stmt, value):
    return stmt.where(EventDelivery.event.has(OutboxEvent.type == value))


subscriptions_blp = Blueprint(
    "webhook_subscriptions",
    __name__,
    url_prefix=f"{API_PREFIX}/webhook-subscriptions",
    description="Webhook endpoints and the events they receive, signed per Standard Webhooks",
)
SUBSCRIPTIONS = Resource(
    name="webhook-subscriptions",
    model=WebhookSubscription,
    schema=SubscriptionSchema,
    create_schema=SubscriptionInputSchema,
    update_schema=SubscriptionPatchSchema,
    created_schema=SubscriptionCreatedSchema,
    list_args=SubscriptionListArgs,
    filters={"active": WebhookSubscription.active},
    sortable={"id": WebhookSubscription.id, "created_at": WebhookSubscription.created_at},
    create=lambda session, data, actor: services.create_subscription(
        session, data, actor, allow_private=_allow_private()
    ),
    update=lambda session, obj, data, actor: services.update_subscription(
        session, obj, data, actor, allow_private=_allow_private()
    ),
    delete=services.delete_subscription,
    label="webhook subscription",
)
register_crud(subscriptions_blp, SUBSCRIPTIONS)

deliveries_blp = Blueprint(
    "event_deliveries",
    __name__,
    url_prefix=f"{API_PREFIX}/event-deliveries",
    description="Outbox deliveries: attempts, status codes, dead letters and replays",
)
DELIVERIES = Resource(
    name="event-deliveries",
    model=EventDelivery,
    schema=DeliverySchema,
    list_args=DeliveryListArgs,
    filters={
        "status": EventDelivery.status,
        "channel": EventDelivery.channel,
        "target_id": EventDelivery.target_id,
        "event_type": _event_type,
    },
    sortable={
        "id": EventDelivery.id,
        "next_attempt_at": EventDelivery.next_attempt_at,
        "created_at": EventDelivery.created_at,
    },
    default_sort=(EventDelivery.id.desc(),),
    options=(joinedload(EventDelivery.event),),
    actions=frozenset({"list", "get"}),
    label="event delivery",
)
register_crud(deliveries_blp, DELIVERIES)


@subscriptions_blp.route("/<int:ident>/deliveries")
class SubscriptionDeliveries(MethodView):
    @subscriptions_blp.arguments(SubscriptionDeliveryListArgs, location="query")
    @subscriptions_blp.response(200, page_schema(SubscriptionDeliverySchema))
    @subscriptions_blp.doc(summary="The delivery log of a webhook subscription, newest first")
    def get(self, args, ident):
        subscription = get_or_404(SUBSCRIPTIONS, ident)
        stmt = (
            select(EventDelivery)
            .options(joinedload(EventDelivery.event))
            .where(EventDelivery.channel == CHANNEL, EventDelivery.target_id == subscription.id)
        )
        if args.get("status") is not None:
            stmt = stmt.where(EventDelivery.status == args["status"])
        if not args.get("sort"):
            stmt = stmt.order_by(EventDelivery.id.desc())
        else:
            stmt = apply_sort(stmt, args["sort"], DELIVERIES)
        return paginate(stmt, args)


@deliveries_blp.route("/<int:ident>/replay")
class ReplayDelivery(MethodView):
    @deliveries_blp.response(200, DeliverySchema)
    @deliveries_blp.doc(summary="Send a dead (or delivered) event again, with fresh attempts")
    def post(self, ident):
        delivery = get_or_404(DELIVERIES, ident)
        services.replay_delivery(db.session, delivery, current_actor())
        db.session.refresh(delivery, ["event"])
        return delivery


blueprints = [subscriptions_blp, deliveries_blp]
