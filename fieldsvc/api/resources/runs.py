"""/api/v1/optimization-runs: request a run, follow it, publish and release its plan.

Also the dispatcher's other plan operations that hang off other resources: releasing a
technician's day (/technicians/{id}/release) and emergency insertion
(/work-orders/{id}/insertion, /work-orders/{id}/insertion/accept).
"""

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import defer

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, register_crud
from fieldsvc.context import current_actor
from fieldsvc.dispatch.insertion import accept_insertion, propose_insertion
from fieldsvc.dispatch.publish import request_publish
from fieldsvc.dispatch.queue import PUBLISH, check_queue, enqueue_after_commit
from fieldsvc.dispatch.release import release_run, release_technician_day
from fieldsvc.dispatch.runs import (
    DEFAULT_TIME_LIMIT,
    MAX_TIME_LIMIT,
    request_run,
    request_territory_runs,
)
from fieldsvc.extensions import db
from fieldsvc.models import OptimizationRun, Technician, WorkOrder
from fieldsvc.models.enums import RunStatus
from fieldsvc.schemas.common import Day, ListArgs, StrictSchema
from fieldsvc.schemas.insertion import ProposalSchema
from fieldsvc.schemas.runs import RunSchema, RunSummarySchema
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
        list_schema=RunSummarySchema,
        # The payloads are not even read for a list.
        options=(defer(OptimizationRun.input_snapshot), defer(OptimizationRun.result),
                 defer(OptimizationRun.publish_report)),
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


@runs_blp.route("", methods=["POST"], endpoint="request_run")
@runs_blp.arguments(RunRequestSchema)
@runs_blp.response(202, RunSummarySchema)
@runs_blp.doc(summary="Request an optimization run (solved in the background)")
def post_run(data):
    check_queue(current_app._get_current_object())  # 503 before anything is written
    run = request_run(db.session, current_actor(), plan_date=data["date"],
                      horizon_days=data["horizon_days"], territory=data["territory"],
                      technician_ids=data["technician_ids"], time_limit=data["time_limit"])
    enqueue_after_commit(current_app._get_current_object(), run.id)
    return run, 202, {"Location": f"{API_PREFIX}/optimization-runs/{run.id}"}


class TerritoryRunsRequestSchema(StrictSchema):
    date = fields.Date(required=True, metadata={"description": "first day to plan"})
    horizon_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=14))
    time_limit = fields.Float(load_default=DEFAULT_TIME_LIMIT,
                              validate=validate.Range(min=1, max=MAX_TIME_LIMIT),
                              metadata={"description": "search time of each run, seconds"})


class TerritoryRunsSchema(Schema):
    requested = fields.List(fields.Nested(RunSummarySchema), metadata={
        "description": "one queued run per territory with active technicians"})
    existing = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "territory -> its run still queued or running, left as it is"})


@runs_blp.route("/territories", methods=["POST"], endpoint="request_territory_runs")
@runs_blp.arguments(TerritoryRunsRequestSchema)
@runs_blp.response(202, TerritoryRunsSchema)
@runs_blp.doc(summary="Request one run per territory (all territories, solved apart by the "
                      "workers)")
def post_territory_runs(data):
    return request_territory_runs(
        current_app._get_current_object(), db.session, current_actor(),
        plan_date=data["date"], horizon_days=data["horizon_days"],
        time_limit=data["time_limit"])


@runs_blp.route("/<int:ident>/publish", methods=["POST"], endpoint="publish_run")
@runs_blp.response(202, RunSummarySchema)
@runs_blp.doc(summary="Publish a finished run's plan to its work orders (a job: follow "
                      "`publish` on the run; asking again while it runs changes nothing)")
def post_publish(ident):
    run = get_or_404(OptimizationRun, ident, "optimization run")
    check_queue(current_app._get_current_object())  # 503 before anything is written
    if request_publish(db.session, run, current_actor()):
        enqueue_after_commit(current_app._get_current_object(), run.id, PUBLISH)
    return run, 202, {"Location": f"{API_PREFIX}/optimization-runs/{run.id}"}


class ReleaseSchema(StrictSchema):
    date = Day(required=True, metadata={"description": "the technician's local day"})


class TechnicianDaySchema(Schema):
    technician_id = fields.Integer()
    date = fields.Date()
    count = fields.Integer(metadata={"description": "work orders dispatched"})


class ReleaseReportSchema(Schema):
    released = fields.List(fields.Integer(), metadata={
        "description": "work orders moved from scheduled to dispatched"})
    technician_days = fields.List(fields.Nested(TechnicianDaySchema))


def _timezone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


@runs_blp.route("/<int:ident>/release", methods=["POST"], endpoint="release_run")
@runs_blp.response(200, ReleaseReportSchema)
@runs_blp.doc(summary="Release every technician-day of a published run (scheduled → "
                      "dispatched)")
def post_release_run(ident):
    run = get_or_404(OptimizationRun, ident, "optimization run")
    return release_run(db.session, run, _timezone(), current_actor())


technician_release_blp = Blueprint(
    "technician_release", __name__, url_prefix=f"{API_PREFIX}/technicians",
    description="Release a technician's planned day to their phone")


@technician_release_blp.route("/<int:ident>/release", methods=["POST"],
                              endpoint="release_day")
@technician_release_blp.arguments(ReleaseSchema)
@technician_release_blp.response(200, ReleaseReportSchema)
@technician_release_blp.doc(summary="Dispatch a technician's scheduled work orders of one "
                                    "local day")
def post_release_day(data, ident):
    tech = get_or_404(Technician, ident, "technician")
    return release_technician_day(db.session, tech, data["date"], _timezone(), current_actor())


class InsertionRequestSchema(StrictSchema):
    date = Day(load_default=None, metadata={
        "description": "day to insert into (default: today, local time)"})


class AcceptSchema(StrictSchema):
    proposal_id = fields.Integer(load_default=None, validate=validate.Range(min=1),
                                 metadata={"description": "default: the latest proposal"})


insertion_blp = Blueprint(
    "emergency_insertion", __name__, url_prefix=f"{API_PREFIX}/work-orders",
    description="Emergency insertion into the published plan")


@insertion_blp.route("/<int:ident>/insertion", methods=["POST"], endpoint="propose")
@insertion_blp.arguments(InsertionRequestSchema)
@insertion_blp.response(201, ProposalSchema)
@insertion_blp.doc(summary="Propose where an emergency work order fits in the published plan")
def post_insertion(data, ident):
    wo = get_or_404(WorkOrder, ident, "work order")
    return propose_insertion(db.session, wo, current_actor(), plan_date=data["date"],
                             timezone=_timezone())


@insertion_blp.route("/<int:ident>/insertion/accept", methods=["POST"], endpoint="accept")
@insertion_blp.arguments(AcceptSchema)
@insertion_blp.response(200, ProposalSchema)
@insertion_blp.doc(summary="Apply an insertion proposal (409 if anything it moves changed)")
def post_accept(data, ident):
    wo = get_or_404(WorkOrder, ident, "work order")
    return accept_insertion(db.session, wo, current_actor(), data["proposal_id"])


blueprints = [runs_blp, technician_release_blp, insertion_blp]
