"""Console forms (Flask-WTF: CSRF token + field validation; the services have the rules).

Labels are English source strings; templates translate them with `_()`.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from fieldsvc.console.i18n import LazyLabel
from fieldsvc.models.enums import (
    CustomerTier,
    Direction,
    InteractionChannel,
    TicketCategory,
    TicketChannel,
    TicketStatus,
    WorkOrderType,
)
from fieldsvc.schemas.common import UNSTORABLE_MESSAGE, unstorable_text


def _storable(form, field) -> None:
    if unstorable_text(field.data) is not None:
        raise ValidationError(UNSTORABLE_MESSAGE)


class ConsoleForm(FlaskForm):
    """Every console form: the CSRF token (Flask-WTF), and on every text field the refusal
    of what the database cannot store, the rule the API schemas apply (StrictSchema)."""

    def validate(self, extra_validators=None):
        extra = {name: [*(extra_validators or {}).get(name, ()), _storable]
                 for name in self._fields}
        return super().validate(extra)


class Select(SelectField):
    """A select declared with (value, label) pairs; WTForms gets them as SelectChoice (it
    deprecates tuples in declarations from 3.3 on)."""

    def __init__(self, label=None, validators=None, choices=None, **kwargs):
        if isinstance(choices, list):
            choices = [SelectChoice(*c) if isinstance(c, tuple) else c for c in choices]
        super().__init__(label, validators, choices=choices, **kwargs)


def _choices(enum, blank: bool = False):
    out = [(e.value, LazyLabel(e.value)) for e in enum]
    return [("", "—")] + out if blank else out


class CallForm(ConsoleForm):
    """Log a contact with the customer (a call by default)."""

    channel = Select("Channel", choices=_choices(InteractionChannel), default="call")
    direction = Select("Direction", choices=_choices(Direction),
                            default="inbound")
    calling_number = StringField("Calling number", validators=[Optional(), Length(max=40)])
    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=20_000)])
    occurred_at = HiddenField()


class CustomerForm(ConsoleForm):
    """An unknown caller becomes a customer."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    mobile = StringField("Mobile", validators=[Optional(), Length(max=40)])
    email = StringField("Email", validators=[Optional(), Length(max=254)])
    region = StringField("Region", validators=[Optional(), Length(max=80)])
    tier = Select("Tier", choices=_choices(CustomerTier), default="standard")


class TicketForm(ConsoleForm):
    """Ticket and complaint intake."""

    customer_id = IntegerField("Customer", validators=[DataRequired(message="Choose the customer."),
                                                       NumberRange(min=1)])
    category = Select("Category", choices=_choices(TicketCategory), default="request")
    topic = StringField("Topic", validators=[Optional(), Length(max=120)])
    channel = Select("Channel", choices=_choices(TicketChannel), default="phone")
    product_id = Select("Product", choices=[], validate_choice=False)
    asset_id = Select("Asset", choices=[], validate_choice=False)
    region = StringField("Region", validators=[Optional(), Length(max=80)])
    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)])
    priority = Select("Priority", choices=[("1", "P1"), ("2", "P2"), ("3", "P3"),
                                                ("4", "P4")], default="3")
    calling_number = StringField("Calling number", validators=[Optional(), Length(max=40)])
    route = BooleanField("Assign to an agent with the right skill", default=True)


class FollowUpForm(ConsoleForm):
    """A note on the ticket (logged as an interaction) and/or a status change."""

    status = Select("Status", choices=[("", "—")] + _choices(TicketStatus),
                         validate_choice=False)
    notes = TextAreaField("Note", validators=[Optional(), Length(max=20_000)])


class AssignForm(ConsoleForm):
    assigned_user_id = Select("Agent", choices=[], validate_choice=False)


# Rows of "parts needed" the work-order form offers (the API takes up to 100).
PART_ROWS = 3


class TicketWorkOrderForm(ConsoleForm):
    """The agent's work order: what, where, how urgent, when the customer is in (a day
    and one or two windows read in the site's zone), the skills and the parts it needs."""

    type = Select("Type", choices=_choices(WorkOrderType), default="breakdown")
    site_id = Select("Site", choices=[], validate_choice=False)
    asset_id = Select("Asset", choices=[], validate_choice=False)
    priority = Select("Priority", choices=[("1", "P1"), ("2", "P2"), ("3", "P3"),
                                                ("4", "P4")], default="3")
    estimated_minutes = IntegerField("Estimated minutes", default=60,
                                     validators=[Optional(), NumberRange(min=1, max=1440)])
    day = DateField("Preferred day", validators=[Optional()])
    window1_from = TimeField("First window from", validators=[Optional()])
    window1_to = TimeField("First window to", validators=[Optional()])
    window2_from = TimeField("Second window from", validators=[Optional()])
    window2_to = TimeField("Second window to", validators=[Optional()])
    skills = StringField("Required skills", validators=[Optional(), Length(max=1000)])
    part_1 = Select("Part", choices=[], validate_choice=False)
    quantity_1 = IntegerField("Quantity", validators=[Optional()])
    part_2 = Select("Part", choices=[], validate_choice=False)
    quantity_2 = IntegerField("Quantity", validators=[Optional()])
    part_3 = Select("Part", choices=[], validate_choice=False)
    quantity_3 = IntegerField("Quantity", validators=[Optional()])


class RecallBookingForm(ConsoleForm):
    campaign_id = HiddenField()
    vin = HiddenField()
    dealership_id = Select("Dealership", choices=[], validate_choice=False)
    day = DateField("Day", validators=[DataRequired(message="Choose a day.")])


class DoneForm(ConsoleForm):
    pass


class SiteForm(ConsoleForm):
    """A site of the customer: where the technician goes (the API's site fields)."""

    name = StringField("Site name", validators=[DataRequired(), Length(max=200)])
    address = StringField("Address", validators=[Optional(), Length(max=400)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    region = StringField("Region", validators=[Optional(), Length(max=80)])
    territory = StringField("Territory", validators=[Optional(), Length(max=80)])
    latitude = StringField("Latitude", validators=[Optional(), Length(max=40)])
    longitude = StringField("Longitude", validators=[Optional(), Length(max=40)])
    timezone = StringField("Time zone", validators=[Optional(), Length(max=64)])


class AssetForm(ConsoleForm):
    """The customer's unit: its product, where it stands, its serial number or VIN."""

    product_id = Select("Product", choices=[], validate_choice=False)
    site_id = Select("Site", choices=[], validate_choice=False)
    serial_number = StringField("Serial number", validators=[Optional(), Length(max=80)])
    vin = StringField("VIN", validators=[Optional(), Length(max=40)])
    install_date = DateField("Install date", validators=[Optional()])
