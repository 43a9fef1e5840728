"""Tickets."""

from __future__ import annotations

from datetime import date, datetime

from marshmallow import ValidationError, fields, validate

from fieldsvc.models import Asset, Customer, Product, User
from fieldsvc.models.enums import TicketCategory, TicketChannel, TicketStatus
from fieldsvc.schemas.common import ListArgs, Name, Priority, Ref, StrictSchema, Text


class TicketSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    customer_id = Ref(Customer, required=True)
    channel = fields.Enum(TicketChannel, by_value=True, required=True)
    category = fields.Enum(TicketCategory, by_value=True, required=True)
    topic = Text(120, allow_none=True)
    product_id = Ref(Product, allow_none=True,
                     metadata={"description": "Taken from the asset when not given."})
    asset_id = Ref(Asset, allow_none=True)
    region = Text(80, allow_none=True)
    subject = Name(200, required=True)
    description = Text(10_000, allow_none=True)
    priority = Priority(load_default=3)
    status = fields.Enum(TicketStatus, by_value=True, dump_only=True)
    calling_number = Text(40, allow_none=True)
    assigned_user_id = Ref(User, allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class TicketUpdateSchema(TicketSchema):
    """Every field optional; status moves open → in_progress → resolved → closed."""

    status = fields.Enum(TicketStatus, by_value=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class DayOrMoment(fields.Field):
    """YYYY-MM-DD (a whole local day) or a timezone-aware ISO 8601 moment."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Give YYYY-MM-DD or an ISO 8601 time with a zone.")
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                "Give YYYY-MM-DD or an ISO 8601 time with a zone.") from None
        if moment.tzinfo is None:
            raise ValidationError("Give a time zone (e.g. +03:30 or Z).")
        return moment


class TicketListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in subject and description"})
    customer_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.Enum(TicketStatus, by_value=True)
    category = fields.Enum(TicketCategory, by_value=True)
    channel = fields.Enum(TicketChannel, by_value=True)
    topic = fields.String()
    region = fields.String()
    product_id = fields.Integer(validate=validate.Range(min=1))
    asset_id = fields.Integer(validate=validate.Range(min=1))
    created_from = DayOrMoment(metadata={"description": "Created at or after (day or time)"})
    created_to = DayOrMoment(metadata={"description": "Created before the end of (day) or at"})
