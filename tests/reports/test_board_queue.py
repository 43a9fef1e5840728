"""The board's unassigned queue: the day's work only, each with its true reason."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.models import WorkOrderSkill, WorkOrderWindow
from tests.reports.conftest import DAY
from tests.reports.test_dispatch_board import _board, _run_and_wait

TEHRAN = ZoneInfo("Asia/Tehran")


def test_queue_lists_the_days_jobs_with_the_runs_reasons(app, console, make, day_world):
    techs, orders = day_world
    later = make.work_order(summary="Only later")
    later.time_windows.append(
        WorkOrderWindow(
            starts_at=datetime.combine(DAY + timedelta(days=3), time(9), TEHRAN),
            ends_at=datetime.combine(DAY + timedelta(days=3), time(12), TEHRAN),
        )
    )
    welding = make.skill("welding")
    rare = make.work_order(summary="Needs welding")
    rare.skills.append(WorkOrderSkill(skill_id=welding.id, min_level=1))
    make.session.commit()
    dispatcher = console()
    html = _board(dispatcher).get_data(as_text=True)
    assert "Needs welding" in html
    assert "Only later" not in html  # its only window is three days later
    before_run = html.split('id="emergency-wo"', 1)[1].split("</select>", 1)[0]
    assert "Needs welding" in before_run  # nothing has ruled it out yet
    run_id = _run_and_wait(app, dispatcher)
    html = _board(dispatcher).get_data(as_text=True)
    assert "Only later" not in html
    # The run's own explanation, not "new since the run".
    assert "welding" in html.split("Needs welding", 1)[1].split("</li>", 1)[0]
    assert f"New or changed since run {run_id}" not in html
    # Nobody has the welding skill: the emergency list does not offer it.
    emergency = html.split('id="emergency-wo"', 1)[1].split("</select>", 1)[0]
    assert "Needs welding" not in emergency
    assert f"Planned by run {run_id}, which is not published yet." in html
    fresh = make.work_order(summary="Called in after the run")
    make.session.commit()
    html = _board(dispatcher).get_data(as_text=True)
    item = html.split("Called in after the run", 1)[1].split("</li>", 1)[0]
    assert f"New or changed since run {run_id}; run it again." in item
    assert fresh.id
    later_board = dispatcher.get(
        "/console/dispatch",
        query_string={"date": (DAY + timedelta(days=3)).isoformat(), "territory": "tehran"},
    ).get_data(as_text=True)
    assert "Only later" in later_board
