"""Recall fixtures: a bookable campaign, dealerships with known places, owners with VINs."""

from __future__ import annotations

import itertools
import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.config import DEFAULT_TIMEZONE
from fieldsvc.extensions import db
from fieldsvc.models.enums import CampaignStatus
from fieldsvc.recall.models import (
    CampaignPart,
    CampaignPhase,
    CampaignVin,
    DealershipDay,
    RecallAppointment,
    RecallCampaign,
)

_vins = itertools.count(1)
_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin(prefix: str = "JTD") -> str:
    """A fresh, well-formed non-North-American VIN (check digit not binding)."""
    n = next(_vins)
    tail = ""
    for _ in range(8):
        n, r = divmod(n, len(_ALPHABET))
        tail = _ALPHABET[r] + tail
    return (prefix + "KB20U0" + tail)[:17].ljust(17, "0")


# The test dealerships keep the deployment's zone, so "today" at a dealership and the
# allocation's "today" (the deployment's) are the same date at every hour.
ZONE = os.environ.get("FIELDSVC_TIMEZONE") or DEFAULT_TIMEZONE


def today_local() -> date:
    """Today in the deployment's zone, which is also the test dealerships' zone."""
    return datetime.now(ZoneInfo(ZONE)).date()


class Recall:
    """Builds recall data through the factories and reads back the ledger."""

    def __init__(self, make, app) -> None:
        self.make = make
        self.app = app
        self.session = make.session

    def dealership(self, places: int = 2, **kw):
        """A dealership open every day with `places` places per day for a 60-minute remedy."""
        kw.setdefault("timezone", ZONE)
        kw.setdefault("working_days", "0123456")
        kw.setdefault("bays", 1)
        kw.setdefault("opens_at", time(8, 0))
        kw.setdefault("closes_at", time(8 + places, 0) if places else time(9, 0))
        if places == 0:
            kw["bays"] = 0
        return self.make.dealership(**kw)

    def campaign(self, vins: int = 0, *, parts_available: bool = True,
                 status: CampaignStatus = CampaignStatus.ACTIVE, phases=(), parts=(),
                 **kw) -> RecallCampaign:
        kw.setdefault("code", f"RC-{next(_vins)}")
        kw.setdefault("title", "Airbag inflator, driver side")
        kw.setdefault("remedy_minutes", 60)
        campaign = RecallCampaign(status=status, parts_available=parts_available, **kw)
        for n, (region, starts_on) in enumerate(phases, start=1):
            campaign.phases.append(CampaignPhase(sequence=n, region=region, starts_on=starts_on))
        for part, quantity in parts:
            campaign.parts.append(CampaignPart(part_id=part.id, quantity=quantity))
        self.session.add(campaign)
        self.session.commit()
        for _ in range(vins):
            self.add_vin(campaign)
        return campaign

    def add_vin(self, campaign, value: str | None = None, asset=None) -> str:
        value = value or (asset.vin if asset is not None else vin())
        self.session.add(CampaignVin(campaign_id=campaign.id, vin=value,
                                     asset_id=asset.id if asset is not None else None))
        self.session.commit()
        return value

    def owner(self, campaign, region: str = "Tehran", lat: float = 35.7, lon: float = 51.4,
              **customer):
        """A customer with a site and a car whose VIN the campaign affects."""
        customer.setdefault("region", region)
        cust = self.make.customer(**customer)
        site = self.make.site(cust, region=region, latitude=lat, longitude=lon)
        product = self.make.product()
        asset = self.make.asset(cust, product, site, vin=vin())
        self.add_vin(campaign, asset=asset)
        return asset

    def vins(self, campaign) -> list[str]:
        return list(self.session.scalars(db.select(CampaignVin.vin).where(
            CampaignVin.campaign_id == campaign.id).order_by(CampaignVin.id)))

    def ledger(self, dealership_id: int, campaign_id: int | None, day: date):
        """(capacity, booked) of the pool a campaign books from that day, read fresh.

        Its reservation when it has one, else the shared pool (also with campaign None);
        None if there is no row.
        """
        with self.app.app_context():
            rows = db.session.execute(
                db.select(DealershipDay.campaign_id, DealershipDay.capacity,
                          DealershipDay.booked)
                .where(DealershipDay.dealership_id == dealership_id, DealershipDay.day == day,
                       db.or_(DealershipDay.campaign_id.is_(None),
                              DealershipDay.campaign_id == campaign_id))).all()
            rows.sort(key=lambda r: r.campaign_id is None)  # the reservation first
            return (rows[0].capacity, rows[0].booked) if rows else None

    def ledger_matches_appointments(self) -> list[tuple]:
        """Ledger rows whose booked differs from the appointments holding their places."""
        with self.app.app_context():
            held = (db.select(db.func.count(RecallAppointment.id))
                    .where(RecallAppointment.pool_id == DealershipDay.id)
                    .scalar_subquery())
            return [tuple(r) for r in db.session.execute(
                db.select(DealershipDay.id, DealershipDay.booked, held)
                .where(DealershipDay.booked != held))]

    def appointments(self, campaign_id: int | None = None) -> list[tuple]:
        with self.app.app_context():
            stmt = db.select(RecallAppointment.vin, RecallAppointment.status,
                             RecallAppointment.dealership_id, RecallAppointment.day)
            if campaign_id is not None:
                stmt = stmt.where(RecallAppointment.campaign_id == campaign_id)
            return [(v, s.value, d, day) for v, s, d, day in
                    db.session.execute(stmt.order_by(RecallAppointment.id))]


@pytest.fixture
def recall(make, app):
    return Recall(make, app)


@pytest.fixture
def tomorrow() -> date:
    return today_local() + timedelta(days=1)
