"""/api/v1/reports/kpis (with /weights) and /api/v1/reports/voice-of-customer.

(/api/v1/reports/returns lives in rma/api.py under the blueprint `rma_reports`.)
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from fieldsvc.api import API_PREFIX
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.hooks import hooks_of
from fieldsvc.schemas.reports import KpiArgs, VocArgs, WeightsInfoSchema, WeightsSchema
from fieldsvc.services import kpis as kpi_service
from fieldsvc.services import voice_of_customer as voc_service

blp = Blueprint("reports", __name__, url_prefix=f"{API_PREFIX}/reports",
                description="KPIs, service index and voice of the customer")


def _csv(body: str, name: str) -> Response:
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/kpis")
class Kpis(MethodView):
    @blp.arguments(KpiArgs, location="query", unknown=RAISE)
    @blp.doc(summary="KPIs and the weighted service index of a period",
             description=kpi_service.__doc__)
    @blp.response(200)
    def get(self, args: dict[str, Any]):
        timezone = current_app.config["DEFAULT_TIMEZONE"]
        report = kpi_service.compute(db.session, args["from_"], args["to"], timezone,
                                     args.get("territory"))
        if args["format"] == "csv":
            return _csv(kpi_service.to_csv(report), f"kpis-{args['from_']}-{args['to']}.csv")
        if args["series"] == "month":
            report["series"] = kpi_service.monthly(db.session, args["from_"], args["to"],
                                                   timezone, args.get("territory"))
        return _jsonable(report)


@blp.route("/kpis/weights")
class KpiWeights(MethodView):
    @blp.response(200, WeightsInfoSchema)
    @blp.doc(summary="Weights of the service index")
    def get(self):
        return kpi_service.weights_info(db.session)

    @blp.arguments(WeightsSchema)
    @blp.response(200, WeightsInfoSchema)
    @blp.doc(summary="Set the weights of the service index (managers)",
             description="Whole numbers 0–100 per KPI key; missing keys count 0; they must "
                         "sum to 100.")
    def put(self, data: dict[str, Any]):
        return kpi_service.set_weights(db.session, data["weights"], current_actor())


@blp.route("/voice-of-customer")
class VoiceOfCustomer(MethodView):
    @blp.arguments(VocArgs, location="query", unknown=RAISE)
    @blp.doc(summary="Tickets per month by category, topic, product, region; recurring "
                     "faults", description=voc_service.__doc__)
    @blp.response(200)
    def get(self, args: dict[str, Any]):
        groups = voc_service.parse_groups(args["group"])
        data = voc_service.report(db.session, args["from_"], args["to"],
                                  current_app.config["DEFAULT_TIMEZONE"], groups,
                                  args.get("region"), args["top"],
                                  hooks=hooks_of(current_app))
        if args["format"] == "csv":
            name = f"voice-of-customer-{args['part']}-{args['from_']}-{args['to']}.csv"
            body = (voc_service.faults_csv(data) if args["part"] == "faults"
                    else voc_service.tickets_csv(data))
            return _csv(body, name)
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    """Dates as ISO strings (the report is plain data, not a model)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


blueprints = [blp]
