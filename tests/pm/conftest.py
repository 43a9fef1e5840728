"""Helpers for the PM generation tests: plans, readings, stock and a generate() shortcut."""

from __future__ import annotations

from datetime import datetime

import pytest

from fieldsvc.context import Actor
from fieldsvc.extensions import db
from fieldsvc.models import MeterReading, PmPlan, PmPlanPart, PmPlanSkill, WorkOrder
from fieldsvc.services import stock
from fieldsvc.services.pm_generation import generate_due_work_orders

ACTOR = Actor(id=None, name="pm-test", source="job")


@pytest.fixture
def plan(make):
    """plan(assets, rrule=..., dtstart=..., ...) → a committed PmPlan."""

    def build(assets, *, skills=None, parts=None, **kw):
        kw.setdefault("name", "Quarterly service")
        kw.setdefault("timezone", "Asia/Tehran")
        kw.setdefault("lead_days", 7)
        kw.setdefault("priority", 4)
        kw.setdefault("estimated_minutes", 45)
        plan = PmPlan(**kw)
        plan.assets = list(assets)
        plan.skills = [PmPlanSkill(skill_id=s.id, min_level=lvl)
                       for s, lvl in (skills or {}).items()]
        plan.parts = [PmPlanPart(part_id=p.id, quantity=q) for p, q in (parts or {}).items()]
        make.session.add(plan)
        make.session.commit()
        return plan

    return build


@pytest.fixture
def reading(make):
    def add(asset, value, at: datetime, unit="km"):
        make.session.add(MeterReading(asset_id=asset.id, value=value, read_at=at, unit=unit))
        make.session.commit()

    return add


@pytest.fixture
def receive(make):
    def add(part, warehouse, quantity):
        stock.receive(make.session, part.id, quantity, warehouse.id, ACTOR)
        make.session.commit()

    return add


@pytest.fixture
def generate(app):
    """generate(now=..., **kw) → the report of one committed generation run."""

    def run(**kw):
        with app.app_context():
            report = generate_due_work_orders(db.session, actor=ACTOR, **kw)
            db.session.commit()
            db.session.remove()
            return report

    return run


@pytest.fixture
def pm_orders(app):
    """pm_orders() → [(plan_id, asset_id, due day, id)] of every PM work order, sorted."""

    def read(plan_id=None):
        with app.app_context():
            stmt = db.select(WorkOrder.pm_plan_id, WorkOrder.asset_id, WorkOrder.pm_due_on,
                             WorkOrder.id).where(WorkOrder.pm_plan_id.is_not(None))
            if plan_id is not None:
                stmt = stmt.where(WorkOrder.pm_plan_id == plan_id)
            rows = [tuple(r) for r in db.session.execute(stmt.order_by(WorkOrder.id))]
            db.session.remove()
            return rows

    return read
