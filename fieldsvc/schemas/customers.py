"""Customers and sites."""

from marshmallow import fields, validate

from fieldsvc.models import Customer
from fieldsvc.models.enums import CustomerTier
from fieldsvc.schemas.common import (
    Latitude,
    Longitude,
    Name,
    Ref,
    StrictBoolean,
    StrictSchema,
    Text,
    TimeZone,
)

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CustomerSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    name = Name(required=True)
    tier = fields.Enum(CustomerTier, by_value=True, load_default=CustomerTier.STANDARD)
    contact_name = Text(200, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = Text(40, allow_none=True)
    mobile = Text(40, allow_none=True)
    region = Text(80, allow_none=True)
    consent_marketing = StrictBoolean(load_default=False)
    consent_at = fields.AwareDateTime(allow_none=True)
    notes = Text(4000, allow_none=True)
    language = fields.String(allow_none=True, validate=validate.OneOf(["fa", "en"]))
    notifications_opt_out = StrictBoolean(load_default=False)
    erased_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class HoursField(fields.List):
    """['08:00', '17:00']"""

    def __init__(self, **kwargs):
        super().__init__(
            fields.String(validate=validate.Regexp(HHMM, error="Use HH:MM.")),
            validate=validate.Length(equal=2, error="Give [opening, closing]."),
            **kwargs,
        )


class AccessHoursSchema(StrictSchema):
    mon = HoursField()
    tue = HoursField()
    wed = HoursField()
    thu = HoursField()
    fri = HoursField()
    sat = HoursField()
    sun = HoursField()


class SiteSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    customer_id = Ref(Customer, required=True)
    name = Name(required=True)
    address = Text(400, allow_none=True)
    city = Text(120, allow_none=True)
    region = Text(80, allow_none=True)
    territory = Text(80, allow_none=True)
    latitude = Latitude(allow_none=True)
    longitude = Longitude(allow_none=True)
    access_hours = fields.Nested(AccessHoursSchema, allow_none=True)
    notes = Text(4000, allow_none=True)
    # The site's local day (return deadlines); empty: the deployment's zone.
    timezone = TimeZone(allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
