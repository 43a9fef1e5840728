"""Recall campaigns, their affected VINs, dealerships and dealership capacity."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Asset, Customer, Part, Product, Site, User
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus, Role
from fieldsvc.problems import Conflict, InvalidInput, NotFound
from fieldsvc.recall.models import (
    CampaignPart,
    CampaignPhase,
    CampaignVin,
    Dealership,
    DealershipDay,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
)
from fieldsvc.services.pm_plans import RuleError, zone
from fieldsvc.vin import check_digit, check_digit_applies, normalize_vin

# The model's defaults, used when a new dealership gives no hours.
DEFAULT_OPENS, DEFAULT_CLOSES = time(8, 0), time(17, 0)
# A place's length when no campaign is active (the model's default remedy duration).
DEFAULT_PLACE_MINUTES = 60


def _missing(session: Session, model: type, ids: Collection[int]) -> list[int]:
    if not ids:
        return []
    found = set(session.scalars(select(model.id).where(model.id.in_(set(ids)))))
    return sorted(set(ids) - found)


# Campaigns -------------------------------------------------------------------------------

def _check_phases(phases: list[dict[str, Any]]) -> list[str]:
    # Phases sharing a sequence number are one wave ("the capital first, then the
    # provinces": Tehran 1; Alborz, Isfahan, Fars 2). Only a region is unique, as in the
    # database; a later wave may not start before any phase of an earlier one.
    problems = []
    regions = [p["region"].strip().casefold() for p in phases]
    if len(set(regions)) != len(regions):
        problems.append("Each region may have one phase only.")
    waves: dict[int, list[dict[str, Any]]] = {}
    for phase in phases:
        waves.setdefault(phase["sequence"], []).append(phase)
    ordered = [waves[s] for s in sorted(waves)]
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        before = max(earlier, key=lambda p: p["starts_on"])
        after = min(later, key=lambda p: p["starts_on"])
        if after["starts_on"] < before["starts_on"]:
            problems.append(
                f"Phase {after['sequence']} ({after['region']}) starts before phase "
                f"{before['sequence']} ({before['region']}); later phases cannot start earlier."
            )
            break
    return problems


def _check_campaign(session: Session, data: dict[str, Any],
                    campaign: RecallCampaign | None) -> None:
    errors: dict[str, list[str]] = {}
    if "product_ids" in data:
        ids = data["product_ids"]
        if len(set(ids)) != len(ids):
            errors["product_ids"] = ["A product is listed twice."]
        elif missing := _missing(session, Product, ids):
            errors["product_ids"] = [f"No product with id {', '.join(map(str, missing))}."]
    if "parts" in data:
        ids = [p["part_id"] for p in data["parts"]]
        if len(set(ids)) != len(ids):
            errors["parts"] = ["A part is listed twice."]
        elif missing := _missing(session, Part, ids):
            errors["parts"] = [f"No part with id {', '.join(map(str, missing))}."]
    if "phases" in data and (problems := _check_phases(data["phases"])):
        errors["phases"] = problems
    if errors:
        raise InvalidInput(errors)
    if "code" in data:
        clash = select(RecallCampaign.id).where(RecallCampaign.code == data["code"])
        if campaign is not None:
            clash = clash.where(RecallCampaign.id != campaign.id)
        if session.scalar(clash) is not None:
            raise Conflict(f"A campaign with code '{data['code']}' exists already.")


_CAMPAIGN_PLAIN = ("code", "title", "description", "status", "remedy_minutes", "skill_id",
                   "parts_available")


def _apply_campaign(session: Session, campaign: RecallCampaign, data: dict[str, Any]) -> None:
    for key in _CAMPAIGN_PLAIN:
        if key in data:
            setattr(campaign, key, data[key])
    if "product_ids" in data:
        ids = data["product_ids"]
        campaign.products = (list(session.scalars(select(Product).where(Product.id.in_(ids))))
                             if ids else [])
    if "phases" in data:
        # Replaced phases may reuse a region: delete the old rows before inserting new ones.
        campaign.phases = []
        session.flush()
        campaign.phases = [
            CampaignPhase(sequence=p["sequence"], region=p["region"].strip(),
                          starts_on=p["starts_on"])
            for p in data["phases"]
        ]
    if "parts" in data:
        campaign.parts = []
        session.flush()
        campaign.parts = [CampaignPart(part_id=p["part_id"], quantity=p["quantity"])
                          for p in data["parts"]]


def create_campaign(session: Session, data: dict[str, Any], actor: Actor) -> RecallCampaign:
    _check_campaign(session, data, None)
    campaign = RecallCampaign()
    session.add(campaign)
    _apply_campaign(session, campaign, data)
    session.flush()
    return campaign


def update_campaign(session: Session, campaign: RecallCampaign, data: dict[str, Any],
                    actor: Actor) -> RecallCampaign:
    _check_campaign(session, data, campaign)
    _apply_campaign(session, campaign, data)
    session.flush()
    return campaign


def delete_campaign(session: Session, campaign: RecallCampaign, actor: Actor) -> None:
    """Delete a campaign nobody was invited to or booked on; otherwise close it instead."""
    for model in (RecallAppointment, DealershipDay):
        if session.scalar(select(model.id).where(model.campaign_id == campaign.id).limit(1)):
            raise Conflict("This campaign has appointments or capacity; close it instead "
                           "(PATCH status=closed).")
    session.execute(delete(CampaignVin).where(CampaignVin.campaign_id == campaign.id))
    campaign.products = []
    session.flush()
    session.delete(campaign)


def add_vins(session: Session, campaign: RecallCampaign, raw_vins: list[Any],
             actor: Actor) -> dict[str, int]:
    """Add affected VINs, all or nothing; 422 lists every refused row by its index."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    clean: list[tuple[int, str]] = []
    for index, raw in enumerate(raw_vins):
        vin = normalize_vin(raw)
        if vin is None:
            rows.append({"row": index, "vin": raw if isinstance(raw, str) else None,
                         "error": "Not a VIN: 17 letters and digits, without I, O or Q."})
        elif vin in seen:
            rows.append({"row": index, "vin": vin,
                         "error": f"Duplicate of row {seen[vin]} in this request."})
        else:
            seen[vin] = index
            clean.append((index, vin))
    existing: set[str] = set()
    vins = [vin for _, vin in clean]
    for start in range(0, len(vins), 500):
        chunk = vins[start:start + 500]
        existing.update(session.scalars(select(CampaignVin.vin).where(
            CampaignVin.campaign_id == campaign.id, CampaignVin.vin.in_(chunk))))
    for index, vin in clean:
        if vin in existing:
            rows.append({"row": index, "vin": vin, "error": "Already in this campaign."})
    if rows:
        rows.sort(key=lambda r: r["row"])
        raise InvalidInput(
            {"vins": {str(r["row"]): [r["error"]] for r in rows}},
            detail=f"{len(rows)} of {len(raw_vins)} VINs were refused; nothing was added.",
            rows=rows,
        )
    assets: dict[str, int] = {}
    for start in range(0, len(vins), 500):
        chunk = vins[start:start + 500]
        found = session.execute(select(Asset.vin, Asset.id).where(Asset.vin.in_(chunk)))
        assets.update({vin: asset_id for vin, asset_id in found})
    session.add_all(CampaignVin(campaign_id=campaign.id, vin=vin, asset_id=assets.get(vin))
                    for vin in vins)
    session.flush()
    return {"added": len(vins), "matched_assets": len(assets)}


# Dealerships -----------------------------------------------------------------------------

def _check_dealership(session: Session, data: dict[str, Any],
                      dealership: Dealership | None) -> None:
    errors: dict[str, list[str]] = {}
    if data.get("timezone") is not None:
        try:
            zone(data["timezone"])
        except RuleError as exc:
            errors["timezone"] = [str(exc)]
    if "working_days" in data:
        days = data["working_days"]
        if len(set(days)) != len(days):
            errors["working_days"] = ["Give each weekday once."]
    opens = data.get("opens_at", dealership.opens_at if dealership else None)
    closes = data.get("closes_at", dealership.closes_at if dealership else None)
    if dealership is None:
        opens = opens or DEFAULT_OPENS
        closes = closes or DEFAULT_CLOSES
    if opens is not None and closes is not None and not opens < closes:
        key = "closes_at" if "closes_at" in data else "opens_at"
        errors[key] = ["The dealership must open before it closes."]
    if errors:
        raise InvalidInput(errors)
    if "code" in data:
        clash = select(Dealership.id).where(Dealership.code == data["code"])
        if dealership is not None:
            clash = clash.where(Dealership.id != dealership.id)
        if session.scalar(clash) is not None:
            raise Conflict(f"A dealership with code '{data['code']}' exists already.")


def _normalize_days(data: dict[str, Any]) -> dict[str, Any]:
    if "working_days" in data:
        data = {**data, "working_days": "".join(sorted(data["working_days"]))}
    return data


def create_dealership(session: Session, data: dict[str, Any], actor: Actor) -> Dealership:
    _check_dealership(session, data, None)
    dealership = Dealership(**_normalize_days(data))
    session.add(dealership)
    session.flush()
    return dealership


def update_dealership(session: Session, dealership: Dealership, data: dict[str, Any],
                      actor: Actor) -> Dealership:
    _check_dealership(session, data, dealership)
    for key, value in _normalize_days(data).items():
        setattr(dealership, key, value)
    session.flush()
    return dealership


def delete_dealership(session: Session, dealership: Dealership, actor: Actor) -> None:
    for model in (RecallAppointment, DealershipDay, User):
        used = select(model.id).where(model.dealership_id == dealership.id).limit(1)
        if session.scalar(used) is not None:
            raise Conflict("This dealership has bookings, capacity or users; it cannot be "
                           "deleted.")
    session.delete(dealership)


def add_holiday(session: Session, dealership: Dealership, data: dict[str, Any],
                actor: Actor) -> DealershipHoliday:
    taken = select(DealershipHoliday.id).where(
        DealershipHoliday.dealership_id == dealership.id, DealershipHoliday.day == data["day"])
    if session.scalar(taken) is not None:
        raise Conflict(f"{data['day'].isoformat()} is already a holiday of this dealership.")
    holiday = DealershipHoliday(dealership_id=dealership.id, day=data["day"],
                                name=data.get("name"))
    session.add(holiday)
    session.flush()
    return holiday


def remove_holiday(session: Session, dealership: Dealership, holiday_id: int,
                   actor: Actor) -> None:
    holiday = session.get(DealershipHoliday, holiday_id)
    if holiday is None or holiday.dealership_id != dealership.id:
        raise NotFound(f"Dealership {dealership.id} has no holiday with id {holiday_id}.")
    session.delete(holiday)
    session.flush()


def working_minutes(dealership: Dealership) -> int:
    opens, closes = dealership.opens_at, dealership.closes_at
    return max(0, (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute))


def daily_capacity(dealership: Dealership, remedy_minutes: int, day: date,
                   holidays: Collection[date] | None = None) -> int:
    """Recall places on `day`: bays × working minutes ÷ remedy minutes, rounded down.

    0 on a holiday or a non-working weekday. Pass `holidays` (the dealership's holiday
    days) when computing many days, to avoid loading them again for each one.
    """
    if isinstance(day, datetime):
        day = day.date()
    if remedy_minutes <= 0:
        raise ValueError("remedy_minutes must be positive")
    if str(day.weekday()) not in (dealership.working_days or ""):
        return 0
    if holidays is None:
        holidays = {h.day for h in dealership.holidays}
    if day in holidays:
        return 0
    return (dealership.bays or 0) * working_minutes(dealership) // remedy_minutes


def place_minutes(session: Session, campaign: RecallCampaign | None = None) -> int:
    """Length of one place of a shared day: the longest remedy of the active campaigns.

    Campaigns share a dealership's bays; counting the day in places of the longest remedy
    never promises the bays twice. `campaign` counts too (a draft previewing its days).
    """
    longest = session.scalar(select(func.max(RecallCampaign.remedy_minutes))
                             .where(RecallCampaign.status == CampaignStatus.ACTIVE))
    lengths = [m for m in (longest, campaign.remedy_minutes if campaign else None) if m]
    return max(lengths) if lengths else DEFAULT_PLACE_MINUTES


def vin_count(session: Session, campaign: RecallCampaign) -> int:
    return session.scalar(
        select(func.count(CampaignVin.id)).where(CampaignVin.campaign_id == campaign.id)
    ) or 0


# VIN lookup ----------------------------------------------------------------------------

def vin_report(raw: Any) -> dict[str, Any]:
    """Validate a VIN; 422 when malformed or a North American VIN with a wrong check digit."""
    vin = normalize_vin(raw)
    if vin is None:
        raise InvalidInput({"vin": ["Not a VIN: 17 letters and digits, without I, O or Q."]})
    applies = check_digit_applies(vin)
    expected = check_digit(vin)
    valid = vin[8] == expected
    if applies and not valid:
        raise InvalidInput({"vin": [f"Wrong check digit: position 9 is '{vin[8]}', the VIN "
                                    f"needs '{expected}'."]})
    notes = [] if applies or valid else [
        "Position 9 is not an ISO 3779 check digit; that is allowed outside North America."]
    return {"vin": vin, "check_digit_applies": applies, "check_digit_valid": valid,
            "warnings": notes}


# Capacity calendar -----------------------------------------------------------------------

MAX_CALENDAR_DAYS = 366


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


def _pool(kind: str, capacity: int, booked: int, overridden: bool,
          campaign: RecallCampaign | None = None) -> dict[str, Any]:
    return {"pool": kind, "campaign_id": campaign.id if campaign else None,
            "code": campaign.code if campaign else None, "capacity": capacity,
            "booked": booked, "free": max(0, capacity - booked), "overridden": overridden}


def capacity_calendar(session: Session, dealership: Dealership, first: date, last: date,
                      campaign: RecallCampaign | None = None) -> dict[str, Any]:
    """Places per day: capacity, booked (places held by invitations and bookings) and free.

    A day's places are its shared pool plus the reservations of single campaigns, each
    listed under `pools`; the day's capacity, booked and free add them up (the shared pool
    once, whatever the number of campaigns using it). With a campaign, the day's figures
    are those of the pool that campaign books from: its reservation, else the shared pool
    (whose booked counts every campaign's places). Without one, `campaigns` says per
    active campaign which pool it books from, the places it holds and how many it can
    still book. Days without a ledger row show the formula (nothing is written on a read).
    """
    if (last - first).days + 1 > MAX_CALENDAR_DAYS:
        raise InvalidInput({"to": [f"At most {MAX_CALENDAR_DAYS} days at a time."]})
    minutes = place_minutes(session, campaign)
    active = list(session.scalars(select(RecallCampaign).where(
        RecallCampaign.status == CampaignStatus.ACTIVE).order_by(RecallCampaign.id)))
    holidays = {h.day: h.name for h in dealership.holidays if first <= h.day <= last}
    rows = list(session.scalars(select(DealershipDay).where(
        DealershipDay.dealership_id == dealership.id, DealershipDay.day >= first,
        DealershipDay.day <= last).order_by(DealershipDay.campaign_id)))
    shared = {r.day: r for r in rows if r.campaign_id is None}
    reserved: dict[date, list[DealershipDay]] = {}
    for r in rows:
        if r.campaign_id is not None:
            reserved.setdefault(r.day, []).append(r)
    names = {c.id: c for c in active}
    missing = {r.campaign_id for r in rows if r.campaign_id is not None} - set(names)
    if missing:
        names.update((c.id, c) for c in session.scalars(
            select(RecallCampaign).where(RecallCampaign.id.in_(missing))))
    held: dict[tuple[int, int], int] = {}
    if rows:
        for pool_id, campaign_id, n in session.execute(
                select(RecallAppointment.pool_id, RecallAppointment.campaign_id,
                       func.count(RecallAppointment.id))
                .where(RecallAppointment.pool_id.in_([r.id for r in rows]))
                .group_by(RecallAppointment.pool_id, RecallAppointment.campaign_id)):
            held[(pool_id, campaign_id)] = n
    days = []
    for day in _days(first, last):
        row = shared.get(day)
        if row is not None:
            common = _pool("shared", row.capacity, row.booked, row.overridden)
        else:
            common = _pool("shared", daily_capacity(dealership, minutes, day, holidays), 0,
                           False)
        own = {r.campaign_id: r for r in reserved.get(day, [])}
        pools = [common] + [_pool("reserved", r.capacity, r.booked, r.overridden,
                                  names[r.campaign_id]) for r in own.values()]
        entry = {
            "day": day,
            "working_day": str(day.weekday()) in (dealership.working_days or ""),
            "holiday": day in holidays,
            "holiday_name": holidays.get(day),
            "capacity": sum(p["capacity"] for p in pools),
            "booked": sum(p["booked"] for p in pools),
            "free": sum(p["free"] for p in pools),
            "reserved": sum(p["capacity"] for p in pools[1:]),
            "overridden": common["overridden"],
            "pools": pools,
        }
        if campaign is not None:
            mine = own.get(campaign.id)
            pool = pools[1 + list(own).index(campaign.id)] if mine is not None else common
            entry.update(pool=pool["pool"], capacity=pool["capacity"], booked=pool["booked"],
                         free=pool["free"], overridden=pool["overridden"])
        else:
            entry["campaigns"] = []
            for c in active:
                mine = own.get(c.id)
                source = mine if mine is not None else row
                entry["campaigns"].append({
                    "campaign_id": c.id, "code": c.code,
                    "pool": "reserved" if mine is not None else "shared",
                    "holds": held.get((source.id, c.id), 0) if source is not None else 0,
                    "free": (pools[1 + list(own).index(c.id)] if mine is not None
                             else common)["free"]})
        days.append(entry)
    return {"dealership_id": dealership.id, "campaign_id": campaign.id if campaign else None,
            "from": first, "to": last, "days": days}


# Who sees an owner ---------------------------------------------------------------------

# Statuses in which the owner has chosen the dealership (a proposal is not a choice).
CHOSEN = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED,
                    AppointmentStatus.NO_SHOW})


def owner_visible(actor: Actor, appointment: RecallAppointment) -> bool:
    """A dealership sees an owner's personal data only for appointments booked with it."""
    if actor.role != Role.DEALERSHIP.value:
        return True
    return (appointment.dealership_id is not None
            and appointment.dealership_id == actor.dealership_id
            and appointment.status in CHOSEN)


def lookup(session: Session, raw_vin: Any, actor: Actor) -> dict[str, Any]:
    """The open (active) campaigns affecting a VIN and the booking state of each."""
    report = vin_report(raw_vin)
    vin = report["vin"]
    rows = session.execute(
        select(RecallCampaign, RecallAppointment)
        .join(CampaignVin, CampaignVin.campaign_id == RecallCampaign.id)
        .outerjoin(RecallAppointment, (RecallAppointment.campaign_id == RecallCampaign.id)
                   & (RecallAppointment.vin == vin))
        .where(CampaignVin.vin == vin, RecallCampaign.status == CampaignStatus.ACTIVE)
        .order_by(RecallCampaign.id)).all()
    asset = session.scalar(select(Asset).where(Asset.vin == vin))
    campaigns = []
    for campaign, appointment in rows:
        state = None
        # A dealership sees only its own appointments: one at another dealership is as if
        # absent (no id, no status); `bookable` alone says the owner cannot book again.
        if appointment is not None and (actor.role != Role.DEALERSHIP.value
                                        or appointment.dealership_id == actor.dealership_id):
            state = {"id": appointment.id, "status": appointment.status.value,
                     "dealership_id": appointment.dealership_id, "day": appointment.day}
        campaigns.append({
            "campaign_id": campaign.id, "code": campaign.code, "title": campaign.title,
            "remedy_minutes": campaign.remedy_minutes,
            "parts_available": campaign.parts_available,
            "bookable": campaign.parts_available and (
                appointment is None or appointment.status not in (
                    AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED)),
            "phases": [{"sequence": p.sequence, "region": p.region, "starts_on": p.starts_on}
                       for p in campaign.phases],
            "appointment": state,
        })
    return {**report, "asset_id": asset.id if asset else None,
            "product_id": asset.product_id if asset else None, "campaigns": campaigns}


# Progress ------------------------------------------------------------------------------

_STATUSES = [s.value for s in AppointmentStatus]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _counts(by_status: dict[str, int]) -> dict[str, Any]:
    counts = {s: by_status.get(s, 0) for s in _STATUSES}
    return {**counts, "appointments": sum(counts.values())}


def progress(session: Session, campaign: RecallCampaign, actor: Actor) -> dict[str, Any]:
    """Involved, invited, booked, completed, completion rate and daily utilization.

    Counts are of appointments by their current status (an owner invited and then booked
    counts as booked). Regions are the owners' (the asset's site, else the customer's).
    Completion rate: completed ÷ involved VINs (per dealership: ÷ its appointments that
    were booked: booked, completed or no-show). Utilization per day: places taken ÷
    places of the pools the campaign books from (its reservation, else the shared pool,
    counted once and with every campaign's places taken), over the days that have a ledger
    row, at the dealerships of its regions. A dealership sees only its own part.
    """
    own = actor.dealership_id if actor.role == Role.DEALERSHIP.value else None
    A = RecallAppointment
    appt_stmt = (select(A.dealership_id, A.status, func.count(A.id))
                 .where(A.campaign_id == campaign.id).group_by(A.dealership_id, A.status))
    ledger_stmt = select(DealershipDay).where(or_(DealershipDay.campaign_id.is_(None),
                                                  DealershipDay.campaign_id == campaign.id))
    dealer_stmt = select(Dealership)
    if own is not None:
        appt_stmt = appt_stmt.where(A.dealership_id == own)
        ledger_stmt = ledger_stmt.where(DealershipDay.dealership_id == own)
        dealer_stmt = dealer_stmt.where(Dealership.id == own)
    per_dealer: dict[int | None, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for dealership_id, status, n in session.execute(appt_stmt):
        per_dealer.setdefault(dealership_id, {})[status.value] = n
        totals[status.value] = totals.get(status.value, 0) + n
    regions = {p.region.strip().casefold() for p in campaign.phases}
    dealers = {d.id: d for d in session.scalars(dealer_stmt)
               if not regions or d.region.strip().casefold() in regions
               or d.id in per_dealer}
    ledger = _campaign_pools(session.scalars(ledger_stmt.order_by(DealershipDay.day)),
                             dealers)

    days: dict[date, list[int]] = {}
    dealer_days: dict[int, list[dict[str, Any]]] = {}
    for row in ledger:
        cap_booked = days.setdefault(row.day, [0, 0])
        cap_booked[0] += row.capacity
        cap_booked[1] += row.booked
        dealer_days.setdefault(row.dealership_id, []).append({
            "day": row.day, "pool": "shared" if row.campaign_id is None else "reserved",
            "capacity": row.capacity, "booked": row.booked,
            "utilization": _rate(row.booked, row.capacity)})

    by_dealership = []
    for dealership_id in sorted(set(per_dealer) | set(dealer_days), key=lambda i: (i is None,
                                                                                  i or 0)):
        if dealership_id is None or dealership_id not in dealers:
            continue
        d = dealers[dealership_id]
        counts = _counts(per_dealer.get(dealership_id, {}))
        came = counts["booked"] + counts["completed"] + counts["no_show"]
        places = dealer_days.get(dealership_id, [])
        capacity = sum(p["capacity"] for p in places)
        taken = sum(p["booked"] for p in places)
        by_dealership.append({
            "dealership_id": d.id, "code": d.code, "name": d.name, "region": d.region,
            **counts, "completion_rate": _rate(counts["completed"], came),
            "capacity": capacity, "places_taken": taken,
            "utilization": _rate(taken, capacity), "days": places})

    involved = None
    by_region = None
    if own is None:
        involved = vin_count(session, campaign)
        by_region = _progress_by_region(session, campaign)
    counts = _counts(totals)
    return {
        "campaign_id": campaign.id, "code": campaign.code, "status": campaign.status.value,
        "dealership_id": own,
        "totals": {"involved": involved, **counts,
                   "completion_rate": _rate(counts["completed"], involved or 0)
                   if own is None else _rate(counts["completed"], counts["booked"]
                                             + counts["completed"] + counts["no_show"])},
        "by_dealership": by_dealership,
        "by_region": by_region,
        "days": [{"day": day, "capacity": cb[0], "booked": cb[1],
                  "utilization": _rate(cb[1], cb[0])} for day, cb in sorted(days.items())],
    }


def _campaign_pools(rows, dealers: dict[int, Dealership]) -> list[DealershipDay]:
    """The pools a campaign books from: its reservations, else the days' shared pools.

    Only at the dealerships given (those of the campaign's regions, or where it has
    appointments); each shared pool appears once, its booked counting every campaign.
    """
    rows = [r for r in rows if r.dealership_id in dealers]
    reserved = {(r.dealership_id, r.day) for r in rows if r.campaign_id is not None}
    return [r for r in rows if r.campaign_id is not None
            or (r.dealership_id, r.day) not in reserved]


def _progress_by_region(session: Session, campaign: RecallCampaign) -> list[dict[str, Any]]:
    region = func.coalesce(Site.region, Customer.region)
    stmt = (select(region, RecallAppointment.status, func.count(CampaignVin.id))
            .select_from(CampaignVin)
            .outerjoin(Asset, Asset.id == CampaignVin.asset_id)
            .outerjoin(Site, Site.id == Asset.site_id)
            .outerjoin(Customer, Customer.id == Asset.customer_id)
            .outerjoin(RecallAppointment, (RecallAppointment.campaign_id == campaign.id)
                       & (RecallAppointment.vin == CampaignVin.vin))
            .where(CampaignVin.campaign_id == campaign.id)
            .group_by(region, RecallAppointment.status))
    regions: dict[str, dict[str, int]] = {}
    for name, status, n in session.execute(stmt):
        bucket = regions.setdefault(name or "unknown", {})
        bucket["involved"] = bucket.get("involved", 0) + n
        if status is not None:
            bucket[status.value] = bucket.get(status.value, 0) + n
    out = []
    for name in sorted(regions):
        bucket = regions[name]
        counts = _counts(bucket)
        out.append({"region": name, "involved": bucket["involved"], **counts,
                    "completion_rate": _rate(counts["completed"], bucket["involved"])})
    return out
