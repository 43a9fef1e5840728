"""Publish, release and emergency insertion through the API, as a dispatcher would."""

import threading
from datetime import date, timedelta

import pytest

from fieldsvc.dispatch.queue import get_queue
from fieldsvc.extensions import db
from fieldsvc.models import InsertionProposal, OptimizationRun, WorkOrder, WorkOrderSkill
from tests.dispatch.test_runs_api import _wait, publish_and_wait

# A day ahead of any test run, so "not in the past" never bites.
DAY = date.today() + timedelta(days=3)


def _world(make, jobs=4):
    skill = make.skill("hvac")
    techs = [make.technician(skills={skill: 3}) for _ in range(2)]
    orders = []
    for i in range(jobs):
        wo = make.work_order(site=make.site(latitude=35.70 + i / 100, longitude=51.40),
                             estimated_minutes=60, priority=2 + i % 3)
        wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
        orders.append(wo)
    make.session.commit()
    return skill, techs, orders


def _finished_run(client, app):
    accepted = client.post("/api/v1/optimization-runs",
                           json={"date": DAY.isoformat(), "territory": "tehran",
                                 "time_limit": 1})
    assert accepted.status_code == 202, accepted.json
    run = _wait(client, accepted.json["id"])
    get_queue(app).wait(timeout=30)
    assert run["status"] == "finished", run
    return run


def _published(client, app):
    run = _finished_run(client, app)
    assert publish_and_wait(client, app, run["id"])["publish"]["status"] == "done"
    return run


def _statuses(app, ids):
    with app.app_context():
        rows = db.session.query(WorkOrder.id, WorkOrder.status).filter(
            WorkOrder.id.in_(ids)).all()
        db.session.remove()
        return {i: s.value for i, s in rows}


@pytest.fixture
def dispatcher(client_as):
    return client_as("dispatcher")


@pytest.fixture
def agent(client_as):
    return client_as("agent")


def test_concurrent_publishes_of_one_run_one_wins(app, make, dispatcher, client_as):
    _, _, orders = _world(make)
    run = _finished_run(dispatcher, app)
    clients = [dispatcher, client_as("dispatcher")]
    barrier = threading.Barrier(2)
    answers = []

    def publish(c):
        barrier.wait()
        answers.append(c.post(f"/api/v1/optimization-runs/{run['id']}/publish").status_code)

    threads = [threading.Thread(target=publish, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Both are told the publication is under way (or, when the queue was quicker than the
    # second request, that the run is published already); it is queued once and runs once.
    assert sorted(answers) in ([202, 202], [202, 409])
    get_queue(app).wait(timeout=60)
    assert set(_statuses(app, [o.id for o in orders]).values()) == {"scheduled"}
    with app.app_context():
        from fieldsvc.models import WorkOrderTransition
        # Each work order was scheduled once, not twice.
        count = db.session.query(WorkOrderTransition).filter_by(to_status="scheduled").count()
        db.session.remove()
    assert count == len(orders)


def test_release_a_technician_day_and_a_whole_run(app, make, dispatcher, agent):
    _, techs, orders = _world(make)
    run = _published(dispatcher, app)
    ids = [o.id for o in orders]
    assert agent.post(f"/api/v1/optimization-runs/{run['id']}/publish").status_code == 403
    body = {"date": DAY.isoformat()}
    tech = techs[0]
    assert agent.post(f"/api/v1/technicians/{tech.id}/release", json=body).status_code == 403
    with app.app_context():
        mine = sorted(i for (i,) in db.session.query(WorkOrder.id).filter(
            WorkOrder.technician_id == tech.id))
        db.session.remove()
    released = dispatcher.post(f"/api/v1/technicians/{tech.id}/release", json=body)
    assert released.status_code == 200, released.json
    assert sorted(released.json["released"]) == mine
    assert released.json["technician_days"] == [
        {"technician_id": tech.id, "date": DAY.isoformat(), "count": len(mine)}]
    statuses = _statuses(app, ids)
    assert all(statuses[i] == "dispatched" for i in mine)
    assert all(statuses[i] == "scheduled" for i in ids if i not in mine)
    # Releasing again finds nothing left; another day has nothing either.
    again = dispatcher.post(f"/api/v1/technicians/{tech.id}/release", json=body)
    assert again.json["released"] == []
    other_day = {"date": (DAY + timedelta(days=1)).isoformat()}
    assert dispatcher.post(f"/api/v1/technicians/{tech.id}/release",
                           json=other_day).json["released"] == []
    # The whole run: the rest goes out.
    assert agent.post(f"/api/v1/optimization-runs/{run['id']}/release").status_code == 403
    whole = dispatcher.post(f"/api/v1/optimization-runs/{run['id']}/release")
    assert whole.status_code == 200, whole.json
    assert sorted(whole.json["released"]) == sorted(set(ids) - set(mine))
    assert set(_statuses(app, ids).values()) == {"dispatched"}


def test_bad_release_requests_change_nothing(app, make, dispatcher):
    _, techs, orders = _world(make)
    run = _finished_run(dispatcher, app)
    tech = techs[0]
    for body in [None, {}, {"date": "2026-02-30"}, {"date": "01.12.2026"},
                 {"date": "0001-01-01"}, {"date": DAY.isoformat(), "colour": "red"},
                 {"date": 20261201}, []]:
        answer = dispatcher.post(f"/api/v1/technicians/{tech.id}/release", json=body)
        assert answer.status_code == 422, (body, answer.json)
    assert dispatcher.post("/api/v1/technicians/99999/release",
                           json={"date": DAY.isoformat()}).status_code == 404
    assert dispatcher.post("/api/v1/optimization-runs/99999/release").status_code == 404
    unpublished = dispatcher.post(f"/api/v1/optimization-runs/{run['id']}/release")
    assert unpublished.status_code == 409
    assert "publish" in unpublished.json["detail"]
    assert set(_statuses(app, [o.id for o in orders]).values()) == {"new"}


def _emergency(make, skill):
    wo = make.work_order(site=make.site(latitude=35.72, longitude=51.41),
                         estimated_minutes=45, priority=1, summary="Server room flooded")
    wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=1))
    make.session.commit()
    return wo


def test_insert_an_emergency_and_accept_it(app, make, dispatcher, agent):
    skill, techs, orders = _world(make)
    _published(dispatcher, app)
    emergency = _emergency(make, skill)
    url = f"/api/v1/work-orders/{emergency.id}/insertion"
    assert agent.post(url, json={"date": DAY.isoformat()}).status_code == 403
    proposed = dispatcher.post(url, json={"date": DAY.isoformat()})
    assert proposed.status_code == 201, proposed.json
    body = proposed.json
    assert body["technician_id"] in {t.id for t in techs}
    assert body["work_order_id"] == emergency.id and body["accepted_at"] is None
    assert body["eta"] <= body["start"] < body["end"]
    assert body["start"][:10] == DAY.isoformat() and body["start"].endswith("+03:30")
    for change in body["eta_changes"]:
        assert change["old_start"] != change["new_start"]
    assert body["seconds"] < 1.0
    assert agent.post(url + "/accept", json={}).status_code == 403
    accepted = dispatcher.post(url + "/accept", json={})
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["accepted_at"] is not None
    with app.app_context():
        wo = db.session.get(WorkOrder, emergency.id)
        assert wo.status.value == "scheduled" and wo.technician_id == body["technician_id"]
        assert wo.scheduled_start_at == _parse(body["start"])
        assert wo.scheduled_end_at == _parse(body["end"]) and wo.eta_at == _parse(body["eta"])
        for change in body["eta_changes"]:
            moved = db.session.get(WorkOrder, change["work_order_id"])
            assert moved.scheduled_start_at == _parse(change["new_start"])
            assert moved.scheduled_end_at == _parse(change["new_end"])
        db.session.remove()
    # Once only.
    again = dispatcher.post(url + "/accept", json={})
    assert again.status_code == 409
    # Not new any more: no new proposal either.
    assert dispatcher.post(url, json={"date": DAY.isoformat()}).status_code == 409


def _parse(text):
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_a_proposal_is_refused_once_what_it_moves_has_changed(app, make, dispatcher, client):
    skill, _, _ = _world(make)
    _published(dispatcher, app)
    emergency = _emergency(make, skill)
    url = f"/api/v1/work-orders/{emergency.id}/insertion"
    assert dispatcher.post(url, json={"date": DAY.isoformat()}).status_code == 201
    edited = client.patch(f"/api/v1/work-orders/{emergency.id}",
                          json={"description": "water everywhere"})
    assert edited.status_code == 200, edited.json
    refused = dispatcher.post(url + "/accept", json={})
    assert refused.status_code == 409
    assert refused.json["changed"] == [emergency.id]
    assert _statuses(app, [emergency.id]) == {emergency.id: "new"}
    with app.app_context():
        assert db.session.query(InsertionProposal).filter(
            InsertionProposal.accepted_at.is_not(None)).count() == 0
        db.session.remove()
    # A fresh proposal can be accepted.
    assert dispatcher.post(url, json={"date": DAY.isoformat()}).status_code == 201
    assert dispatcher.post(url + "/accept", json={}).status_code == 200


def test_bad_insertion_requests(app, make, dispatcher):
    skill, _, orders = _world(make)
    emergency = _emergency(make, skill)
    url = f"/api/v1/work-orders/{emergency.id}/insertion"
    # Nothing published for the day yet.
    unpublished = dispatcher.post(url, json={"date": DAY.isoformat()})
    assert unpublished.status_code == 409 and "publish" in unpublished.json["detail"]
    # Nothing proposed yet.
    assert dispatcher.post(url + "/accept", json={}).status_code == 409
    for body in [{"date": "2026-13-01"}, {"date": DAY.isoformat(), "x": 1}, [],
                 {"date": "1800-01-01"}]:
        answer = dispatcher.post(url, json=body)
        assert answer.status_code == 422, (body, answer.json)
    for body in [{"proposal_id": 0}, {"proposal_id": "x"}, {"y": 1}]:
        assert dispatcher.post(url + "/accept", json=body).status_code == 422, body
    assert dispatcher.post("/api/v1/work-orders/99999/insertion",
                           json={"date": DAY.isoformat()}).status_code == 404
    assert dispatcher.post("/api/v1/work-orders/99999/insertion/accept",
                           json={}).status_code == 404
    with app.app_context():
        assert db.session.query(InsertionProposal).count() == 0
        db.session.remove()


def test_an_accepted_insertion_is_pinned_and_the_next_run_keeps_it(app, make, dispatcher):
    skill, _, _ = _world(make)
    _published(dispatcher, app)
    emergency = _emergency(make, skill)
    url = f"/api/v1/work-orders/{emergency.id}"
    assert dispatcher.post(url + "/insertion", json={"date": DAY.isoformat()}).status_code == 201
    accepted = dispatcher.post(url + "/insertion/accept", json={})
    assert accepted.status_code == 200, accepted.json
    promised = dispatcher.get(url).json
    assert promised["pinned"] is True and promised["status"] == "scheduled"
    assert promised["scheduled_start_at"] == _parse(accepted.json["start"]).astimezone(
        _parse(promised["scheduled_start_at"]).tzinfo).isoformat()

    # The next run plans around it, and publishing that run leaves the promise as it was.
    run = _finished_run(dispatcher, app)
    with app.app_context():
        snapshot = db.session.get(OptimizationRun, run["id"]).input_snapshot
        db.session.remove()
    job = next(j for j in snapshot["jobs"] if j["id"] == str(emergency.id))
    assert job["pinned_technician"] == str(promised["technician_id"])
    published = publish_and_wait(dispatcher, app, run["id"])["publish"]
    assert published["status"] == "done", published
    report = published["report"]
    assert emergency.id in report["unchanged"] + report["fixed"]
    assert emergency.id not in report["rescheduled"] + report["unscheduled"]
    kept = dispatcher.get(url).json
    for key in ("technician_id", "scheduled_start_at", "scheduled_end_at", "pinned"):
        assert kept[key] == promised[key], key

    # The dispatcher may unpin it; the next run may then move it.
    unpinned = dispatcher.patch(url, json={"pinned": False},
                                headers={"If-Match": f'"{kept["version"]}"'})
    assert unpinned.status_code == 200, unpinned.json
    assert unpinned.json["pinned"] is False and unpinned.json["version"] == kept["version"] + 1
    assert dispatcher.get(url).json["pinned"] is False
