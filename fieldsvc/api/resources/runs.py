"""/api/v1/optimization-runs: request a run, follow it, publish its plan."""

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, register_crud
from fieldsvc.context import current_actor
from fieldsvc.dispatch.publish import publish_run
from fieldsvc.dispatch.queue import enqueue_after_commit
from fieldsvc.dispatch.runs import DEFAULT_TIME_LIMIT, MAX_TIME_LIMIT, request_run
from fieldsvc.extensions import db
from fieldsvc.models import OptimizationRun
from fieldsvc.models.enums import RunStatus
from fieldsvc.schemas.common import ListArgs, StrictSchema
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


class RunRequestSchema(StrictSchema):
    date = fields.Date(required=True, metadata={"description": "first day to plan"})
    horizon_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=14))
    territory = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=80))
    technician_ids = fields.List(fields.Integer(validate=validate.Range(min=1)),
                                 load_default=list, validate=validate.Length(max=1000))
    time_limit = fields.Float(load_default=DEFAULT_TIME_LIMIT,
                              validate=validate.Range(min=1, max=MAX_TIME_LIMIT),
                              metadata={"description": "search time in seconds"})


class PublishReportSchema(Schema):
    run_id = fields.Integer()
    scheduled = fields.List(fields.Integer())
    rescheduled = fields.List(fields.Integer())
    unchanged = fields.List(fields.Integer())
    unscheduled = fields.List(fields.Integer())
    changed_since_run = fields.List(fields.Integer(), metadata={
        "description": "work orders edited after the run started: left as they were"})
    fixed = fields.List(fields.Integer(), metadata={"description": "pinned or started"})


@runs_blp.route("", methods=["POST"], endpoint="request_run")
@runs_blp.arguments(RunRequestSchema)
@runs_blp.response(202, RunSchema)
@runs_blp.doc(summary="Request an optimization run (solved in the background)")
def post_run(data):
    run = request_run(db.session, current_actor(), plan_date=data["date"],
                      horizon_days=data["horizon_days"], territory=data["territory"],
                      technician_ids=data["technician_ids"], time_limit=data["time_limit"])
    enqueue_after_commit(current_app._get_current_object(), run.id)
    return run, 202, {"Location": f"{API_PREFIX}/optimization-runs/{run.id}"}


@runs_blp.route("/<int:ident>/publish", methods=["POST"], endpoint="publish_run")
@runs_blp.response(200, PublishReportSchema)
@runs_blp.doc(summary="Publish a finished run's plan to its work orders")
def post_publish(ident):
    run = get_or_404(OptimizationRun, ident, "optimization run")
    return publish_run(db.session, run, current_actor())


blueprints = [runs_blp]
