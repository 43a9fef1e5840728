"""/api/v1/recall-campaigns, /api/v1/dealerships and /api/v1/recall-appointments."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, paginate, register_crud
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import (
    CampaignVin,
    Dealership,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
    RecallCampaignProduct,
)
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus
from fieldsvc.schemas.common import ListArgs, page_schema
from fieldsvc.schemas.pm_plans import Day
from fieldsvc.schemas.recalls import (
    AppointmentSchema,
    CampaignInputSchema,
    CampaignPatchSchema,
    CampaignSchema,
    CampaignVinSchema,
    DealershipInputSchema,
    DealershipPatchSchema,
    DealershipSchema,
    HolidaySchema,
    VinListInputSchema,
    VinsAddedSchema,
)
from fieldsvc.services import recalls as service

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
register_crud(campaigns_blp, campaigns)


class VinListArgs(ListArgs):
    q = fields.String(metadata={"description": "VIN prefix or part"})
    matched = fields.Boolean(metadata={"description": "Only VINs linked (or not) to an asset"})


@campaigns_blp.route("/<int:ident>/vins")
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
register_crud(dealerships_blp, dealerships)


class HolidayListArgs(ListArgs):
    pass


@dealerships_blp.route("/<int:ident>/holidays")
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


@dealerships_blp.route("/<int:ident>/holidays/<int:holiday_id>")
class DealershipHolidayItem(MethodView):
    @dealerships_blp.response(204)
    @dealerships_blp.doc(summary="Remove a holiday")
    def delete(self, ident, holiday_id):
        dealership = get_or_404(dealerships, ident)
        service.remove_holiday(db.session, dealership, holiday_id, current_actor())


# Appointments (read-only here; booking arrives with the capacity calendar) ---------------


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
                             description="Recall appointments")
register_crud(
    appointments_blp,
    Resource(
        name="recall-appointments",
        model=RecallAppointment,
        schema=AppointmentSchema,
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
        actions=frozenset({"list", "get"}),
        label="recall appointment",
    ),
)

blueprints = [campaigns_blp, dealerships_blp, appointments_blp]
