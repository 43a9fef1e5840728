"""Tracking a field visit: where it stands, when the technician comes, and the customer's
own changes (confirm, reschedule, cancel) within the rules of the contract.

The ETA window follows the published plan (the work order's ETA or planned start) and the
technician's latest location ping: once the technician is on the way, or cannot reach the
site by the planned time from where the phone last was, the travel time from there decides.
Reschedule windows are offered only where the insertion engine (fieldsvc.dispatch.insertion)
puts the visit into that day's published plan without displacing anyone; taking one applies
that insertion in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

import scheduler
from fieldsvc.context import Actor
from fieldsvc.dates import today_in, zone_of
from fieldsvc.dispatch import insertion
from fieldsvc.dispatch.mapview import HEIGHT, WIDTH, Equirectangular
from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.models import ServiceContract, Site, WorkOrder, utcnow
from fieldsvc.models.enums import WorkOrderStatus as S
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.selfservice.models import VisitConfirmation
from fieldsvc.services import work_orders as wo_service
from mobile_api.models import LocationPing

# Before the technician sets off the customer may still move or cancel the visit.
CHANGEABLE = frozenset({S.NEW, S.SCHEDULED, S.DISPATCHED})
ON_THE_WAY = frozenset({S.DISPATCHED, S.EN_ROUTE})
# A ping older than this says nothing about where the technician is now.
PING_FRESH = timedelta(minutes=30)
WINDOW_MINUTES = 120
DEFAULT_HOURS = (time(8, 0), time(18, 0))
INSERTION_SECONDS = 0.3


def customer_actor(work_order: WorkOrder) -> Actor:
    return Actor(id=None, name=f"customer {work_order.customer_id}", source="self-service")


def _contract(work_order: WorkOrder) -> ServiceContract | None:
    session = object_session(work_order)
    if work_order.contract_id is None or session is None:
        return None
    return session.get(ServiceContract, work_order.contract_id)


def zone_name(work_order: WorkOrder) -> str:
    """The visit's zone: its site's, else its contract's, else the configured one."""
    contract = _contract(work_order)
    return zone_of(
        work_order.site.timezone if work_order.site else None,
        contract.timezone if contract else None,
    )


def first_name(name: str | None) -> str:
    return (name or "").split()[0] if name and name.split() else ""


def _latest_ping(session: Session, technician_id: int, now: datetime) -> LocationPing | None:
    return session.scalar(
        select(LocationPing)
        .where(
            LocationPing.technician_id == technician_id,
            LocationPing.at >= now - PING_FRESH,
            LocationPing.at <= now + timedelta(minutes=5),
        )
        .order_by(LocationPing.at.desc())
        .limit(1)
    )


def _round(moment: datetime, minutes: int = 5, up: bool = False) -> datetime:
    """`moment` to whole `minutes`, down (or up): a window reads 10:25–11:05, not 10:27–11:03."""
    step = timedelta(minutes=minutes)
    floor = moment.replace(second=0, microsecond=0)
    floor -= timedelta(minutes=floor.minute % minutes)
    return floor + step if up and floor < moment else floor


@dataclass
class Track:
    work_order: WorkOrder
    zone: str
    technician: str
    eta_from: datetime | None
    eta_to: datetime | None
    eta_basis: str | None  # "location" or "plan"
    map_svg: dict[str, Any] | None
    confirmed: bool
    can_change: bool
    change_until: datetime | None


def travel_seconds(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> int:
    """Driving time the optimizer assumes between two points."""
    seconds, _ = scheduler.GeodesicProvider().pair(
        scheduler.Location(a_lat, a_lon), scheduler.Location(b_lat, b_lon)
    )
    return seconds


def change_deadline(work_order: WorkOrder) -> datetime | None:
    """Until when the customer may still move or cancel a planned visit."""
    if work_order.scheduled_start_at is None:
        return None
    hours = current_app.config["SELF_SERVICE_CHANGE_CUTOFF_HOURS"]
    return work_order.scheduled_start_at - timedelta(hours=hours)


def can_change(work_order: WorkOrder, now: datetime) -> bool:
    if work_order.status not in CHANGEABLE:
        return False
    deadline = change_deadline(work_order)
    return deadline is None or now < deadline


def track(session: Session, work_order: WorkOrder, now: datetime | None = None) -> Track:
    now = now or utcnow()
    site = work_order.site
    tech = work_order.technician
    eta_from = eta_to = None
    basis = None
    ping = None
    if tech is not None and work_order.status in (S.SCHEDULED, *ON_THE_WAY):
        ping = _latest_ping(session, tech.id, now) if work_order.status in ON_THE_WAY else None
        planned = work_order.eta_at or work_order.scheduled_start_at
        reach = None
        if ping is not None and site.latitude is not None and site.longitude is not None:
            reach = max(now, ping.at) + timedelta(
                seconds=travel_seconds(ping.latitude, ping.longitude, site.latitude, site.longitude)
            )
        if work_order.status is S.EN_ROUTE and reach is not None:
            eta, basis, before, after = reach, "location", 5, 15
        elif planned is not None and (reach is None or reach <= planned):
            eta, basis, before, after = max(planned, now), "plan", 30, 30
        elif reach is not None:
            eta, basis, before, after = reach, "location", 10, 20
        else:
            eta = None
        if eta is not None:
            eta_from = _round(max(now, eta - timedelta(minutes=before)))
            eta_to = _round(eta + timedelta(minutes=after), up=True)
    confirmation = session.scalar(
        select(VisitConfirmation).where(VisitConfirmation.work_order_id == work_order.id)
    )
    confirmed = (
        work_order.status in (S.SCHEDULED, *ON_THE_WAY)
        and confirmation is not None
        and work_order.scheduled_start_at is not None
        and confirmation.scheduled_start_at == work_order.scheduled_start_at
    )
    open_ = work_order.status not in wo_service.TERMINAL
    return Track(
        work_order=work_order,
        zone=zone_name(work_order),
        technician=first_name(tech.name) if tech is not None and open_ else "",
        eta_from=eta_from,
        eta_to=eta_to,
        eta_basis=basis,
        map_svg=_map(site, ping) if open_ else None,
        confirmed=confirmed,
        can_change=can_change(work_order, now),
        change_until=change_deadline(work_order),
    )


def _map(site: Site, ping: LocationPing | None) -> dict[str, Any] | None:
    """The site (and the technician, while on the way) drawn on a plain SVG background."""
    if site.latitude is None or site.longitude is None:
        return None
    points = [(site.latitude, site.longitude)]
    if ping is not None:
        points.append((ping.latitude, ping.longitude))
    margin = 0.01
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    proj = Equirectangular(
        min(lats) - margin, min(lons) - margin, max(lats) + margin, max(lons) + margin
    )
    sx, sy = proj.forward(site.latitude, site.longitude)
    out: dict[str, Any] = {"width": WIDTH, "height": HEIGHT, "site": (round(sx), round(sy))}
    if ping is not None:
        tx, ty = proj.forward(ping.latitude, ping.longitude)
        out["technician"] = (round(tx), round(ty))
    return out


# ------------------------------------------------------------------ the customer's changes


def confirm(session: Session, work_order: WorkOrder) -> None:
    if (
        work_order.status not in (S.SCHEDULED, S.DISPATCHED)
        or work_order.scheduled_start_at is None
    ):
        raise Conflict("Only a planned visit can be confirmed.", slug="not-planned")
    row = session.scalar(
        select(VisitConfirmation).where(VisitConfirmation.work_order_id == work_order.id)
    )
    if row is None:
        row = VisitConfirmation(work_order_id=work_order.id)
        session.add(row)
    row.scheduled_start_at = work_order.scheduled_start_at
    row.confirmed_at = utcnow()
    session.flush()


def _check_changeable(work_order: WorkOrder, now: datetime) -> None:
    if work_order.status not in CHANGEABLE:
        raise Conflict(
            "The technician is already on the way or the visit is over; it can no "
            "longer be changed here. Please call us.",
            slug="too-late",
        )
    if not can_change(work_order, now):
        raise Conflict(
            "Visits can be changed here until "
            f"{current_app.config['SELF_SERVICE_CHANGE_CUTOFF_HOURS']} hours "
            "before they start. Please call us.",
            slug="too-late",
        )


def cancel(
    session: Session, work_order: WorkOrder, actor: Actor, now: datetime | None = None
) -> None:
    _check_changeable(work_order, now or utcnow())
    wo_service.transition(
        session, work_order, S.CANCELLED, actor, reason="Cancelled by the customer (self-service)."
    )
    session.flush()


@dataclass(frozen=True)
class Window:
    day: date
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return self.start.isoformat()


def _coverage(work_order: WorkOrder) -> tuple[str, time, time, date | None]:
    """Weekdays and hours visits may be in: the contract's coverage, else working hours."""
    contract = _contract(work_order)
    if contract is None or contract.coverage_24x7:
        return "0123456", DEFAULT_HOURS[0], DEFAULT_HOURS[1], contract.ends_on if contract else None
    return contract.coverage_days, contract.coverage_start, contract.coverage_end, contract.ends_on


def candidate_windows(work_order: WorkOrder, now: datetime) -> list[Window]:
    """Two-hour windows from tomorrow on, inside the contract's coverage."""
    tz = ZoneInfo(zone_name(work_order))
    days_ahead = current_app.config["SELF_SERVICE_RESCHEDULE_DAYS"]
    weekdays, opens, closes, ends_on = _coverage(work_order)
    today = today_in(str(tz), now)
    out = []
    for n in range(1, days_ahead + 1):
        day = today + timedelta(days=n)
        if str(day.weekday()) not in weekdays or (ends_on is not None and day > ends_on):
            continue
        start = datetime.combine(day, opens, tz)
        last = datetime.combine(day, closes, tz)
        while start + timedelta(minutes=WINDOW_MINUTES) <= last:
            out.append(Window(day, start, start + timedelta(minutes=WINDOW_MINUTES)))
            start += timedelta(minutes=WINDOW_MINUTES)
    return out


def _job(work_order: WorkOrder, origin: datetime, window: Window) -> scheduler.Job:
    site = work_order.site
    assert site.latitude is not None and site.longitude is not None  # checked by the caller
    return scheduler.Job(
        id=str(work_order.id),
        location=scheduler.Location(site.latitude, site.longitude),
        duration=work_order.estimated_minutes * 60,
        time_windows=[
            scheduler.TimeWindow(
                int((window.start - origin).total_seconds()),
                int((window.end - origin).total_seconds()),
            )
        ],
        required_skills={s.skill.code: s.min_level for s in work_order.skills},
        priority=work_order.priority,
        parts={
            p.part.sku: p.quantity - p.issued for p in work_order.parts if p.quantity > p.issued
        },
        customer_id=str(work_order.customer_id),
    )


def feasible_windows(
    session: Session, work_order: WorkOrder, now: datetime | None = None
) -> list[Window]:
    """The candidate windows where the insertion engine fits the visit into that day's
    published plan with no other visit displaced. Days without a published plan offer none."""
    now = now or utcnow()
    site = work_order.site
    if site.latitude is None or site.longitude is None:
        return []
    tz = zone_name(work_order)
    by_day: dict[date, list[Window]] = {}
    for w in candidate_windows(work_order, now):
        by_day.setdefault(w.day, []).append(w)
    feasible = []
    for day, windows in by_day.items():
        run = insertion._published_run(session, day, site.territory)
        if run is None:
            continue
        snapshot = build_snapshot(session, day, territory=run.territory, timezone=tz)
        problem = snapshot.problem
        others = [j for j in problem.jobs if j.id != str(work_order.id)]
        known = {j.id for j in others}
        plan = insertion._only_known_jobs(insertion.current_plan(session, run), known)
        for w in windows:
            job = _job(work_order, snapshot.origin, w)
            result = scheduler.insert_emergency(
                replace(problem, jobs=others), plan, job, time_limit=INSERTION_SECONDS
            )
            if result.technician_id is not None and not result.displaced:
                feasible.append(w)
    return feasible


def reschedule(
    session: Session,
    work_order: WorkOrder,
    start_iso: str,
    actor: Actor,
    now: datetime | None = None,
) -> None:
    """Move the visit into the window starting at `start_iso` (one of the offered ones)."""
    now = now or utcnow()
    _check_changeable(work_order, now)
    try:
        start = datetime.fromisoformat(start_iso)
    except (TypeError, ValueError):
        raise InvalidInput({"window": ["Choose one of the windows offered."]}) from None
    window = next((w for w in candidate_windows(work_order, now) if w.start == start), None)
    if window is None:
        raise InvalidInput({"window": ["Choose one of the windows offered."]})
    reason = "Rescheduled by the customer (self-service)."
    if work_order.status is S.DISPATCHED:
        wo_service.transition(session, work_order, S.SCHEDULED, actor, reason=reason)
    if work_order.status is S.SCHEDULED:
        wo_service.transition(session, work_order, S.NEW, actor, reason=reason)
    wo_service.update_work_order(
        session,
        work_order,
        {"time_windows": [{"starts_at": window.start, "ends_at": window.end}], "pinned": False},
        actor,
    )
    session.flush()
    try:
        proposal = insertion.propose_insertion(
            session,
            work_order,
            actor,
            plan_date=window.day,
            timezone=zone_name(work_order),
            now=now,
        )
    except Conflict:
        raise Conflict(
            "That window is no longer free. Choose another one.", slug="window-taken"
        ) from None
    if proposal.proposal["displaced"]:
        raise Conflict("That window is no longer free. Choose another one.", slug="window-taken")
    insertion.accept_insertion(session, work_order, actor, proposal.id)
    session.flush()
