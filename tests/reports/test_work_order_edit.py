"""The work-order page edits what the role may: a dispatcher everything, an agent nothing but
the slot finder."""

from __future__ import annotations

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, WorkOrder
from tests.reports.conftest import DAY


def _wo(app, ident):
    with app.app_context():
        wo = db.session.get(WorkOrder, ident)
        state = {
            "status": wo.status.value,
            "priority": wo.priority,
            "summary": wo.summary,
            "minutes": wo.estimated_minutes,
            "version": wo.version,
            "windows": [(w.starts_at, w.ends_at) for w in wo.time_windows],
            "parts": sorted((p.part.sku, p.quantity) for p in wo.parts),
            "checklist": wo.checklist,
            "technician": wo.technician_id,
            "pinned": wo.pinned,
        }
        db.session.remove()
        return state


def test_dispatcher_edits_status_assignment_windows_parts_and_checklist(
    app, console, make, day_world
):
    techs, orders = day_world
    wo = orders[0]
    make.part(sku="FLT-9")
    make.session.commit()
    dispatcher = console()
    page = dispatcher.get(f"/console/work-orders/{wo.id}").get_data(as_text=True)
    for form in ("edit-form", "status-form", "wo-assign-form"):
        assert f'id="{form}"' in page
    before = _wo(app, wo.id)
    saved = dispatcher.post(
        f"/console/work-orders/{wo.id}/edit",
        data={
            "summary": "Boiler 0 leaks",
            "priority": "2",
            "estimated_minutes": "90",
            "window_day": DAY.isoformat(),
            "window_from": "09:00",
            "window_to": "12:00",
            "parts": "FLT-9 2",
            "parts_shown": "1",
            "checklist_shown": "1",
            "checklist": "Check pressure\n[x] Call customer",
        },
        follow_redirects=True,
    )
    assert f"Work order {wo.id} saved." in saved.get_data(as_text=True)
    after = _wo(app, wo.id)
    assert (after["summary"], after["priority"], after["minutes"]) == ("Boiler 0 leaks", 2, 90)
    assert after["version"] > before["version"]
    assert after["parts"] == [("FLT-9", 2)]
    assert [c["done"] for c in after["checklist"]] == [False, True]
    assert len(after["windows"]) == 1
    # A hand assignment outside the new window is refused with the reason; inside, it holds.
    out = dispatcher.post(
        f"/console/work-orders/{wo.id}/assign",
        data={"technician_id": str(techs[0].id), "day": DAY.isoformat(), "start": "14:00"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The start is outside the work order&#39;s time windows." in out
    assert _wo(app, wo.id)["status"] == "new"
    ok = dispatcher.post(
        f"/console/work-orders/{wo.id}/assign",
        data={"technician_id": str(techs[0].id), "day": DAY.isoformat(), "start": "09:30"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "assigned to Ali Rahimi at 09:30 and pinned" in ok
    moved = dispatcher.post(
        f"/console/work-orders/{wo.id}/status", data={"to": "dispatched"}, follow_redirects=True
    )
    assert f"Work order {wo.id} is now dispatched." in moved.get_data(as_text=True)
    assert _wo(app, wo.id)["status"] == "dispatched"
    bad = dispatcher.post(
        f"/console/work-orders/{wo.id}/edit",
        data={"summary": "x", "estimated_minutes": "-5"},
        follow_redirects=True,
    )
    assert "invalid" in bad.get_data(as_text=True)
    # Without the CSRF token nothing is written.
    assert (
        dispatcher.raw_post(
            f"/console/work-orders/{wo.id}/edit", data={"summary": "hijacked"}
        ).status_code
        == 400
    )
    assert _wo(app, wo.id)["summary"] == "Boiler 0 leaks"
    with app.app_context():
        assert (
            db.session.query(AuditEntry)
            .filter_by(entity_type="work_order", entity_id=str(wo.id), action="update")
            .count()
            >= 1
        )
        db.session.remove()


def test_agent_sees_no_edit_forms_and_may_not_post_them(app, console, day_world):
    techs, orders = day_world
    agent = console("agent")
    page = agent.get(f"/console/work-orders/{orders[0].id}").get_data(as_text=True)
    for form in ("edit-form", "status-form", "wo-assign-form"):
        assert f'id="{form}"' not in page
    assert 'id="slot-form"' in page
    before = _wo(app, orders[0].id)
    for path, data in (
        ("edit", {"summary": "agent edit"}),
        ("status", {"to": "cancelled"}),
        ("assign", {"technician_id": str(techs[0].id)}),
    ):
        assert (
            agent.post(f"/console/work-orders/{orders[0].id}/{path}", data=data).status_code == 403
        )
    assert _wo(app, orders[0].id) == before
