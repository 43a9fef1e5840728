"""The self-service pages (`/self-service`): public, no sign-in, reached from signed links.

Every page under a token resolves the link first (403 tampered or unknown, 410 expired);
what it shows or changes is read from the link's subject only. Forms post with the CSRF
token and the link's action count (links.take_step), so a form cannot be sent twice. A
refused action is rolled back and the page is shown again with the reason and the 4xx
status; every change runs as a `self-service` actor, so the audit log names the source.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from fieldsvc.context import acting_as
from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder
from fieldsvc.problems import InvalidInput, Problem
from fieldsvc.recall import ics
from fieldsvc.selfservice import links, owner, visit
from fieldsvc.selfservice.links import LinkRefused
from fieldsvc.selfservice.models import SelfServiceLink

bp = Blueprint(
    "selfservice",
    __name__,
    url_prefix="/self-service",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


# What a customer is told for the refusals they can meet, rather than the staff wording
# (campaign codes, counts) of the services' messages.
FOR_CUSTOMERS = {
    "day-full": "That day has just been taken. Choose another day.",
    "already-booked": "This car is booked already for this recall.",
    "illegal-transition": "That is not possible any more. The page shows where things stand.",
    "campaign-not-active": "This recall is closed.",
    "remedy-unavailable": "The parts for this repair are not available yet. We will write to "
    "you when you can book.",
}


def _message(exc: Problem) -> str:
    if exc.slug in FOR_CUSTOMERS:
        return FOR_CUSTOMERS[exc.slug]
    errors = exc.extensions.get("errors") or {}
    details = " ".join(" ".join(map(str, v)) for v in errors.values())
    return (details or exc.detail or exc.title).strip()


@bp.errorhandler(LinkRefused)
def _link_refused(exc: LinkRefused):
    db.session.rollback()
    return render_template("selfservice/refused.html", problem=exc), exc.status


def _int(name: str) -> int:
    value = request.form.get(name, "").strip()
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput({name: ["Choose one of the options offered."]})
    return int(value)


def _day(name: str = "day") -> date:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise InvalidInput({name: ["Choose one of the days offered."]}) from None


# ------------------------------------------------------------------ landing and VIN check


def home():
    return render_template("selfservice/home.html")


def lookup():
    """VIN and phone digits: on a match, on to the VIN's recall page (a fresh link)."""
    try:
        vin = owner.verify(db.session, request.form.get("vin"), request.form.get("digits"))
    except Problem as exc:
        db.session.rollback()
        return render_template(
            "selfservice/home.html", error=_message(exc), vin=request.form.get("vin", "")[:17]
        ), exc.status
    with acting_as(owner.owner_actor(vin)):
        token = links.issue(db.session, links.RECALL, vin=vin)
    return redirect(url_for("selfservice.recall", token=token), 303)


# ------------------------------------------------------------------ recall self-booking


def _recall_page(token: str, link: SelfServiceLink, error: str | None = None, status: int = 200):
    views = owner.campaigns_for(db.session, links.vin_of(link), first=link.campaign_id)
    return render_template(
        "selfservice/recall.html",
        token=token,
        link=link,
        vin=links.vin_of(link),
        views=views,
        error=error,
    ), status


def recall(token: str):
    link = links.resolve(db.session, token, links.RECALL)
    return _recall_page(token, link)


def _recall_action(token: str, action, done: str):
    link = links.resolve(db.session, token, links.RECALL)
    try:
        with acting_as(owner.owner_actor(links.vin_of(link))):
            links.take_step(db.session, link, request.form.get("step"))
            action(links.vin_of(link))
            db.session.flush()
    except Problem as exc:
        db.session.rollback()
        link = links.resolve(db.session, token, links.RECALL)
        return _recall_page(token, link, _message(exc), exc.status)
    flash(done)
    return redirect(url_for("selfservice.recall", token=token), 303)


def recall_book(token: str):
    return _recall_action(
        token,
        lambda vin: owner.book(db.session, vin, _int("campaign_id"), _int("dealership_id"), _day()),
        "Booked.",
    )


def recall_reschedule(token: str):
    return _recall_action(
        token,
        lambda vin: owner.reschedule(
            db.session, vin, _int("campaign_id"), _int("dealership_id"), _day()
        ),
        "Moved.",
    )


def recall_cancel(token: str):
    return _recall_action(
        token, lambda vin: owner.cancel(db.session, vin, _int("campaign_id")), "Cancelled."
    )


def recall_ics(token: str, campaign_id: int):
    link = links.resolve(db.session, token, links.RECALL)
    appointment = (
        owner.appointment_of(db.session, links.vin_of(link), campaign_id)
        if 0 < campaign_id < 2**63
        else None
    )
    if appointment is None or appointment.day is None:
        return render_template(
            "selfservice/refused.html",
            problem=Problem(
                "Nothing is booked for this recall yet.", status=404, title="Not found"
            ),
        ), 404
    body = ics.appointment_ics(appointment)
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="recall-{appointment.campaign.code}.ics"'
        },
    )


# ------------------------------------------------------------------ tracking a visit


def _work_order(link: SelfServiceLink) -> WorkOrder:
    work_order = db.session.get(WorkOrder, link.work_order_id)
    if work_order is None:
        raise LinkRefused("This link is not valid any more.")
    return work_order


def _track_page(token: str, link: SelfServiceLink, error: str | None = None, status: int = 200):
    work_order = _work_order(link)
    return render_template(
        "selfservice/track.html",
        token=token,
        link=link,
        t=visit.track(db.session, work_order),
        error=error,
    ), status


def track(token: str):
    link = links.resolve(db.session, token, links.TRACK)
    return _track_page(token, link)


def _track_action(token: str, action, done: str):
    link = links.resolve(db.session, token, links.TRACK)
    work_order = _work_order(link)
    actor = visit.customer_actor(work_order)
    try:
        with acting_as(actor):
            links.take_step(db.session, link, request.form.get("step"))
            action(work_order, actor)
            db.session.flush()
    except Problem as exc:
        db.session.rollback()
        link = links.resolve(db.session, token, links.TRACK)
        return _track_page(token, link, _message(exc), exc.status)
    flash(done)
    return redirect(url_for("selfservice.track", token=token), 303)


def track_confirm(token: str):
    return _track_action(
        token,
        lambda wo, actor: visit.confirm(db.session, wo),
        "Thank you: we told the technician you will be home.",
    )


def track_cancel(token: str):
    return _track_action(
        token, lambda wo, actor: visit.cancel(db.session, wo, actor), "The visit is cancelled."
    )


def track_reschedule(token: str):
    return _track_action(
        token,
        lambda wo, actor: visit.reschedule(db.session, wo, request.form.get("window", ""), actor),
        "The visit is moved.",
    )


def track_windows(token: str):
    link = links.resolve(db.session, token, links.TRACK)
    work_order = _work_order(link)
    t = visit.track(db.session, work_order)
    windows = visit.feasible_windows(db.session, work_order) if t.can_change else []
    return render_template("selfservice/windows.html", token=token, link=link, t=t, windows=windows)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@bp.context_processor
def _formatting():
    from fieldsvc.console.i18n import gettext
    from fieldsvc.dates import zone

    def clock(moment, zone_name: str) -> str:
        return moment.astimezone(zone(zone_name)).strftime("%H:%M") if moment else ""

    def day_label(day) -> str:
        return f"{gettext(WEEKDAYS[day.weekday()])} {day.isoformat()}"

    def when(moment, zone_name: str) -> str:
        local = moment.astimezone(zone(zone_name))
        return f"{day_label(local.date())} {local.strftime('%H:%M')}"

    def local_day(moment, zone_name: str):
        return moment.astimezone(zone(zone_name)).date()

    return {"clock": clock, "day_label": day_label, "when": when, "local_day": local_day}
