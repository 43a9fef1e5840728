"""Assign-and-pin by hand keeps the optimizer's rules, or is overridden with an audited reason."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, WorkOrder, WorkOrderWindow
from tests.reports.conftest import DAY

TEHRAN = ZoneInfo("Asia/Tehran")


def _assign(console, wo, tech, start, **extra):
    return console.post(
        "/console/dispatch/assign",
        data={
            "date": DAY.isoformat(),
            "territory": "tehran",
            "work_order_id": str(wo.id),
            "technician_id": str(tech.id),
            "start": start,
            **extra,
        },
        follow_redirects=True,
    )


def _state(app, wo_id):
    with app.app_context():
        wo = db.session.get(WorkOrder, wo_id)
        state = (wo.status.value, wo.technician_id, wo.pinned)
        db.session.remove()
        return state


def _overrides(app, wo_id):
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "assignment_override", AuditEntry.entity_id == str(wo_id)
            )
        ).all()
        found = [r.changes for r in rows]
        db.session.remove()
        return found


def test_overlap_is_refused_with_the_reason_then_overridden_and_audited(
    app, console, client, day_world
):
    techs, orders = day_world
    dispatcher = console()
    first = _assign(dispatcher, orders[0], techs[0], "10:00")
    assert "assigned to Ali Rahimi at 10:00 and pinned" in first.get_data(as_text=True)
    # 10:30 is in the middle of the first job (60 minutes from 10:00).
    refused = _assign(dispatcher, orders[1], techs[0], "10:30").get_data(as_text=True)
    assert "Refused: this breaks the planning rules." in refused
    assert "The visit overlaps the technician&#39;s other jobs." in refused
    assert _state(app, orders[1].id) == ("new", None, False)
    assert _overrides(app, orders[1].id) == []
    done = _assign(
        dispatcher,
        orders[1],
        techs[0],
        "10:30",
        override_reason="customer insists, Ali confirmed by phone",
    )
    assert "assigned to Ali Rahimi at 10:30 and pinned" in done.get_data(as_text=True)
    assert _state(app, orders[1].id) == ("scheduled", techs[0].id, True)
    (entry,) = _overrides(app, orders[1].id)
    assert entry["reason"][1] == "customer insists, Ali confirmed by phone"
    assert "The visit overlaps the technician's other jobs." in entry["broken_rules"][1]
    # The audit log API shows the override to whoever reviews it.
    log = client.get("/api/v1/audit-log", query_string={"entity_type": "work_order"}).json
    assert any(
        e["action"] == "assignment_override" and e["entity_id"] == str(orders[1].id)
        for e in log["items"]
    )


def test_start_outside_the_windows_and_missing_skills_are_refused(app, console, make, day_world):
    techs, orders = day_world
    wo = orders[2]
    wo.time_windows.append(
        WorkOrderWindow(
            starts_at=datetime.combine(DAY, time(14), tzinfo=TEHRAN),
            ends_at=datetime.combine(DAY, time(16), tzinfo=TEHRAN),
        )
    )
    unskilled = make.technician(name="Reza Novice")
    make.session.commit()
    dispatcher = console()
    early = _assign(dispatcher, wo, techs[1], "09:00").get_data(as_text=True)
    assert "The start is outside the work order&#39;s time windows." in early
    assert f"{DAY.isoformat()} 14:00–16:00" in early
    unqualified = _assign(dispatcher, wo, unskilled, "14:30").get_data(as_text=True)
    assert "The technician lacks the skills or levels the work order needs." in unqualified
    assert _state(app, wo.id) == ("new", None, False)
    ok = _assign(dispatcher, wo, techs[1], "14:30").get_data(as_text=True)
    assert "assigned to Sara Karimi at 14:30 and pinned" in ok
