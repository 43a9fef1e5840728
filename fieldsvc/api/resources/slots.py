"""The slot finder: POST /work-orders/{id}/slot-offers ranks the best feasible visits over
the next days; POST /work-orders/{id}/slot-offers/{offer}/book books one (accepted like an
emergency insertion proposal: scheduled, pinned, other ETAs moved as offered)."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import get_or_404
from fieldsvc.context import current_actor
from fieldsvc.dispatch.slots import MAX_DAYS, MAX_OFFERS, book_slot, find_slots
from fieldsvc.extensions import db
from fieldsvc.models import Technician, WorkOrder
from fieldsvc.schemas.common import Day, StrictSchema
from fieldsvc.schemas.insertion import EtaChangeSchema, ProposalSchema, _instant


class SlotRequestSchema(StrictSchema):
    days = fields.Integer(
        strict=True,
        load_default=3,
        validate=validate.Range(min=1, max=MAX_DAYS),
        metadata={"description": "how many days to search"},
    )
    earliest = Day(
        load_default=None,
        metadata={
            "description": "first day to search (default today, local time; not in the past)"
        },
    )
    limit = fields.Integer(
        strict=True,
        load_default=5,
        validate=validate.Range(min=1, max=MAX_OFFERS),
        metadata={"description": "how many offers at most"},
    )


def _technician_name(proposal) -> str | None:
    tech = db.session.get(Technician, proposal.technician_id)
    return tech.name if tech else None


class SlotOfferSchema(Schema):
    id = fields.Integer(metadata={"description": "book it with POST .../slot-offers/{id}/book"})
    plan_date = fields.Date()
    technician_id = fields.Integer()
    technician_name = fields.Function(_technician_name)
    start = _instant(attribute="proposal.start")
    end = _instant(attribute="proposal.end")
    eta = _instant(attribute="proposal.eta")
    cost = fields.Float(
        attribute="proposal.cost",
        metadata={
            "description": "cost added to the plan (SLA lateness, travel, moved starts), weighted"
        },
    )
    added_travel_seconds = fields.Integer(attribute="proposal.added_travel_seconds")
    eta_changes = fields.List(
        fields.Nested(EtaChangeSchema),
        attribute="proposal.eta_changes",
        metadata={"description": "other work orders whose start moves"},
    )


class SkippedDaySchema(Schema):
    date = fields.String()
    reason = fields.String()


class SlotSearchSchema(Schema):
    work_order_id = fields.Integer()
    offers = fields.List(fields.Nested(SlotOfferSchema), metadata={"description": "best first"})
    days_skipped = fields.List(fields.Nested(SkippedDaySchema))
    seconds = fields.Float(metadata={"description": "time to answer"})


slots_blp = Blueprint(
    "slot_offers",
    __name__,
    url_prefix=f"{API_PREFIX}/work-orders",
    description="Slot finder: the best feasible visits for a new work order",
)


@slots_blp.route("/<int:ident>/slot-offers", methods=["POST"], endpoint="find")
@slots_blp.arguments(SlotRequestSchema)
@slots_blp.response(201, SlotSearchSchema)
@slots_blp.doc(
    summary="Rank the best feasible visits over the next days",
    description="Searches the published plan of each day (technicians with a "
    "route and free ones); 409 when the work order is not new.",
)
def post_slot_offers(data, ident):
    wo = get_or_404(WorkOrder, ident, "work order")
    return find_slots(
        db.session,
        wo,
        current_actor(),
        days=data["days"],
        earliest=data["earliest"],
        limit=data["limit"],
        timezone=current_app.config["DEFAULT_TIMEZONE"],
    )


@slots_blp.route("/<int:ident>/slot-offers/<int:offer>/book", methods=["POST"], endpoint="book")
@slots_blp.response(200, ProposalSchema)
@slots_blp.doc(
    summary="Book one offer: schedule and pin the work order there",
    description="409 when the offer is stale (the plan or a work order it moves "
    "changed, or another offer was booked since).",
)
def post_book(ident, offer):
    wo = get_or_404(WorkOrder, ident, "work order")
    return book_slot(db.session, wo, offer, current_actor())


blueprints = [slots_blp]
