"""Webhook subscriptions and deliveries as the API shows them; the secret only at creation."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from fieldsvc.events.models import DeliveryStatus
from fieldsvc.events.outbox import CATALOGUE, WILDCARD
from fieldsvc.events.webhooks import webhook_id
from fieldsvc.schemas.common import ListArgs, StrictBoolean, StrictSchema, Text

EVENT_TYPES = sorted(CATALOGUE)


class EventTypes(fields.List):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            fields.String(validate=validate.Length(min=1, max=60)),
            validate=validate.Length(min=1, max=len(EVENT_TYPES) + 1),
            metadata={
                "description": "Event types (`<resource>.<event>`) or "
                '["*"] for every event: ' + ", ".join(EVENT_TYPES)
            },
            **kwargs,
        )


def check_event_types(value: list[str]) -> None:
    unknown = sorted({v for v in value if v != WILDCARD and v not in CATALOGUE})
    if unknown:
        raise ValidationError(
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_TYPES)}, or *."
        )
    if len(set(value)) != len(value):
        raise ValidationError("Name each event type once.")


class SubscriptionInputSchema(StrictSchema):
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
    )
    events = EventTypes(required=True)
    description = Text(200, allow_none=True)
    active = StrictBoolean(load_default=True)

    @validates("events")
    def _events(self, value, **kwargs) -> None:
        check_event_types(value)


class SubscriptionPatchSchema(StrictSchema):
    url = fields.Url(
        schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000)
    )
    events = EventTypes()
    description = Text(200, allow_none=True)
    active = StrictBoolean()

    @validates("events")
    def _events(self, value, **kwargs) -> None:
        check_event_types(value)


class SubscriptionSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    url = fields.String(dump_only=True)
    events = fields.List(fields.String(), dump_only=True)
    description = fields.String(allow_none=True, dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SubscriptionCreatedSchema(SubscriptionSchema):
    secret = fields.String(
        dump_only=True,
        metadata={
            "description": "The signing secret (Standard Webhooks, whsec_...). Shown once: keep "
            "it now; it cannot be read again."
        },
    )


class SubscriptionListArgs(ListArgs):
    active = fields.Boolean()


class DeliverySchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    event_id = fields.Integer(dump_only=True)
    webhook_id = fields.Function(
        lambda d: webhook_id(d.event_id),
        dump_only=True,
        metadata={
            "type": "string",
            "description": "The webhook-id header the receiver sees (same on every retry)",
        },
    )
    event_type = fields.String(attribute="event.type", dump_only=True)
    channel = fields.String(dump_only=True)
    target_id = fields.Integer(
        dump_only=True, metadata={"description": "The webhook subscription's id (channel webhook)"}
    )
    aggregate_type = fields.String(dump_only=True)
    aggregate_id = fields.Integer(dump_only=True)
    sequence = fields.Integer(dump_only=True)
    status = fields.Enum(DeliveryStatus, by_value=True, dump_only=True)
    attempts = fields.Integer(dump_only=True)
    next_attempt_at = fields.DateTime(allow_none=True, dump_only=True)
    last_attempt_at = fields.DateTime(allow_none=True, dump_only=True)
    last_status_code = fields.Integer(allow_none=True, dump_only=True)
    last_latency_ms = fields.Float(allow_none=True, dump_only=True)
    last_error = fields.String(allow_none=True, dump_only=True)
    delivered_at = fields.DateTime(allow_none=True, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class SubscriptionDeliverySchema(DeliverySchema):
    """One entry of a subscription's delivery log."""


class DeliveryListArgs(ListArgs):
    status = fields.Enum(DeliveryStatus, by_value=True)
    channel = fields.String(validate=validate.Length(min=1, max=30))
    target_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    event_type = fields.String(validate=validate.Length(min=1, max=60))


class SubscriptionDeliveryListArgs(ListArgs):
    status = fields.Enum(DeliveryStatus, by_value=True)
