"""Editing a work order from its page, as far as the signed-in role may (the policy matrix):
the details, time windows, parts and checklist (update), a status change (transition) and
assign-and-pin (assign). Each form goes through the API's schema and the same services as
the API (version bump, audit, change feed, the P1 offer, the hand-assignment rules); a
refusal is rolled back and shown as a message."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from fieldsvc.api.resources.work_orders import _update
from fieldsvc.console import bp
from fieldsvc.console.i18n import gettext as _
from fieldsvc.console.i18n import label
from fieldsvc.console.views import get_or_404, requires
from fieldsvc.context import current_actor
from fieldsvc.dispatch import board as board_service
from fieldsvc.extensions import db
from fieldsvc.models import Part, WorkOrder
from fieldsvc.problems import Problem, field_messages
from fieldsvc.schemas.work_orders import WorkOrderUpdateSchema
from fieldsvc.services import work_orders as service

MAX_LINES = 100


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def _refused(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        messages = field_messages(exc, schema_key="form")
        return _("The form contains invalid fields.") + " " + "; ".join(
            f"{k}: {v}" for k, v in messages.items())
    assert isinstance(exc, Problem)
    if exc.extensions.get("violations"):
        return " ".join([_("Refused: this breaks the planning rules.")]
                        + [f"{_(v['message'])} ({v['detail']})"
                           for v in exc.extensions["violations"]])
    errors = exc.extensions.get("errors") or {}
    return " ".join([_(str(exc.detail or exc.title))] + [f"{k}: {v}" for k, v in errors.items()])


def _back(ident: int):
    return redirect(url_for("console.work_order", ident=ident))


def _local(day: str, clock: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock),
                                tzinfo=_tz())
    except ValueError:
        raise ValidationError({"time": [_("Give a date and a time.")]}) from None


def _lines(name: str) -> list[str]:
    lines = [x.strip() for x in (request.form.get(name) or "").splitlines() if x.strip()]
    if len(lines) > MAX_LINES:
        raise ValidationError({name: [_("At most %(n)s lines.", n=MAX_LINES)]})
    return lines


def _payload(job: WorkOrder) -> dict:
    """The form as the API's PATCH body (only what changed or was filled in)."""
    form = request.form
    data: dict = {}
    for key in ("summary", "description"):
        value = (form.get(key) or "").strip()
        if value != (getattr(job, key) or ""):
            data[key] = value or None if key == "description" else value
    for key in ("priority", "estimated_minutes"):
        raw = (form.get(key) or "").strip()
        if raw and raw != str(getattr(job, key)):
            data[key] = int(raw) if raw.isdigit() and len(raw) < 7 else raw
    if form.get("window_day"):
        data["time_windows"] = [{
            "starts_at": _local(form["window_day"], form.get("window_from") or "").isoformat(),
            "ends_at": _local(form["window_day"], form.get("window_to") or "").isoformat()}]
    elif form.get("clear_windows"):
        data["time_windows"] = []
    parts = _lines("parts")
    if parts or form.get("parts_shown"):
        wanted = []
        for line in parts:
            sku, _sep, qty = line.rpartition(" ")
            part = db.session.scalar(select(Part).where(Part.sku == sku.strip()))
            if part is None or not qty.isdigit():
                raise ValidationError({"parts": [_("Write each line as: SKU quantity.")]})
            wanted.append({"part_id": part.id, "quantity": int(qty)})
        current = sorted((p.part_id, p.quantity) for p in job.parts)
        if sorted((w["part_id"], w["quantity"]) for w in wanted) != current:
            data["parts"] = wanted
    checklist = []
    for line in _lines("checklist"):
        done = line.startswith("[x]")
        checklist.append({"item": line[3:].strip() if done else line, "done": done})
    old = [{"item": c.get("item"), "done": bool(c.get("done"))} for c in job.checklist or []]
    if checklist != old and (checklist or form.get("checklist_shown")):
        data["checklist"] = checklist
    return data


@bp.post("/console/work-orders/<int:ident>/edit")
@requires("work-orders", "update")
def edit_work_order(ident: int):
    job = get_or_404(db.session, WorkOrder, ident)
    try:
        data = WorkOrderUpdateSchema().load(_payload(job))
        if data:
            _update(db.session, job, data, current_actor())
            db.session.flush()
    except (Problem, ValidationError) as exc:
        db.session.rollback()
        flash(_refused(exc))
        return _back(ident)
    flash(_("Work order %(id)s saved.", id=ident) if data else _("Nothing changed."))
    return _back(ident)


@bp.post("/console/work-orders/<int:ident>/status")
@requires("work-orders", "transition")
def change_status(ident: int):
    job = get_or_404(db.session, WorkOrder, ident)
    target = request.form.get("to") or ""
    try:
        if target not in service.allowed_targets(job.status):
            raise ValidationError({"to": [_("Choose one of the allowed statuses.")]})
        service.transition(db.session, job, target, current_actor(),
                           reason=(request.form.get("reason") or "").strip()[:4000] or None)
        db.session.flush()
    except (Problem, ValidationError) as exc:
        db.session.rollback()
        flash(_refused(exc))
        return _back(ident)
    flash(_("Work order %(id)s is now %(status)s.", id=ident, status=label(target)))
    return _back(ident)


@bp.post("/console/work-orders/<int:ident>/assign")
@requires("work-orders", "assign")
def assign_work_order(ident: int):
    job = get_or_404(db.session, WorkOrder, ident)
    raw = (request.form.get("technician_id") or "").strip()
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise ValidationError({"technician_id": [_("Choose one.")]})
        start = _local(request.form.get("day") or "", request.form.get("start") or "")
        board_service.assign_and_pin(
            db.session, job, int(raw), start, current_actor(),
            timezone=current_app.config["DEFAULT_TIMEZONE"],
            override_reason=(request.form.get("override_reason") or "")[:500])
        db.session.flush()
    except (Problem, ValidationError) as exc:
        db.session.rollback()
        flash(_refused(exc))
        return _back(ident)
    flash(_("Work order %(id)s assigned to %(name)s at %(at)s and pinned.", id=ident,
            name=job.technician.name, at=start.strftime("%H:%M")))
    return _back(ident)
