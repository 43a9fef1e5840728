"""The dispatcher's console: the board of a day, optimizer runs, plan review, the map.

Pages for signed-in dispatchers (managers and admins may look; only dispatchers and admins
change anything). Every change goes through the same services as the JSON API (request a
run, publish, assign, emergency insertion), posted as forms with the CSRF token; a refused
change is rolled back and shown as a message. A small vendored script (static/dispatch/)
adds progress polling and drag and drop; without it, every action still works with forms.

Configuration: `FIELDSVC_TILE_URL` (e.g. `https://tiles.example/{z}/{x}/{y}.png`, default
empty) draws map tiles from that server behind the routes; without it the map is a plain
projected background that needs no network.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fieldsvc.auth.decorators import roles_required
from fieldsvc.console.i18n import gettext as _
from fieldsvc.context import current_actor
from fieldsvc.dates import local_moment, local_today, zone_of
from fieldsvc.dispatch import board as board_service
from fieldsvc.dispatch.insertion import accept_insertion, propose_insertion
from fieldsvc.dispatch.mapview import build_map
from fieldsvc.dispatch.offer import offer_if_emergency
from fieldsvc.dispatch.publish import request_publish
from fieldsvc.dispatch.queue import PUBLISH, check_queue, enqueue_after_commit
from fieldsvc.dispatch.runs import request_run
from fieldsvc.extensions import db
from fieldsvc.models import InsertionProposal, OptimizationRun, Skill, Technician, WorkOrder
from fieldsvc.problems import Problem, field_messages

bp = Blueprint("console_dispatch", __name__, url_prefix="/console/dispatch")
READERS = ("dispatcher", "manager", "admin")
WRITERS = ("dispatcher", "admin")
CONSOLE_TIME_LIMIT = 10  # seconds of search for a run started from the board
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def offer_emergency(work_order: WorkOrder, old_priority: int | None) -> None:
    """After a console create or change: when the work order became P1, propose its
    insertion into the published plan of its day (that of its first window not yet over,
    read in its site's zone; else today) and say how it went (never fails the change)."""
    zone_name = zone_of(work_order.site.timezone if work_order.site else None,
                        default=current_app.config["DEFAULT_TIMEZONE"])
    offer = offer_if_emergency(db.session, work_order, old_priority, current_actor(),
                               timezone=zone_name)
    if offer is None:
        return
    if offer.proposal is not None:
        eta = datetime.fromisoformat(offer.proposal.proposal["eta"])
        flash(_("Emergency insertion proposed for work order %(id)s (proposal %(proposal)s, "
                "ETA %(eta)s): accept it on the dispatch board.", id=work_order.id,
                proposal=offer.proposal.id, eta=local_moment(eta, zone_name, "%Y-%m-%d %H:%M",
                                                             zone_label=_(zone_name))))
    else:
        flash(_("No emergency insertion proposed for work order %(id)s: %(reason)s",
                id=work_order.id, reason=offer.reason))


def _p1_offers(offers: list[InsertionProposal]) -> list[dict]:
    """The waiting emergency offers as the board's highlighted cards: the work order, its
    site's zone (times are read there), the proposed technician, start and ETA."""
    if not offers:
        return []
    orders = {w.id: w for w in db.session.scalars(
        select(WorkOrder).where(WorkOrder.id.in_([o.work_order_id for o in offers]))
        .options(selectinload(WorkOrder.site), selectinload(WorkOrder.customer)))}
    technicians = {t.id: t for t in db.session.scalars(
        select(Technician).where(Technician.id.in_({o.technician_id for o in offers})))}
    cards = []
    for offer in offers:
        work_order = orders.get(offer.work_order_id)
        if work_order is None:
            continue
        cards.append({
            "offer": offer, "work_order": work_order,
            "technician": technicians.get(offer.technician_id),
            "zone": zone_of(work_order.site.timezone if work_order.site else None,
                            default=current_app.config["DEFAULT_TIMEZONE"]),
            "start": datetime.fromisoformat(offer.proposal["start"]),
            "eta": datetime.fromisoformat(offer.proposal["eta"]),
            "changes": len(offer.proposal.get("eta_changes", []))})
    return cards


def _today() -> date:
    return local_today()


def _day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if date(2000, 1, 1) <= day <= date(2200, 1, 1) else None


def _territory(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:80] or None


def _where() -> tuple[date, str | None]:
    """The day and territory of this request (query string or form), today/all by default."""
    source = request.form if request.method == "POST" else request.args
    return _day(source.get("date")) or _today(), _territory(source.get("territory"))


def _back(day: date, territory: str | None, **extra) -> str:
    return url_for("console_dispatch.board", date=day.isoformat(), territory=territory or None,
                   **extra)


def _id(value: str | None, name: str) -> int:
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 18 or int(value) == 0:
        raise ValidationError({name: [_("Choose one.")]})
    return int(value)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        messages = field_messages(exc, schema_key="")
        base = _("The form contains invalid fields.")
    elif exc.extensions.get("violations"):
        return " ".join([_("Refused: this breaks the planning rules.")]
                        + [f"{_(v['message'])} ({v['detail']})"
                           for v in exc.extensions["violations"]]
                        + [_("Give an override reason to assign it anyway.")])
    else:
        messages = exc.extensions.get("errors") or {}
        base = _(str(exc.detail or exc.title))
    details = "; ".join(f"{k}: {' '.join(_(str(m)) for m in (v if isinstance(v, list) else [v]))}"
                        for k, v in messages.items())
    return f"{base} {details}".strip()


def _attempt(action):
    """Run one change; on refusal roll it back, tell the user why and return None."""
    try:
        result = action()
        db.session.flush()
        return result
    except (Problem, ValidationError) as exc:
        db.session.rollback()
        flash(_message(exc))
        return None


def _territories() -> list[str]:
    return list(db.session.scalars(
        select(Technician.territory).where(Technician.territory.is_not(None),
                                           Technician.active.is_(True))
        .distinct().order_by(Technician.territory)))


def current_user_role() -> str:
    return current_user.user.role.value


def _run_or_404(ident: int) -> OptimizationRun:
    run = db.session.get(OptimizationRun, ident) if 0 < ident < 2**63 else None
    if run is None:
        abort(404)
    return run


@bp.get("")
@roles_required(*READERS)
def board():
    day, territory = _where()
    skills = list(db.session.scalars(select(Skill).order_by(Skill.code)))
    # An unknown skill shows the whole board, as an unknown territory or day falls back.
    skill = next((s for s in skills if s.code == request.args.get("skill")), None)
    data = board_service.build_board(
        db.session, day, territory, current_app.config["DEFAULT_TIMEZONE"],
        risk_minutes=current_app.config.get("SLA_RISK_MINUTES", 60),
        skill_id=skill.id if skill else None,
        whole_day=request.args.get("zoom") == "day")
    watched = None
    run_arg = request.args.get("run", "")
    if run_arg.isdigit() and len(run_arg) < 18:
        watched = db.session.get(OptimizationRun, int(run_arg))
    watched = watched or data.active_run
    proposal = None
    proposal_arg = request.args.get("proposal", "")
    if proposal_arg.isdigit() and len(proposal_arg) < 18:
        proposal = db.session.get(InsertionProposal, int(proposal_arg))
    changes = []
    if proposal is not None:
        ids = [c["work_order_id"] for c in proposal.proposal.get("eta_changes", [])]
        orders = {w.id: w for w in db.session.scalars(
            select(WorkOrder).where(WorkOrder.id.in_(ids or [0])))}
        for change in proposal.proposal.get("eta_changes", []):
            changes.append({
                "work_order": orders.get(change["work_order_id"]),
                "id": change["work_order_id"],
                "old": datetime.fromisoformat(change["old_start"]),
                "new": datetime.fromisoformat(change["new_start"])})
    can_write = current_user_role() in WRITERS
    return render_template(
        "console/dispatch/board.html", board=data, territories=_territories(),
        p1_offers=_p1_offers(data.offers),
        # Proposal times are stored as ISO moments; the board reads them on its own clock.
        board_zone=current_app.config["DEFAULT_TIMEZONE"],
        offer_etas={o.id: datetime.fromisoformat(o.proposal["eta"]) for o in data.offers},
        proposal_times=({k: datetime.fromisoformat(proposal.proposal[k]) for k in ("start", "eta")}
                        if proposal else None),
        watched=watched, proposal=proposal, eta_changes=changes, can_write=can_write,
        proposal_technician=(db.session.get(Technician, proposal.technician_id)
                             if proposal else None),
        technicians=[lane.technician for lane in data.lanes], today=_today(),
        skills=skills, skill=skill,
        time_limit=CONSOLE_TIME_LIMIT, prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1))


@bp.post("/runs")
@roles_required(*WRITERS)
def start_run():
    day, territory = _where()
    raw_limit = request.form.get("time_limit", "").strip() or str(CONSOLE_TIME_LIMIT)

    def action():
        try:
            limit = float(raw_limit)
        except ValueError:
            raise ValidationError({"time_limit": [_("Give a number of seconds.")]}) from None
        if not 1 <= limit <= 600:
            raise ValidationError({"time_limit": [_("Between 1 and 600 seconds.")]})
        return request_run(db.session, current_actor(), plan_date=day, territory=territory,
                           time_limit=limit)

    run = _attempt(action)
    if run is None:
        return redirect(_back(day, territory))
    enqueue_after_commit(current_app._get_current_object(), run.id)
    flash(_("Optimization run %(id)s queued.", id=run.id))
    return redirect(_back(day, territory, run=run.id))


@bp.get("/runs/<int:ident>/status")
@roles_required(*READERS)
def run_status(ident: int):
    """The run's progress as JSON, for the board's poller (the API wants a bearer token)."""
    run = _run_or_404(ident)
    return jsonify({
        "id": run.id, "status": run.status.value, "progress": run.progress,
        "message": run.message, "error": run.error, "assigned_count": run.assigned_count,
        "unassigned_count": run.unassigned_count,
        "published": run.published_at is not None,
        "publish_status": run.publish_status, "publish_progress": run.publish_progress,
        "publish_message": run.publish_message,
        "review_url": url_for("console_dispatch.review", ident=run.id),
    })


@bp.get("/runs/<int:ident>")
@roles_required(*READERS)
def review(ident: int):
    run = _run_or_404(ident)
    diff = board_service.plan_diff(db.session, run)
    return render_template("console/dispatch/review.html", run=run, diff=diff, tz=_tz(),
                           can_write=current_user_role() in WRITERS,
                           violations=(run.result or {}).get("violations") or [])


@bp.post("/runs/<int:ident>/publish")
@roles_required(*WRITERS)
def publish(ident: int):
    run = _run_or_404(ident)
    def action() -> bool:
        check_queue(current_app._get_current_object())  # nothing is written without a queue
        return request_publish(db.session, run, current_actor())

    queued = _attempt(action)
    if queued is None:
        return redirect(url_for("console_dispatch.review", ident=ident))
    if queued:
        enqueue_after_commit(current_app._get_current_object(), run.id, PUBLISH)
        flash(_("Run %(id)s is being published; this page shows how far it got.", id=run.id))
    else:
        flash(_("Run %(id)s is already being published.", id=run.id))
    return redirect(url_for("console_dispatch.review", ident=ident))


@bp.post("/assign")
@roles_required(*WRITERS)
def assign():
    day, territory = _where()

    def action():
        wo_id = _id(request.form.get("work_order_id"), "work_order_id")
        tech_id = _id(request.form.get("technician_id"), "technician_id")
        match = _TIME.match(request.form.get("start", "").strip())
        if match is None:
            raise ValidationError({"start": [_("Give the start as HH:MM.")]})
        wo = db.session.get(WorkOrder, wo_id)
        if wo is None:
            raise ValidationError({"work_order_id": [_("No work order with id %(id)s.", id=wo_id)]})
        start = datetime.combine(day, time(int(match[1]), int(match[2])), tzinfo=_tz())
        board_service.assign_and_pin(
            db.session, wo, tech_id, start, current_actor(),
            timezone=current_app.config["DEFAULT_TIMEZONE"],
            override_reason=request.form.get("override_reason", "")[:500])
        return wo, start

    done = _attempt(action)
    if done is not None:
        wo, start = done
        flash(_("Work order %(id)s assigned to %(name)s at %(at)s and pinned.",
                id=wo.id, name=wo.technician.name, at=start.strftime("%H:%M")))
    return redirect(_back(day, territory))


@bp.post("/emergency")
@roles_required(*WRITERS)
def emergency():
    day, territory = _where()

    def action():
        wo_id = _id(request.form.get("work_order_id"), "work_order_id")
        wo = db.session.get(WorkOrder, wo_id)
        if wo is None:
            raise ValidationError({"work_order_id": [_("No work order with id %(id)s.", id=wo_id)]})
        return propose_insertion(db.session, wo, current_actor(), plan_date=day,
                                 timezone=current_app.config["DEFAULT_TIMEZONE"])

    proposal = _attempt(action)
    if proposal is None:
        return redirect(_back(day, territory))
    return redirect(_back(day, territory, proposal=proposal.id) + "#emergency")


@bp.post("/emergency/<int:ident>/accept")
@roles_required(*WRITERS)
def accept(ident: int):
    day, territory = _where()
    proposal = db.session.get(InsertionProposal, ident) if 0 < ident < 2**63 else None
    if proposal is None:
        abort(404)
    wo = db.session.get(WorkOrder, proposal.work_order_id)
    done = _attempt(lambda: accept_insertion(db.session, wo, current_actor(), proposal.id))
    if done is not None:
        flash(_("Emergency work order %(id)s inserted; %(n)s ETAs changed.",
                id=wo.id, n=len(done.proposal.get("eta_changes", []))))
    return redirect(_back(day, territory))


@bp.get("/map")
@roles_required(*READERS)
def map_view():
    day, territory = _where()
    data = board_service.build_board(
        db.session, day, territory, current_app.config["DEFAULT_TIMEZONE"],
        risk_minutes=current_app.config.get("SLA_RISK_MINUTES", 60))
    view = build_map(data, current_app.config.get("TILE_URL") or None)
    return render_template("console/dispatch/map.html", board=data, view=view,
                           territories=_territories())

