"""The recall REST views: /api/v1/recall-campaigns, /api/v1/dealerships,
/api/v1/recall-appointments and /api/v1/recalls. Their URLs are in blueprint.py."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import MAX_ID, Resource, get_or_404, paginate
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus
from fieldsvc.problems import InvalidInput, invalid_input
from fieldsvc.recall import allocation, booking, ics
from fieldsvc.recall import services as service
from fieldsvc.recall.models import (
    CampaignVin,
    Dealership,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
    RecallCampaignProduct,
)
from fieldsvc.recall.schemas import (
    AcceptInputSchema,
    AllocateInputSchema,
    AllocationSchema,
    AppointmentSchema,
    BookingInputSchema,
    CampaignInputSchema,
    CampaignPatchSchema,
    CampaignSchema,
    CampaignVinSchema,
    CancelInputSchema,
    CapacityArgs,
    CapacityOverrideSchema,
    CapacitySchema,
    CompleteInputSchema,
    DealershipInputSchema,
    DealershipPatchSchema,
    DealershipSchema,
    HolidaySchema,
    LookupArgs,
    LookupSchema,
    NoShowInputSchema,
    ProgressSchema,
    ReinviteInputSchema,
    RescheduleInputSchema,
    VinListInputSchema,
    VinsAddedSchema,
)
from fieldsvc.schemas.common import ListArgs, check_references, page_schema
from fieldsvc.schemas.pm_plans import Day

# Campaigns -------------------------------------------------------------------------------


class CampaignListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in code and title"})
    status = fields.Enum(CampaignStatus, by_value=True)
    product_id = fields.Integer(validate=validate.Range(min=1))
    skill_id = fields.Integer(validate=validate.Range(min=1))


def _by_product(stmt, value):
    return stmt.where(RecallCampaign.id.in_(
        select(RecallCampaignProduct.campaign_id)
        .where(RecallCampaignProduct.product_id == value)
    ))


campaigns = Resource(
    name="recall-campaigns",
    model=RecallCampaign,
    schema=CampaignSchema,
    create_schema=CampaignInputSchema,
    update_schema=CampaignPatchSchema,
    list_args=CampaignListArgs,
    filters={"status": RecallCampaign.status, "product_id": _by_product,
             "skill_id": RecallCampaign.skill_id},
    sortable={"id": RecallCampaign.id, "code": RecallCampaign.code,
              "title": RecallCampaign.title, "created_at": RecallCampaign.created_at},
    search=(RecallCampaign.code, RecallCampaign.title),
    create=service.create_campaign,
    update=service.update_campaign,
    delete=service.delete_campaign,
    label="recall campaign",
)
campaigns_blp = Blueprint("recall_campaigns", __name__,
                          url_prefix=f"{API_PREFIX}/recall-campaigns",
                          description="Recall campaigns and their affected VINs")


class VinListArgs(ListArgs):
    q = fields.String(metadata={"description": "VIN prefix or part"})
    matched = fields.Boolean(metadata={"description": "Only VINs linked (or not) to an asset"})


class CampaignVins(MethodView):
    @campaigns_blp.arguments(VinListArgs, location="query", unknown=RAISE)
    @campaigns_blp.response(200, page_schema(CampaignVinSchema))
    @campaigns_blp.doc(summary="List the VINs a campaign affects")
    def get(self, args, ident):
        campaign = get_or_404(campaigns, ident)
        stmt = select(CampaignVin).where(CampaignVin.campaign_id == campaign.id)
        if args.get("q"):
            stmt = stmt.where(CampaignVin.vin.ilike(f"%{args['q'].strip()}%"))
        if args.get("matched") is not None:
            column = CampaignVin.asset_id
            stmt = stmt.where(column.is_not(None) if args["matched"] else column.is_(None))
        return paginate(stmt.order_by(CampaignVin.vin, CampaignVin.id), args)

    @campaigns_blp.arguments(VinListInputSchema)
    @campaigns_blp.response(201, VinsAddedSchema)
    @campaigns_blp.doc(summary="Add affected VINs (all or nothing)")
    def post(self, data, ident):
        campaign = get_or_404(campaigns, ident)
        return service.add_vins(db.session, campaign, data["vins"], current_actor())


# Dealerships -----------------------------------------------------------------------------


class DealershipListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in code, name and city"})
    region = fields.String()
    city = fields.String()


dealerships = Resource(
    name="dealerships",
    model=Dealership,
    schema=DealershipSchema,
    create_schema=DealershipInputSchema,
    update_schema=DealershipPatchSchema,
    list_args=DealershipListArgs,
    filters={"region": Dealership.region, "city": Dealership.city},
    sortable={"id": Dealership.id, "code": Dealership.code, "name": Dealership.name,
              "region": Dealership.region},
    search=(Dealership.code, Dealership.name, Dealership.city),
    create=service.create_dealership,
    update=service.update_dealership,
    delete=service.delete_dealership,
)
dealerships_blp = Blueprint("dealerships", __name__, url_prefix=f"{API_PREFIX}/dealerships",
                            description="Dealerships: hours, bays and holidays")


class HolidayListArgs(ListArgs):
    pass


class DealershipHolidays(MethodView):
    @dealerships_blp.arguments(HolidayListArgs, location="query", unknown=RAISE)
    @dealerships_blp.response(200, page_schema(HolidaySchema))
    @dealerships_blp.doc(summary="List a dealership's holidays")
    def get(self, args, ident):
        dealership = get_or_404(dealerships, ident)
        stmt = (select(DealershipHoliday)
                .where(DealershipHoliday.dealership_id == dealership.id)
                .order_by(DealershipHoliday.day))
        return paginate(stmt, args)

    @dealerships_blp.arguments(HolidaySchema)
    @dealerships_blp.response(201, HolidaySchema)
    @dealerships_blp.doc(summary="Add a holiday")
    def post(self, data, ident):
        dealership = get_or_404(dealerships, ident)
        return service.add_holiday(db.session, dealership, data, current_actor())


class DealershipHolidayItem(MethodView):
    @dealerships_blp.response(204)
    @dealerships_blp.doc(summary="Remove a holiday")
    def delete(self, ident, holiday_id):
        dealership = get_or_404(dealerships, ident)
        service.remove_holiday(db.session, dealership, holiday_id, current_actor())


# Appointments ----------------------------------------------------------------------------


class AppointmentListArgs(ListArgs):
    campaign_id = fields.Integer(validate=validate.Range(min=1))
    dealership_id = fields.Integer(validate=validate.Range(min=1))
    customer_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.Enum(AppointmentStatus, by_value=True)
    vin = fields.String(validate=validate.Length(min=1, max=17))
    day_from = Day(data_key="from", metadata={"description": "First day (inclusive)"})
    day_to = Day(data_key="to", metadata={"description": "Last day (inclusive)"})

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("day_from") and data.get("day_to") and data["day_from"] > data["day_to"]:
            raise ValidationError("'from' must not be after 'to'.", "from")


appointments_blp = Blueprint("recall_appointments", __name__,
                             url_prefix=f"{API_PREFIX}/recall-appointments",
                             description="Recall appointments: booking against dealership "
                                         "capacity, invitations, day of service")
appointments = Resource(
        name="recall-appointments",
        model=RecallAppointment,
        schema=AppointmentSchema,
        create_schema=BookingInputSchema,
        create=booking.book,
        list_args=AppointmentListArgs,
        filters={
            "campaign_id": RecallAppointment.campaign_id,
            "dealership_id": RecallAppointment.dealership_id,
            "customer_id": RecallAppointment.customer_id,
            "status": RecallAppointment.status,
            "vin": lambda stmt, v: stmt.where(RecallAppointment.vin == v.strip().upper()),
            "day_from": lambda stmt, v: stmt.where(RecallAppointment.day >= v),
            "day_to": lambda stmt, v: stmt.where(RecallAppointment.day <= v),
        },
        sortable={"id": RecallAppointment.id, "day": RecallAppointment.day,
                  "status": RecallAppointment.status, "vin": RecallAppointment.vin},
        default_sort=(RecallAppointment.day, RecallAppointment.id),
        actions=frozenset({"list", "get", "create"}),
        label="recall appointment",
)


def _appointment_action(schema, func, summary: str):
    """POST /recall-appointments/{id}/<action>: load (scoped), call the service, dump."""

    class Action(MethodView):
        @appointments_blp.arguments(schema)
        @appointments_blp.response(200, AppointmentSchema)
        @appointments_blp.doc(summary=summary)
        def post(self, data, ident):
            appointment = get_or_404(appointments, ident)
            check_references(db.session, schema(), data)
            return func(db.session, appointment, data, current_actor())

    return Action


AcceptAppointment = _appointment_action(
    AcceptInputSchema, booking.accept,
    "Accept an invitation (its proposed place, or another free one)")
RescheduleAppointment = _appointment_action(
    RescheduleInputSchema, booking.reschedule,
    "Move to another free day or dealership (the old place is released)")
CancelAppointment = _appointment_action(
    CancelInputSchema, booking.cancel, "Cancel and release the place")
CompleteAppointment = _appointment_action(
    CompleteInputSchema, booking.complete,
    "Day of service: remedy done (creates the completed recall work order)")
NoShowAppointment = _appointment_action(
    NoShowInputSchema, booking.no_show, "Day of service: the owner did not come")
ReinviteAppointment = _appointment_action(
    ReinviteInputSchema, booking.reinvite, "Invite a no-show or cancelled owner again")


class AppointmentIcs(MethodView):
    @appointments_blp.response(200, content_type="text/calendar",
                               description="An iCalendar (RFC 5545) VEVENT")
    @appointments_blp.doc(summary="Download the appointment as an .ics invitation")
    def get(self, ident):
        appointment = get_or_404(appointments, ident)
        body = ics.appointment_ics(appointment)
        return Response(body, mimetype="text/calendar", headers={
            "Content-Disposition":
                f'attachment; filename="recall-{appointment.id}.ics"'})


# Capacity calendar -----------------------------------------------------------------------


def _campaign_arg(ident: int | None, field: str = "campaign_id") -> RecallCampaign | None:
    if ident is None:
        return None
    campaign = db.session.get(RecallCampaign, ident) if ident <= MAX_ID else None
    if campaign is None:
        raise InvalidInput({field: [f"No recall campaign with id {ident}."]})
    return campaign


class DealershipCapacity(MethodView):
    @dealerships_blp.arguments(CapacityArgs, location="query", unknown=RAISE)
    @dealerships_blp.response(200, CapacitySchema)
    @dealerships_blp.doc(summary="Recall places per day: capacity, booked, free")
    def get(self, args, ident):
        dealership = get_or_404(dealerships, ident)
        return service.capacity_calendar(db.session, dealership, args["day_from"],
                                         args["day_to"], _campaign_arg(args.get("campaign_id")))


class DayPath(Schema):
    day = Day(required=True)


class DealershipCapacityDay(MethodView):
    @dealerships_blp.arguments(CapacityOverrideSchema)
    @dealerships_blp.response(200, CapacitySchema)
    @dealerships_blp.doc(summary="Set the places of one day, or a campaign's reservation "
                                 "of them (null: back to the formula / end the reservation)")
    def put(self, data, ident, day):
        dealership = get_or_404(dealerships, ident)
        try:
            parsed = DayPath().load({"day": day})["day"]
        except ValidationError as exc:
            raise invalid_input(exc) from None
        campaign = _campaign_arg(data["campaign_id"])
        if campaign is None:
            booking.override_capacity(db.session, dealership, parsed, data["capacity"],
                                      current_actor())
        else:
            booking.reserve(db.session, dealership, campaign, parsed, data["capacity"],
                            current_actor())
        return service.capacity_calendar(db.session, dealership, parsed, parsed, campaign)


# Allocation and progress ----------------------------------------------------------------


class CampaignAllocate(MethodView):
    @campaigns_blp.arguments(AllocateInputSchema)
    @campaigns_blp.response(200, AllocationSchema)
    @campaigns_blp.doc(summary="Invite the owners of the active phases to dealership days")
    def post(self, data, ident):
        campaign = get_or_404(campaigns, ident)
        return allocation.allocate(db.session, campaign, current_actor(),
                                   horizon_days=data["horizon_days"])


class CampaignProgress(MethodView):
    @campaigns_blp.response(200, ProgressSchema)
    @campaigns_blp.doc(summary="Progress per campaign, dealership and region")
    def get(self, ident):
        campaign = get_or_404(campaigns, ident)
        return service.progress(db.session, campaign, current_actor())


# VIN lookup ------------------------------------------------------------------------------

recalls_blp = Blueprint("recalls", __name__, url_prefix=f"{API_PREFIX}/recalls",
                        description="Recall look-ups for agents and dealerships")


class RecallLookup(MethodView):
    @recalls_blp.arguments(LookupArgs, location="query", unknown=RAISE)
    @recalls_blp.response(200, LookupSchema)
    @recalls_blp.doc(summary="Open campaigns for a VIN and their booking state")
    def get(self, args):
        return service.lookup(db.session, args["vin"], current_actor())

