"""The slot finder on the work-order page: "Find a slot" lists the best feasible visits over
the next days (the same search as POST /api/v1/work-orders/{id}/slot-offers) and "Book"
books one (scheduled and pinned where offered). Agents and dispatchers, by the policy."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, request, url_for
from sqlalchemy import select

from fieldsvc.console import bp
from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.views import get_or_404, requires
from fieldsvc.context import current_actor
from fieldsvc.dispatch.slots import KIND, MAX_DAYS, book_slot, find_slots
from fieldsvc.extensions import db
from fieldsvc.models import InsertionProposal, Technician, WorkOrder
from fieldsvc.problems import Problem

SEARCH_DAYS = 3


def latest_offers(work_order: WorkOrder) -> list[dict]:
    """The offers of the work order's last search still open, best first, for the page."""
    recent = list(db.session.scalars(
        select(InsertionProposal).where(InsertionProposal.work_order_id == work_order.id)
        .order_by(InsertionProposal.id.desc()).limit(50)))
    offers = [p for p in recent if p.proposal.get("kind") == KIND]
    if not offers or any(p.accepted_at is not None for p in offers[:1]):
        return []
    last = offers[0].created_at
    offers = [p for p in offers if p.created_at == last and p.accepted_at is None]
    tz = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    names = {t.id: t.name for t in db.session.scalars(
        select(Technician).where(Technician.id.in_({p.technician_id for p in offers})))}
    rows = []
    for p in sorted(offers, key=lambda p: p.proposal["cost"]):
        start = datetime.fromisoformat(p.proposal["start"]).astimezone(tz)
        end = datetime.fromisoformat(p.proposal["end"]).astimezone(tz)
        rows.append({"id": p.id, "technician": names.get(p.technician_id, ""),
                     "day": start.date().isoformat(), "start": start.strftime("%H:%M"),
                     "end": end.strftime("%H:%M"), "cost": p.proposal["cost"],
                     "moved": len(p.proposal["eta_changes"])})
    return rows


@bp.post("/console/work-orders/<int:ident>/slot-offers")
@requires("work-orders", "slot-offers")
def find_slot(ident: int):
    job = get_or_404(db.session, WorkOrder, ident)
    raw = (request.form.get("days") or str(SEARCH_DAYS)).strip()
    days = int(raw) if raw.isdigit() and len(raw) < 3 else 0
    try:
        search = find_slots(db.session, job, current_actor(), days=days, earliest=None,
                            timezone=current_app.config["DEFAULT_TIMEZONE"])
    except Problem as exc:
        db.session.rollback()
        if days < 1 or days > MAX_DAYS:
            flash(_("Search between 1 and %(n)s days ahead.", n=MAX_DAYS))
        else:
            flash(_(str(exc.detail or exc.title)))
        return redirect(url_for("console.work_order", ident=ident))
    if not search.offers:
        flash(_("No feasible visit in the next %(n)s days.", n=days) + " " + " ".join(
            f"{d['date']}: {_(d['reason'])}" for d in search.days_skipped))
    return redirect(url_for("console.work_order", ident=ident) + "#slots")


@bp.post("/console/work-orders/<int:ident>/slot-offers/<int:offer>/book")
@requires("work-orders", "book")
def book_slot_offer(ident: int, offer: int):
    job = get_or_404(db.session, WorkOrder, ident)
    try:
        proposal = book_slot(db.session, job, offer, current_actor())
        db.session.flush()
    except Problem as exc:
        db.session.rollback()
        flash(_(str(exc.detail or exc.title)))
        return redirect(url_for("console.work_order", ident=ident) + "#slots")
    tz = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    start = datetime.fromisoformat(proposal.proposal["start"]).astimezone(tz)
    flash(_("Work order %(id)s booked with %(name)s on %(day)s at %(at)s.", id=job.id,
            name=job.technician.name, day=start.date().isoformat(),
            at=start.strftime("%H:%M")))
    return redirect(url_for("console.work_order", ident=ident))
