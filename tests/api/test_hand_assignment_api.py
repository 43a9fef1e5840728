"""The API refuses a hand placement that breaks the planning rules (409 naming them)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.models import WorkOrderSkill, WorkOrderWindow

TEHRAN = ZoneInfo("Asia/Tehran")
DAY = date.today() + timedelta(days=3)


def _at(hour: int, minute: int = 0) -> str:
    return datetime.combine(DAY, time(hour, minute), tzinfo=TEHRAN).isoformat()


def _utc(hour: int, minute: int = 0) -> str:
    moment = datetime.combine(DAY, time(hour, minute), tzinfo=TEHRAN)
    return moment.astimezone(ZoneInfo("UTC")).isoformat()


def test_pinning_by_hand_409_with_the_broken_rules_unless_overridden(client, make):
    skill = make.skill("hvac")
    tech = make.technician(skills={skill: 3})
    busy = make.work_order(estimated_minutes=60)
    wo = make.work_order(estimated_minutes=90)
    wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
    wo.time_windows.append(
        WorkOrderWindow(
            starts_at=datetime.combine(DAY, time(13), TEHRAN),
            ends_at=datetime.combine(DAY, time(15), TEHRAN),
        )
    )
    make.session.commit()
    ok = client.post(
        f"/api/v1/work-orders/{busy.id}/transitions",
        json={"to": "scheduled", "technician_id": tech.id, "scheduled_start_at": _at(13)},
    )
    assert ok.status_code == 200, ok.json
    fine = client.post(
        f"/api/v1/work-orders/{wo.id}/transitions",
        json={"to": "scheduled", "technician_id": tech.id, "scheduled_start_at": _at(14, 15)},
    )
    assert fine.status_code == 200, fine.json

    def patch(body):
        version = client.get(f"/api/v1/work-orders/{wo.id}").json["version"]
        return client.patch(
            f"/api/v1/work-orders/{wo.id}", json=body, headers={"If-Match": f'"{version}"'}
        )

    # Pinned by hand outside its window, then on top of the other job: refused.
    early = patch({"scheduled_start_at": _at(9), "pinned": True})
    assert early.status_code == 409
    assert early.json["violations"][0]["rule"] == "time_windows"
    overlap = patch({"scheduled_start_at": _at(13, 30), "pinned": True})
    assert overlap.status_code == 409
    assert "travel" in {v["rule"] for v in overlap.json["violations"]}
    wo_now = client.get(f"/api/v1/work-orders/{wo.id}").json
    assert (wo_now["pinned"], wo_now["scheduled_start_at"][:13]) == (False, _utc(14, 15)[:13])
    assert patch({"scheduled_start_at": _at(14), "pinned": True}).status_code == 200
    # Pinned already: a move is checked too; an override reason lets it through.
    assert patch({"scheduled_start_at": _at(8)}).status_code == 409
    forced = patch({"scheduled_start_at": _at(8), "override_reason": "customer asked for early"})
    assert forced.status_code == 200, forced.json
    log = client.get("/api/v1/audit-log", query_string={"entity_type": "work_order"}).json
    (entry,) = [e for e in log["items"] if e["action"] == "assignment_override"]
    assert entry["changes"]["reason"][1] == "customer asked for early"
    blank = client.patch(f"/api/v1/work-orders/{wo.id}", json={"override_reason": "x" * 501})
    assert blank.status_code == 422


def test_an_unpinned_assignment_by_patch_is_checked_too(client, make):
    skill = make.skill("boiler")
    skilled = make.technician(skills={skill: 3})
    unskilled = make.technician()
    wo = make.work_order(estimated_minutes=60)
    wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
    make.session.commit()
    placed = client.post(
        f"/api/v1/work-orders/{wo.id}/transitions",
        json={"to": "scheduled", "technician_id": skilled.id, "scheduled_start_at": _at(10)},
    )
    assert placed.status_code == 200, placed.json
    assert placed.json["pinned"] is False

    def patch(body):
        version = client.get(f"/api/v1/work-orders/{wo.id}").json["version"]
        return client.patch(
            f"/api/v1/work-orders/{wo.id}", json=body, headers={"If-Match": f'"{version}"'}
        )

    # Handed to a technician without the skill, not pinned: refused, nothing changes.
    wrong = patch({"technician_id": unskilled.id})
    assert wrong.status_code == 409
    assert "skill" in {v["code"] for v in wrong.json["violations"]}
    # Moved after the shift end, still unpinned: refused as well.
    late = patch({"scheduled_start_at": _at(19)})
    assert late.status_code == 409
    assert late.json["violations"]
    now = client.get(f"/api/v1/work-orders/{wo.id}").json
    assert (now["technician_id"], now["scheduled_start_at"][:16]) == (skilled.id, _utc(10)[:16])
    # An in-shift move to the skilled technician goes through.
    assert patch({"scheduled_start_at": _at(11)}).status_code == 200
    # With a reason the unskilled technician gets it, and the override is in the audit log.
    forced = patch({"technician_id": unskilled.id, "override_reason": "trainee shadowing"})
    assert forced.status_code == 200, forced.json
    assert forced.json["technician_id"] == unskilled.id
    log = client.get("/api/v1/audit-log", query_string={"entity_type": "work_order"}).json
    (entry,) = [e for e in log["items"] if e["action"] == "assignment_override"]
    assert entry["changes"]["reason"][1] == "trainee shadowing"
