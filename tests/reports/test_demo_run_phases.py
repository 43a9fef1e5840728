"""The demo's Tehran day goes through every optimizer phase it needs, and the run says so."""

from __future__ import annotations

from datetime import date

from fieldsvc.context import Actor
from fieldsvc.dispatch.runs import execute_run, request_run
from fieldsvc.extensions import db
from fieldsvc.models.enums import RunStatus

TODAY = "2026-11-21"  # a Saturday: the next working day is Sunday, a full shift
NEXT_DAY = date(2026, 11, 22)
ACTOR = Actor(id=None, name="test", source="cli")


def test_demo_tehran_day_runs_the_fast_phase_and_reports_its_gain(app, runner, client, console):
    seeded = runner.invoke(args=["seed-demo", "--today", TODAY])
    assert seeded.exit_code == 0, seeded.output
    with app.app_context():
        run = request_run(db.session, ACTOR, plan_date=NEXT_DAY, territory="tehran",
                          time_limit=6)  # fmt: skip
        db.session.commit()
        done = execute_run(db.session, run.id, "Asia/Tehran")
        assert done.status is RunStatus.FINISHED, done.error
        assert done.result["violations"] == []
        run_id = done.id
    shown = client.get(f"/api/v1/optimization-runs/{run_id}")
    assert shown.status_code == 200
    phases = {p["phase"]: p for p in shown.json["phases"]}
    assert phases["or-tools"]["seconds"] > 0
    fast = phases["ruin-and-recreate"]
    assert "skipped" not in fast, fast
    assert fast["iterations"] > 0 and fast["seconds"] > 0
    # The phase never makes the plan worse; on this day it finds something better.
    assert fast["gain"] > 0 and fast["cost_after"] < fast["cost_before"]
    assert phases["whole-day ruin-and-recreate"]["skipped"]  # one territory, one solve
    page = console("dispatcher").get(f"/console/dispatch/runs/{run_id}")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'id="run-phases"' in html and "ruin-and-recreate" in html
