"""The work-order status machine through POST /work-orders/{id}/transitions."""

from datetime import UTC, datetime, timedelta

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder, WorkOrderTransition
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.services.work_orders import TERMINAL, TRANSITIONS
from tests.services.conftest import PROBLEM


def test_the_table_covers_every_status_and_only_terminal_states_are_dead_ends():
    assert set(TRANSITIONS) == set(WorkOrderStatus)
    terminal = {WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED,
                WorkOrderStatus.CANNOT_COMPLETE}
    assert set(TERMINAL) == terminal
    for status, targets in TRANSITIONS.items():
        assert status not in targets
        if status not in TERMINAL:
            assert WorkOrderStatus.CANCELLED in targets


def test_happy_path_records_every_step_with_side_effects(client, make, wo_api):
    site = make.site()
    tech = make.technician()
    wo = wo_api.create(site_id=site.id)
    scheduled = wo_api.move(wo["id"], "scheduled", technician_id=tech.id,
                            scheduled_start_at="2030-01-01T09:00:00+03:30")
    assert scheduled["status"] == "scheduled" and scheduled["technician_id"] == tech.id
    assert scheduled["scheduled_end_at"] == "2030-01-01T06:30:00+00:00"  # + 60 min
    wo_api.move(wo["id"], "dispatched")
    started = "2025-05-01T08:00:00+03:30"
    en_route = wo_api.move(wo["id"], "en_route", at=started, lat=35.7, lon=51.4)
    assert en_route["started_at"] == "2025-05-01T04:30:00+00:00"
    on_site = wo_api.move(wo["id"], "on_site", at="2025-05-01T08:40:00+03:30")
    assert on_site["arrived_at"] == "2025-05-01T05:10:00+00:00"
    done = wo_api.move(wo["id"], "completed", resolution="Replaced fuser",
                       resolution_code="FUSER")
    assert done["status"] == "completed" and done["completed_at"] is not None
    assert done["resolution"] == "Replaced fuser" and done["resolution_code"] == "FUSER"
    assert done["first_time_fix"] is True
    history = client.get(f"/api/v1/work-orders/{wo['id']}/transitions").json
    assert history["total"] == 6
    steps = [(t["from_status"], t["to_status"]) for t in history["items"]]
    assert steps == [(None, "new"), ("new", "scheduled"), ("scheduled", "dispatched"),
                     ("dispatched", "en_route"), ("en_route", "on_site"),
                     ("on_site", "completed")]
    en_route_row = history["items"][3]
    assert en_route_row["lat"] == 35.7 and en_route_row["lon"] == 51.4
    assert en_route_row["at"] == "2025-05-01T04:30:00+00:00"
    assert en_route_row["actor_name"]


def test_illegal_transition_is_409_naming_current_state_and_allowed_targets(
        client, make, wo_api, app):
    wo = wo_api.create(site_id=make.site().id)
    response = client.post(f"/api/v1/work-orders/{wo['id']}/transitions",
                           json={"to": "completed"})
    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    assert response.json["current_status"] == "new"
    assert response.json["allowed"] == ["cancelled", "scheduled"]
    assert "new" in response.json["detail"] and "scheduled" in response.json["detail"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(WorkOrderTransition.id))) == 1
    wo_api.move(wo["id"], "cancelled", reason="dup")
    final = client.post(f"/api/v1/work-orders/{wo['id']}/transitions", json={"to": "new"})
    assert final.status_code == 409 and final.json["allowed"] == []


def test_transition_bad_input(client, make, wo_api):
    site = make.site()
    wo = wo_api.create(site_id=site.id)
    url = f"/api/v1/work-orders/{wo['id']}/transitions"
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    cases = [
        ({}, "to"),
        ({"to": "flying"}, "to"),
        ({"to": "scheduled"}, "technician_id"),
        ({"to": "scheduled", "technician_id": 999,
          "scheduled_start_at": "2030-01-01T09:00:00+00:00"}, "technician_id"),
        ({"to": "scheduled", "technician_id": 1, "scheduled_start_at": "2030-01-01T09:00:00"},
         "scheduled_start_at"),
        ({"to": "cancelled"}, "reason"),
        ({"to": "cancelled", "reason": "   "}, "reason"),
        ({"to": "cancelled", "reason": "x", "at": future}, "at"),
        ({"to": "cancelled", "reason": "x", "at": "2025-01-01T10:00:00"}, "at"),
        ({"to": "cancelled", "reason": "x", "lat": 91}, "lat"),
        ({"to": "cancelled", "reason": "x", "lon": "east"}, "lon"),
        ({"to": "cancelled", "reason": "x", "resolution": "fixed"}, "resolution"),
        ({"to": "cancelled", "reason": "x", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    assert wo_api.get(wo["id"])["status"] == "new"
    assert client.post("/api/v1/work-orders/999/transitions",
                       json={"to": "cancelled", "reason": "x"}).status_code == 404
    assert client.post(url, data="nope", content_type="application/json").status_code == 400


def test_status_is_not_writable_outside_transitions(client, make, wo_api):
    wo = wo_api.create(site_id=make.site().id)
    assert client.patch(f"/api/v1/work-orders/{wo['id']}",
                        json={"status": "completed"}).status_code == 422
    assert client.put(f"/api/v1/work-orders/{wo['id']}", json={}).status_code == 405


def test_on_hold_needs_a_reason_and_resumes_where_it_makes_sense(client, make, wo_api):
    tech = make.technician()
    wo = wo_api.create(site_id=make.site().id)
    wo_api.to_on_site(wo["id"], tech.id)
    wo_api.move(wo["id"], "on_hold", expect=422)
    held = wo_api.move(wo["id"], "on_hold", reason="waiting for customer approval")
    assert held["hold_reason"] == "waiting for customer approval"
    refused = client.post(f"/api/v1/work-orders/{wo['id']}/transitions",
                          json={"to": "on_site"})
    assert refused.status_code == 409
    # Held on site: the technician must travel again.
    assert refused.json["resume_to"] == "dispatched"
    assert refused.json["allowed"] == ["cancelled", "dispatched", "new", "scheduled"]
    resumed = wo_api.move(wo["id"], "dispatched")
    assert resumed["status"] == "dispatched" and resumed["hold_reason"] is None

    early = wo_api.create(site_id=make.site().id)
    wo_api.move(early["id"], "scheduled", technician_id=tech.id,
                scheduled_start_at="2030-01-01T13:00:00+03:30")  # after the held visit
    wo_api.move(early["id"], "on_hold", reason="parts on order")
    again = client.post(f"/api/v1/work-orders/{early['id']}/transitions",
                        json={"to": "completed"})
    assert again.json["resume_to"] == "scheduled"


def test_unscheduling_back_to_new_clears_the_assignment(make, wo_api):
    tech = make.technician()
    wo = wo_api.create(site_id=make.site().id)
    wo_api.move(wo["id"], "scheduled", technician_id=tech.id,
                scheduled_start_at="2030-01-01T09:00:00+03:30")
    back = wo_api.move(wo["id"], "new")
    assert back["technician_id"] is None and back["scheduled_start_at"] is None
    wo_api.move(wo["id"], "dispatched", expect=409)


def test_cannot_complete_creates_a_linked_follow_up(client, make, wo_api):
    site = make.site()
    asset = make.asset(site.customer, site=site)
    skill, part = make.skill(), make.part()
    tech = make.technician(skills={skill: 4})
    wo = wo_api.create(site_id=site.id, asset_id=asset.id, priority=2,
                       skills=[{"skill_id": skill.id, "min_level": 4}],
                       parts=[{"part_id": part.id, "quantity": 3}])
    wo_api.move(wo["id"], "scheduled", technician_id=tech.id,
                scheduled_start_at="2030-01-01T09:00:00+03:30")
    wo_api.move(wo["id"], "dispatched")
    wo_api.move(wo["id"], "en_route")
    wo_api.move(wo["id"], "cannot_complete", expect=422)
    failed = wo_api.move(wo["id"], "cannot_complete", reason="Customer not at home")
    assert failed["status"] == "cannot_complete"
    assert failed["cannot_complete_reason"] == "Customer not at home"
    follow = client.get(f"/api/v1/work-orders?status=new&asset_id={asset.id}").json["items"]
    assert len(follow) == 1
    fu = follow[0]
    assert fu["follow_up_of_id"] == wo["id"]
    assert (fu["site_id"], fu["asset_id"], fu["priority"]) == (site.id, asset.id, 2)
    assert fu["skills"] == [{"skill_id": skill.id, "min_level": 4}]
    assert [(p["part_id"], p["quantity"]) for p in fu["parts"]] == [(part.id, 3)]
    assert fu["resolution_due_at"] == wo["resolution_due_at"]
    assert fu["technician_id"] is None
    # The follow-up is never a first-time fix.
    wo_api.to_on_site(fu["id"], tech.id)
    assert wo_api.move(fu["id"], "completed")["first_time_fix"] is False


def test_repeat_visit_within_30_days_is_not_a_first_time_fix(make, wo_api, app):
    site = make.site()
    asset = make.asset(site.customer, site=site)
    tech = make.technician()
    first = wo_api.create(site_id=site.id, asset_id=asset.id)
    wo_api.to_on_site(first["id"], tech.id)
    assert wo_api.move(first["id"], "completed")["first_time_fix"] is True
    second = wo_api.create(site_id=site.id, asset_id=asset.id)
    wo_api.to_on_site(second["id"], tech.id)
    assert wo_api.move(second["id"], "completed")["first_time_fix"] is False
    # Long ago does not count.
    with app.app_context():
        for ident in (first["id"], second["id"]):
            row = db.session.get(WorkOrder, ident)
            row.completed_at = datetime.now(UTC) - timedelta(days=31)
        db.session.commit()
    third = wo_api.create(site_id=site.id, asset_id=asset.id)
    wo_api.to_on_site(third["id"], tech.id)
    assert wo_api.move(third["id"], "completed")["first_time_fix"] is True


@pytest.mark.parametrize("status_path", [[], ["scheduled"], ["scheduled", "dispatched"],
                                         ["scheduled", "dispatched", "en_route"]])
def test_cancel_from_any_open_state_needs_a_reason(make, wo_api, status_path):
    tech = make.technician()
    wo = wo_api.create(site_id=make.site().id)
    for to in status_path:
        extra = {"technician_id": tech.id, "scheduled_start_at": "2030-01-01T09:00:00Z"} \
            if to == "scheduled" else {}
        wo_api.move(wo["id"], to, **extra)
    wo_api.move(wo["id"], "cancelled", expect=422)
    assert wo_api.move(wo["id"], "cancelled", reason="customer cancelled")["status"] == \
        "cancelled"


def test_stale_version_is_a_conflict_not_a_lost_update(app, make, wo_api):
    """Two sessions move the same work order: the second flush fails on the version."""
    from fieldsvc.context import SYSTEM
    from fieldsvc.services import work_orders as service

    tech = make.technician()
    wo = wo_api.create(site_id=make.site().id)
    with app.app_context():
        engine = db.engine
        from sqlalchemy.orm import Session
        from sqlalchemy.orm.exc import StaleDataError

        with Session(engine) as one, Session(engine) as two:
            a = one.get(WorkOrder, wo["id"])
            b = two.get(WorkOrder, wo["id"])
            service.transition(one, a, "scheduled", SYSTEM, technician_id=tech.id,
                               scheduled_start_at=datetime(2030, 1, 1, tzinfo=UTC))
            one.commit()
            with pytest.raises(StaleDataError):
                service.transition(two, b, "cancelled", SYSTEM, reason="too late")
            two.rollback()
    assert wo_api.get(wo["id"])["status"] == "scheduled"
