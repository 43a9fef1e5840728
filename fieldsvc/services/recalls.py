"""Recall campaigns, their affected VINs, dealerships and dealership capacity."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.errors import Conflict, InvalidInput, NotFound
from fieldsvc.models import (
    Asset,
    CampaignPart,
    CampaignPhase,
    CampaignVin,
    Dealership,
    DealershipDay,
    DealershipHoliday,
    Part,
    Product,
    RecallAppointment,
    RecallCampaign,
    User,
)
from fieldsvc.services.pm_plans import RuleError, zone

# ISO 3779: 17 characters, digits and capital letters except I, O and Q.
VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
# The model's defaults, used when a new dealership gives no hours.
DEFAULT_OPENS, DEFAULT_CLOSES = time(8, 0), time(17, 0)


def normalize_vin(raw: Any) -> str | None:
    """Return the VIN in canonical form, or None when it cannot be one."""
    if not isinstance(raw, str):
        return None
    vin = raw.strip().upper()
    return vin if VIN_PATTERN.match(vin) else None


def _missing(session: Session, model: type, ids: Collection[int]) -> list[int]:
    if not ids:
        return []
    found = set(session.scalars(select(model.id).where(model.id.in_(set(ids)))))
    return sorted(set(ids) - found)


# Campaigns -------------------------------------------------------------------------------

def _check_phases(phases: list[dict[str, Any]]) -> list[str]:
    problems = []
    regions = [p["region"].strip().casefold() for p in phases]
    sequences = [p["sequence"] for p in phases]
    if len(set(regions)) != len(regions):
        problems.append("Each region may have one phase only.")
    if len(set(sequences)) != len(sequences):
        problems.append("Each phase needs its own sequence number.")
    ordered = sorted(phases, key=lambda p: p["sequence"])
    for before, after in zip(ordered, ordered[1:], strict=False):
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


def vin_count(session: Session, campaign: RecallCampaign) -> int:
    return session.scalar(
        select(func.count(CampaignVin.id)).where(CampaignVin.campaign_id == campaign.id)
    ) or 0
