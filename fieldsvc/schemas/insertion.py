"""Emergency insertion proposals and the offer that comes with a P1 work order."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields


def _instant(**kwargs):
    """An ISO 8601 time with offset, stored as text in the proposal."""
    return fields.String(metadata={"format": "date-time"}, **kwargs)


class EtaChangeSchema(Schema):
    work_order_id = fields.Integer()
    old_start = _instant()
    new_start = _instant()
    new_end = _instant()
    eta = _instant()


class ProposalSchema(Schema):
    id = fields.Integer()
    work_order_id = fields.Integer()
    run_id = fields.Integer()
    plan_date = fields.Date()
    technician_id = fields.Integer()
    start = _instant(attribute="proposal.start")
    end = _instant(attribute="proposal.end")
    eta = _instant(attribute="proposal.eta")
    eta_changes = fields.List(fields.Nested(EtaChangeSchema), attribute="proposal.eta_changes")
    displaced = fields.List(fields.Integer(), attribute="proposal.displaced", metadata={
        "description": "work orders taken out of the plan to make room (back to new)"})
    seconds = fields.Float(attribute="proposal.seconds",
                           metadata={"description": "search time"})
    created_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)


def _accept_url(offer) -> str | None:
    if offer.proposal is None:
        return None
    return url_for("emergency_insertion.accept", ident=offer.work_order_id)


class InsertionOfferSchema(Schema):
    """`offered` true: the proposal's members; false: `reason` says why there is none."""

    offered = fields.Boolean(metadata={
        "description": "true when an insertion into the published plan is proposed"})
    proposal_id = fields.Integer(attribute="proposal.id", metadata={
        "description": "send it as `proposal_id` to `accept_url`"})
    run_id = fields.Integer(attribute="proposal.run_id")
    plan_date = fields.Date(attribute="proposal.plan_date")
    technician_id = fields.Integer(attribute="proposal.technician_id")
    start = _instant(attribute="proposal.proposal.start")
    end = _instant(attribute="proposal.proposal.end")
    eta = _instant(attribute="proposal.proposal.eta")
    eta_changes = fields.List(fields.Nested(EtaChangeSchema),
                              attribute="proposal.proposal.eta_changes",
                              metadata={"description": "work orders whose start and ETA move"})
    displaced = fields.List(fields.Integer(), attribute="proposal.proposal.displaced",
                            metadata={"description": "work orders taken out of the plan"})
    accept_url = fields.Function(_accept_url, metadata={
        "type": "string", "format": "uri-reference",
        "description": "POST {\"proposal_id\": …} here to apply the proposal"})
    reason = fields.String(metadata={"description": "why no insertion is proposed"})
