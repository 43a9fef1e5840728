"""fieldsvc pm-generate: prints the report, commits once, refuses bad options."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, WorkOrder


def _count(app, model, *where):
    with app.app_context():
        n = db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def test_pm_generate_prints_the_report_and_a_second_run_creates_nothing(
        app, runner, make, plan):
    assets = [make.asset(site=make.site()), make.asset()]
    weekly = plan(assets, name="Boiler check", rrule="FREQ=WEEKLY;BYDAY=SA",
                  dtstart=datetime(2029, 1, 6, 6, tzinfo=UTC), lead_days=7)
    result = runner.invoke(args=["pm-generate", "--now", "2030-01-10T09:30:00+03:30"])
    assert result.exit_code == 0, result.output
    assert "work orders created: 1" in result.output
    assert "plans examined:      1" in result.output
    assert "asset has no site: 1" in result.output
    assert _count(app, WorkOrder, WorkOrder.pm_plan_id == weekly.id) == 1

    again = runner.invoke(args=["pm-generate", "--now", "2030-01-10T09:30:00+03:30"])
    assert again.exit_code == 0, again.output
    assert "work orders created: 0" in again.output
    assert "already existing:    1" in again.output
    assert _count(app, WorkOrder) == 1

    ahead = runner.invoke(args=["pm-generate", "--now", "2030-01-10T06:00:00Z", "--days", "14",
                                "--plan", str(weekly.id)])
    assert ahead.exit_code == 0, ahead.output
    assert "look-ahead: 14 days" in ahead.output
    assert "work orders created: 1" in ahead.output  # the 19th; the 26th is past the 24th
    entries = _count(app, AuditEntry, AuditEntry.action == "pm-generate")
    assert entries == 3


def test_pm_generate_with_nothing_to_do(runner):
    result = runner.invoke(args=["pm-generate"])
    assert result.exit_code == 0, result.output
    assert "plans examined:      0" in result.output


@pytest.mark.parametrize("args", [
    ["--now", "2030-01-10T09:30:00"],        # no offset
    ["--now", "yesterday"],
    ["--now", "0001-01-01T00:00:00+03:30"],
    ["--days", "-1"],
    ["--days", "x"],
    ["--plan", "0"],
    ["--plan", "abc"],
    ["--colour", "red"],
])
def test_pm_generate_refuses_bad_options_and_writes_nothing(app, runner, make, plan, args):
    plan([make.asset(site=make.site())], rrule="FREQ=DAILY",
         dtstart=datetime(2029, 1, 1, 6, tzinfo=UTC))
    result = runner.invoke(args=["pm-generate", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert _count(app, WorkOrder) == 0
    assert _count(app, AuditEntry, AuditEntry.action == "pm-generate") == 0
