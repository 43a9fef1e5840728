"""Allocation: invite the owners of a campaign's active phases to dealership days.

Reads the affected vehicles and the free places from the database, lets
`scheduler.recall.allocate` (a min-cost flow) choose, then writes the invitations: each
takes its place in the ledger (invitations hold capacity, see booking), one
conditional UPDATE per dealership-day, so a booking made meanwhile is never overrun. The
places offered are the campaign's reservation on a day where it has one, else the
shared pool's free places, net of every campaign's bookings and invitations: allocating
one campaign after another never puts more owners on a shared day than it has.

Who is allocated: every affected VIN of the campaign whose owner is known (the VIN is
matched to an asset) and whose region (the asset's site, else the customer's) has a phase
that has started, unless it already has an appointment — except an invitation without a
place (a re-invited no-show), which gets one. Days run from tomorrow (at the earliest the
phase start) for `horizon_days`.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from fieldsvc.context import Actor
from fieldsvc.dates import local_today
from fieldsvc.models import Asset, Customer, Site, utcnow
from fieldsvc.models.enums import AppointmentStatus as A
from fieldsvc.notify import domain as notify
from fieldsvc.problems import Conflict
from fieldsvc.recall.booking import check_bookable, take_places
from fieldsvc.recall.events import appointment_event
from fieldsvc.recall.models import (
    CampaignVin,
    Dealership,
    DealershipDay,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
)
from fieldsvc.recall.services import daily_capacity, place_minutes
from scheduler import recall as solver

DEFAULT_HORIZON_DAYS = 30
MAX_REPORTED = 500
UNKNOWN_OWNER = "unknown-owner"
NO_PHASE = "no-phase"
TAKEN_MEANWHILE = "taken-meanwhile"


def _key(region: str | None) -> str:
    return (region or "").strip().casefold()


def _owners(session: Session, campaign: RecallCampaign):
    """(vin, asset_id, customer_id, region, lat, lon, appointment) of every affected VIN."""
    own_site = aliased(Site)
    first_site = (select(Site.customer_id, func.min(Site.id).label("site_id"))
                  .group_by(Site.customer_id).subquery())
    any_site = aliased(Site)
    stmt = (
        select(CampaignVin.vin, Asset.id, Asset.customer_id,
               func.coalesce(own_site.region, any_site.region, Customer.region),
               func.coalesce(own_site.latitude, any_site.latitude),
               func.coalesce(own_site.longitude, any_site.longitude),
               RecallAppointment)
        .select_from(CampaignVin)
        .outerjoin(Asset, Asset.id == CampaignVin.asset_id)
        .outerjoin(Customer, Customer.id == Asset.customer_id)
        .outerjoin(own_site, own_site.id == Asset.site_id)
        .outerjoin(first_site, first_site.c.customer_id == Asset.customer_id)
        .outerjoin(any_site, and_(Asset.site_id.is_(None),
                                  any_site.id == first_site.c.site_id))
        .outerjoin(RecallAppointment, and_(RecallAppointment.campaign_id == campaign.id,
                                           RecallAppointment.vin == CampaignVin.vin))
        .where(CampaignVin.campaign_id == campaign.id)
        .order_by(CampaignVin.id)
    )
    return session.execute(stmt).all()


def _free_places(session: Session, campaign: RecallCampaign, dealerships: list[Dealership],
                 first: date, last: date, minutes: int) -> dict[int, dict[date, int]]:
    """Free places the campaign may take per dealership and day.

    Its reservation where it has one, else the shared pool: the places no campaign (this
    one or another) has booked or been invited to. Days without a ledger row show the
    formula.
    """
    shared: dict[tuple[int, date], int] = {}
    own: dict[tuple[int, date], int] = {}
    for dealership_id, day, campaign_id, capacity, booked in session.execute(
            select(DealershipDay.dealership_id, DealershipDay.day, DealershipDay.campaign_id,
                   DealershipDay.capacity, DealershipDay.booked)
            .where(or_(DealershipDay.campaign_id.is_(None),
                       DealershipDay.campaign_id == campaign.id),
                   DealershipDay.day >= first, DealershipDay.day <= last)):
        pools = shared if campaign_id is None else own
        pools[(dealership_id, day)] = capacity - booked
    holidays: dict[int, set[date]] = defaultdict(set)
    for dealership_id, day in session.execute(
            select(DealershipHoliday.dealership_id, DealershipHoliday.day)
            .where(DealershipHoliday.day >= first, DealershipHoliday.day <= last)):
        holidays[dealership_id].add(day)
    free: dict[int, dict[date, int]] = {}
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for d in dealerships:
        free[d.id] = {}
        for day in days:
            places = own.get((d.id, day), shared.get((d.id, day)))
            if places is None:
                places = daily_capacity(d, minutes, day, holidays[d.id])
            if places > 0:
                free[d.id][day] = places
    return free


def allocate(session: Session, campaign: RecallCampaign, actor: Actor, *,
             horizon_days: int = DEFAULT_HORIZON_DAYS, today: date | None = None,
             candidates: int = solver.DEFAULT_CANDIDATES) -> dict[str, Any]:
    """Write invitations for the owners of the active phases; report who was left out, why."""
    check_bookable(campaign)
    today = today or local_today()
    first_day = today + timedelta(days=1)
    last_day = today + timedelta(days=horizon_days)
    started = {_key(p.region): (p.region, max(p.starts_on, first_day))
               for p in campaign.phases if p.starts_on <= today}
    waiting_phases = {_key(p.region): p.starts_on for p in campaign.phases
                      if p.starts_on > today}
    if campaign.phases and not started:
        nxt = min(waiting_phases.values())
        raise Conflict(f"No phase of campaign {campaign.code} has started; the first starts "
                       f"on {nxt.isoformat()}.", slug="no-active-phase")

    owners: list[solver.Owner] = []
    pending: dict[str, tuple] = {}
    unplaced: dict[str, solver.Unplaced] = {}
    waiting = 0
    for vin, asset_id, customer_id, region, lat, lon, appointment in _owners(session, campaign):
        if appointment is not None and not (appointment.status == A.INVITED
                                            and appointment.dealership_id is None):
            continue  # invited with a place, booked, done, or cancelled by choice
        if asset_id is None:
            unplaced[vin] = solver.Unplaced(UNKNOWN_OWNER, "The VIN is not matched to an "
                                            "asset, so the owner and address are unknown.")
            continue
        key = _key(region)
        if campaign.phases and key not in started:
            if key in waiting_phases:
                waiting += 1
            else:
                unplaced[vin] = solver.Unplaced(
                    NO_PHASE, f"The campaign has no phase for the owner's region "
                    f"'{region or 'unknown'}'.")
            continue
        owners.append(solver.Owner(vin, region or "", lat, lon))
        pending[vin] = (asset_id, customer_id, appointment)

    if campaign.phases:
        starts = {region: start for region, start in started.values()}
    else:
        starts = {o.region: first_day for o in owners}
    keys = set(_key(r) for r in starts)
    dealerships = [d for d in session.scalars(select(Dealership).order_by(Dealership.id))
                   if _key(d.region) in keys]
    minutes = place_minutes(session, campaign)
    free = _free_places(session, campaign, dealerships, first_day, last_day, minutes)
    places = [solver.DealershipPlaces(d.id, d.region, d.latitude, d.longitude, free[d.id])
              for d in dealerships]

    started_at = time.perf_counter()
    result = solver.allocate(owners, places, starts, candidates=candidates)
    solve_seconds = time.perf_counter() - started_at
    unplaced.update(result.unplaced)

    by_place: dict[tuple[int, date], list[str]] = defaultdict(list)
    for vin, placement in result.placed.items():
        by_place[(placement.dealership, placement.day)].append(vin)
    by_id = {d.id: d for d in dealerships}
    now = utcnow()
    invited: list[RecallAppointment] = []
    for (dealership_id, day), vins in sorted(by_place.items()):
        dealership = by_id[dealership_id]
        pool_id, taken = _take(session, dealership, campaign, day, len(vins), minutes)
        for vin in vins[taken:]:
            unplaced[vin] = solver.Unplaced(TAKEN_MEANWHILE, "The place was booked by "
                                            "someone else while allocating; run it again.")
        for vin in vins[:taken]:
            asset_id, customer_id, appointment = pending[vin]
            if appointment is None:
                appointment = RecallAppointment(campaign_id=campaign.id, vin=vin,
                                                asset_id=asset_id, customer_id=customer_id)
                session.add(appointment)
            appointment.status = A.INVITED
            appointment.pool_id = pool_id
            appointment.dealership_id = dealership_id
            appointment.day = day
            appointment.invited_at = now
            invited.append(appointment)
    session.flush()
    # The owners the invitations go to, in one query (the messages read them one by one).
    owner_ids = {a.customer_id for a in invited if a.customer_id is not None}
    if owner_ids:
        session.scalars(select(Customer).where(Customer.id.in_(owner_ids))).all()
    for appointment in invited:
        appointment_event(session, "recall_invitation.issued", appointment)
        notify.invitation(session, appointment, now=now)

    placed_vins = [v for v in result.placed if v not in unplaced]
    metres = sum(result.placed[v].metres for v in placed_vins)
    reasons = Counter(u.code for u in unplaced.values())
    per_dealer = Counter(result.placed[v].dealership for v in placed_vins)
    return {
        "campaign_id": campaign.id,
        "first_day": first_day,
        "last_day": last_day,
        "invited": len(placed_vins),
        "unplaced": len(unplaced),
        "waiting_for_phase": waiting,
        "total_km": round(metres / 1000, 3),
        "mean_km": round(metres / 1000 / len(placed_vins), 3) if placed_vins else None,
        "solve_seconds": round(solve_seconds, 3),
        "unplaced_by_reason": dict(sorted(reasons.items())),
        "unplaced_owners": [{"vin": vin, "code": u.code, "reason": u.reason}
                            for vin, u in sorted(unplaced.items())[:MAX_REPORTED]],
        "by_dealership": [{"dealership_id": d, "invited": n}
                          for d, n in sorted(per_dealer.items())],
    }


def _take(session: Session, dealership: Dealership, campaign: RecallCampaign, day: date,
          wanted: int, minutes: int) -> tuple[int | None, int]:
    """Take up to `wanted` places of one day: (the pool's id, how many were taken)."""
    pool_id = take_places(session, dealership, campaign, day, wanted, minutes)
    if pool_id is not None:
        return pool_id, wanted
    # Someone booked meanwhile: take what is left, one place at a time (each conditional).
    taken = 0
    while taken < wanted:
        got = take_places(session, dealership, campaign, day, 1, minutes)
        if got is None or (pool_id is not None and got != pool_id):
            if got is not None:  # the pool changed under us (reservation ended): give back
                session.execute(update(DealershipDay.__table__)
                                .where(DealershipDay.__table__.c.id == got)
                                .values(booked=DealershipDay.__table__.c.booked - 1))
            break
        pool_id = got
        taken += 1
    return pool_id, taken
