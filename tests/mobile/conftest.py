"""A technician's day on a real database: jobs, van stock, customer history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.context import SYSTEM
from fieldsvc.models import WorkOrderPart, WorkOrderWindow
from fieldsvc.models.enums import WorkOrderStatus, WorkOrderType
from fieldsvc.services import stock

TEHRAN = ZoneInfo("Asia/Tehran")


def today() -> date:
    return datetime.now(TEHRAN).date()


def local(hour: int, minute: int = 0, day: date | None = None) -> datetime:
    return datetime.combine(day or today(), time(hour, minute), tzinfo=TEHRAN)


@dataclass
class World:
    tech: object
    other: object
    part: object
    scarce: object
    jobs: list = field(default_factory=list)
    other_job: object = None
    customer: object = None
    asset: object = None


def add_job(make, tech, site, hour, *, asset=None, parts=(), status="dispatched", **kw):
    """A dispatched job for `tech` at `hour` local today, with required parts."""
    start = local(hour)
    # Born with its parts and window (version 1): adding them later would be a change.
    return make.work_order(
        site=site, technician_id=tech.id, status=WorkOrderStatus(status),
        scheduled_start_at=start.astimezone(UTC),
        scheduled_end_at=(start + timedelta(hours=1)).astimezone(UTC),
        estimated_minutes=60, asset_id=asset.id if asset else None,
        description=kw.pop("description", "Paper jams on tray 2"),
        checklist=kw.pop("checklist", [{"item": "Clean paper path", "done": False}]),
        parts=[WorkOrderPart(part_id=part.id, quantity=qty) for part, qty in parts],
        time_windows=[WorkOrderWindow(starts_at=(start - timedelta(hours=1)).astimezone(UTC),
                                      ends_at=(start + timedelta(hours=2)).astimezone(UTC))],
        **kw)


@pytest.fixture
def world(make) -> World:
    tech = make.technician()
    other = make.technician()
    part = make.part(name="Pickup roller")
    scarce = make.part(name="Fuser unit")
    stock.receive(make.session, part.id, 5, tech.van_warehouse_id, SYSTEM)
    stock.receive(make.session, scarce.id, 1, tech.van_warehouse_id, SYSTEM)
    make.session.commit()

    customer = make.customer(name="Acme Printing")
    site = make.site(customer, address="Valiasr St 12", latitude=35.75, longitude=51.41,
                     access_hours={"sat": ["08:00", "17:00"]})
    asset = make.asset(customer=customer, site=site)
    # An earlier completed visit: the asset's service history.
    done = make.work_order(site=site, asset_id=asset.id, status=WorkOrderStatus.COMPLETED,
                           completed_at=datetime.now(UTC) - timedelta(days=60),
                           resolution="Replaced roller", resolution_code="ROLLER",
                           technician_id=other.id, summary="Earlier visit")
    assert done.id
    make.ticket(customer=customer, subject="Jams again")
    site2 = make.site(make.customer(name="Beta Bank"), latitude=35.70, longitude=51.30)
    w = World(tech=tech, other=other, part=part, scarce=scarce, customer=customer,
              asset=asset)
    w.jobs = [
        add_job(make, tech, site, 9, asset=asset, parts=[(part, 2), (scarce, 1)]),
        add_job(make, tech, site2, 13, type=WorkOrderType.PREVENTIVE),
    ]
    w.other_job = add_job(make, other, site2, 10)
    return w


@pytest.fixture
def tech_client(client_as, world):
    return client_as("technician", technician_id=world.tech.id)
