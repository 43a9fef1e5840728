"""/api/v1/optimization-runs: list and inspect runs (requesting one is the dispatch API)."""

from flask_smorest import Blueprint
from marshmallow import fields, validate

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import OptimizationRun
from fieldsvc.models.enums import RunStatus
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.runs import RunSchema
from fieldsvc.services import runs as service


class RunListArgs(ListArgs):
    status = fields.Enum(RunStatus, by_value=True)
    territory = fields.String(validate=validate.Length(max=80))
    plan_date = fields.Date()
    published = fields.Boolean()


runs_blp = Blueprint("optimization_runs", __name__,
                     url_prefix=f"{API_PREFIX}/optimization-runs",
                     description="Optimization runs: status, progress, result")
register_crud(
    runs_blp,
    Resource(
        name="optimization-runs",
        model=OptimizationRun,
        schema=RunSchema,
        list_args=RunListArgs,
        filters={"status": OptimizationRun.status, "territory": OptimizationRun.territory,
                 "plan_date": OptimizationRun.plan_date, "published": service.published},
        sortable={"id": OptimizationRun.id, "plan_date": OptimizationRun.plan_date,
                  "created_at": OptimizationRun.created_at, "status": OptimizationRun.status},
        default_sort=(OptimizationRun.id.desc(),),
        actions=frozenset({"list", "get"}),
        label="optimization run",
    ),
)

blueprints = [runs_blp]
