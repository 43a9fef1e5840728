"""/api/v1/pm-plans: preventive maintenance plans."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import PmPlan, PmPlanAsset
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.pm_generation import GenerateInputSchema, GenerationReportSchema
from fieldsvc.schemas.pm_plans import PmPlanInputSchema, PmPlanPatchSchema, PmPlanSchema
from fieldsvc.services import pm_generation
from fieldsvc.services import pm_plans as service


class PmPlanListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in name and description"})
    active = fields.Boolean()
    asset_id = fields.Integer(validate=validate.Range(min=1))
    kind = fields.String(validate=validate.OneOf(["calendar", "meter"]),
                         metadata={"description": "calendar (RRULE) or meter plans"})
    priority = fields.Integer(validate=validate.Range(min=1, max=4))


def _by_asset(stmt, value):
    return stmt.where(PmPlan.id.in_(
        select(PmPlanAsset.pm_plan_id).where(PmPlanAsset.asset_id == value)
    ))


def _by_kind(stmt, value):
    return stmt.where(PmPlan.rrule.is_not(None) if value == "calendar"
                      else PmPlan.meter_interval.is_not(None))


pm_plans_blp = Blueprint("pm_plans", __name__, url_prefix=f"{API_PREFIX}/pm-plans",
                         description="Preventive maintenance plans")
register_crud(
    pm_plans_blp,
    Resource(
        name="pm-plans",
        model=PmPlan,
        schema=PmPlanSchema,
        create_schema=PmPlanInputSchema,
        update_schema=PmPlanPatchSchema,
        list_args=PmPlanListArgs,
        filters={"active": PmPlan.active, "asset_id": _by_asset, "kind": _by_kind,
                 "priority": PmPlan.priority},
        sortable={"id": PmPlan.id, "name": PmPlan.name, "priority": PmPlan.priority,
                  "created_at": PmPlan.created_at},
        search=(PmPlan.name, PmPlan.description),
        create=service.create_plan,
        update=service.update_plan,
        delete=service.delete_plan,
        label="maintenance plan",
    ),
)



@pm_plans_blp.route("/generate")
class GeneratePm(MethodView):
    @pm_plans_blp.arguments(GenerateInputSchema)
    @pm_plans_blp.response(200, GenerationReportSchema)
    @pm_plans_blp.doc(summary="Create the work orders of due occurrences now (idempotent)")
    def post(self, data):
        return pm_generation.generate_now(db.session, data, current_actor())


blueprints = [pm_plans_blp]
