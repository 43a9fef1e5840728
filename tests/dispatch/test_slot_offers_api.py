"""The slot finder through the API: ranked feasible visits, booking one, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.models import Absence, WorkOrder, WorkOrderSkill, WorkOrderWindow
from fieldsvc.models.enums import WorkOrderStatus
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
    found = agent.post(
        f"/api/v1/work-orders/{new.id}/slot-offers", json={"days": 1, "earliest": DAY.isoformat()}
    )
    assert found.status_code == 201, found.json
    offers = found.json["offers"]
    assert len(offers) == 2  # both technicians could take it
    assert {o["technician_id"] for o in offers} == {t.id for t in techs}
    assert offers[0]["cost"] <= offers[1]["cost"]
    assert all(o["plan_date"] == DAY.isoformat() for o in offers)
    assert found.json["days_skipped"] == []
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
    # Outside every window of the work order: no offers, each day says why.
    with_window = make.session.get(WorkOrder, orders[0].id)
    far = datetime.combine(DAY + timedelta(days=10), time(9), tzinfo=UTC)
    with_window.time_windows.append(
        WorkOrderWindow(starts_at=far, ends_at=far + timedelta(hours=2))
    )
    make.session.commit()
    empty = agent.post(url, json={"days": 2, "earliest": DAY.isoformat()})
    assert empty.status_code == 201
    assert empty.json["offers"] == []
    assert [d["date"] for d in empty.json["days_skipped"]] == [
        DAY.isoformat(),
        (DAY + timedelta(days=1)).isoformat(),
    ]
    # A manager looks at work orders but books nothing.
    assert client_as("manager").post(url, json={}).status_code == 403


def test_a_day_without_a_plan_is_searched_and_booking_assigns_and_pins(app, make, client_as):
    skill, (busy_tech, away_tech), (new,) = _world(make, jobs=1)
    zone = ZoneInfo(app.config["DEFAULT_TIMEZONE"])

    def local(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(DAY, time(hour, minute), tzinfo=zone)

    # Nothing is published. One technician is away all day; the other has a visit at 10:00.
    make.session.add(Absence(technician_id=away_tech.id, starts_at=local(0), ends_at=local(23, 59)))
    assigned = make.work_order(
        site=make.site(latitude=35.80, longitude=51.50),
        status=WorkOrderStatus.SCHEDULED,
        technician_id=busy_tech.id,
        scheduled_start_at=local(10),
        estimated_minutes=60,
    )
    make.session.commit()
    agent = client_as("agent")
    url = f"/api/v1/work-orders/{new.id}/slot-offers"
    found = agent.post(url, json={"days": 1, "earliest": DAY.isoformat()})
    assert found.status_code == 201, found.json
    assert found.json["days_skipped"] == []
    offers = found.json["offers"]
    assert offers and {o["technician_id"] for o in offers} == {busy_tech.id}
    offer = offers[0]
    assert offer["plan_date"] == DAY.isoformat()
    start, end = _at(offer["start"]), _at(offer["end"])
    assert end - start == timedelta(minutes=60)
    # Within the shift (08:00-17:00) and clear of the visit already on the day.
    assert local(8) <= start and end <= local(17)
    assert end <= local(10) or start >= local(11)
    booked = agent.post(f"{url}/{offer['id']}/book")
    assert booked.status_code == 200, booked.json
    wo = agent.get(f"/api/v1/work-orders/{new.id}").json
    assert (wo["status"], wo["technician_id"], wo["pinned"]) == (
        "scheduled",
        busy_tech.id,
        True,
    )
    assert _at(wo["scheduled_start_at"]) == start
    assert agent.get(f"/api/v1/work-orders/{assigned.id}").json["status"] == "scheduled"
    # The next optimizer run sees it pinned where it was booked.
    with app.app_context():
        from fieldsvc.extensions import db

        snap = build_snapshot(db.session, DAY, territory="tehran", timezone=zone.key)
        job = next(j for j in snap.problem.jobs if j.id == str(new.id))
        assert job.pinned_technician == str(busy_tech.id)
        assert snap.origin + timedelta(seconds=job.pinned_start) == start
        db.session.remove()


def test_an_offer_without_a_plan_is_stale_once_the_technicians_day_changes(app, make, client_as):
    skill, (tech, other), (new, later) = _world(make, jobs=2)
    agent = client_as("agent")
    url = f"/api/v1/work-orders/{new.id}/slot-offers"
    found = agent.post(url, json={"days": 1, "earliest": DAY.isoformat()})
    assert found.status_code == 201, found.json
    offer = found.json["offers"][0]
    # Meanwhile another work order is booked on the same technician's day.
    taken = agent.post(
        f"/api/v1/work-orders/{later.id}/slot-offers",
        json={"days": 1, "earliest": DAY.isoformat(), "limit": 5},
    ).json["offers"]
    same = next(o for o in taken if o["technician_id"] == offer["technician_id"])
    assert (
        agent.post(f"/api/v1/work-orders/{later.id}/slot-offers/{same['id']}/book").status_code
        == 200
    )
    stale = agent.post(f"{url}/{offer['id']}/book")
    assert stale.status_code == 409
    assert agent.get(f"/api/v1/work-orders/{new.id}").json["status"] == "new"
