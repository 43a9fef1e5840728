"""The slot finder through the API: ranked feasible visits, booking one, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fieldsvc.models import WorkOrderSkill
from tests.dispatch.test_release_insertion_api import DAY, _published, _statuses, _world


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_agent_finds_ranked_slots_and_books_one(app, make, client_as):
    skill, techs, orders = _world(make)
    dispatcher, agent = client_as("dispatcher"), client_as("agent")
    _published(dispatcher, app)
    new = make.work_order(
        site=make.site(latitude=35.72, longitude=51.41),
        estimated_minutes=45,
        priority=3,
        summary="Boiler leaks",
    )
    new.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
    make.session.commit()
    # The search starts at DAY (published) and looks one day further (not published).
    found = agent.post(
        f"/api/v1/work-orders/{new.id}/slot-offers", json={"days": 2, "earliest": DAY.isoformat()}
    )
    assert found.status_code == 201, found.json
    offers = found.json["offers"]
    assert len(offers) == 2  # both technicians could take it
    assert {o["technician_id"] for o in offers} == {t.id for t in techs}
    assert offers[0]["cost"] <= offers[1]["cost"]
    assert all(o["plan_date"] == DAY.isoformat() for o in offers)
    assert found.json["days_skipped"] == [
        {
            "date": (DAY + timedelta(days=1)).isoformat(),
            "reason": "No plan is published for this day.",
        }
    ]
    # The answer says how long the search took; its speed is measured by
    # benchmarks/slot_offers.py, not asserted here (a loaded machine would fail it).
    assert found.json["seconds"] >= 0
    chosen = offers[1]
    booked = agent.post(f"/api/v1/work-orders/{new.id}/slot-offers/{chosen['id']}/book")
    assert booked.status_code == 200, booked.json
    wo = agent.get(f"/api/v1/work-orders/{new.id}").json
    assert (wo["status"], wo["technician_id"], wo["pinned"]) == (
        "scheduled",
        chosen["technician_id"],
        True,
    )
    assert _at(wo["scheduled_start_at"]) == _at(chosen["start"])
    moved = {c["work_order_id"]: c["new_start"] for c in chosen["eta_changes"]}
    for wid, start in moved.items():
        assert _at(agent.get(f"/api/v1/work-orders/{wid}").json["scheduled_start_at"]) == _at(start)
    # The other offer is stale now, and the work order is no longer new.
    again = agent.post(f"/api/v1/work-orders/{new.id}/slot-offers/{offers[0]['id']}/book")
    assert again.status_code == 409
    assert agent.post(f"/api/v1/work-orders/{new.id}/slot-offers", json={}).status_code == 409
    # An emergency inserted afterwards builds on the booked visit's plan.
    assert set(_statuses(app, [o.id for o in orders]).values()) == {"scheduled"}


def test_bad_slot_requests_are_4xx_and_store_nothing(app, make, client_as):
    _, _, orders = _world(make, jobs=1)
    agent = client_as("agent")
    url = f"/api/v1/work-orders/{orders[0].id}/slot-offers"
    for body in (
        {"days": 0},
        {"days": 15},
        {"days": "3"},
        {"earliest": "yesterday"},
        {"earliest": (date.today() - timedelta(days=2)).isoformat()},
        {"limit": 0},
        {"whatever": 1},
    ):
        answer = agent.post(url, json=body)
        assert answer.status_code == 422, (body, answer.json)
    assert agent.post("/api/v1/work-orders/999999/slot-offers", json={}).status_code == 404
    assert agent.post(f"{url}/12345/book").status_code == 409
    # No plan published anywhere: no offers, each day says why.
    empty = agent.post(url, json={"days": 2, "earliest": DAY.isoformat()})
    assert empty.status_code == 201
    assert empty.json["offers"] == []
    assert [d["date"] for d in empty.json["days_skipped"]] == [
        DAY.isoformat(),
        (DAY + timedelta(days=1)).isoformat(),
    ]
    # A manager looks at work orders but books nothing.
    assert client_as("manager").post(url, json={}).status_code == 403
