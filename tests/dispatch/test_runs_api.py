"""Dispatchers request runs over HTTP, watch them finish and publish them."""

import time

from fieldsvc.dispatch.queue import get_queue
from tests.dispatch.test_runs import DAY, _small_world


def _wait(client, run_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/optimization-runs/{run_id}").json
        if run["status"] in ("finished", "failed"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run did not finish: {run}")


def publish_and_wait(client, app, run_id):
    """POST publish (202 with the run), let the queue work, and return the run after it."""
    accepted = client.post(f"/api/v1/optimization-runs/{run_id}/publish")
    assert accepted.status_code == 202, accepted.json
    assert accepted.json["publish"]["status"] in ("queued", "running", "done")
    get_queue(app).wait(timeout=60)
    return client.get(f"/api/v1/optimization-runs/{run_id}").json


def test_request_follow_and_publish_a_run(client, make, app):
    _, orders = _small_world(make)
    accepted = client.post("/api/v1/optimization-runs",
                           json={"date": DAY.isoformat(), "territory": "tehran",
                                 "time_limit": 2})
    assert accepted.status_code == 202, accepted.json
    assert accepted.json["status"] == "queued"
    run = _wait(client, accepted.json["id"])
    assert run["status"] == "finished" and run["progress"] == 1.0
    assert run["assigned_count"] == len(orders)
    published = publish_and_wait(client, app, run["id"])
    assert published["publish"]["status"] == "done", published["publish"]
    assert published["publish"]["progress"] == 1.0 and published["published_at"]
    assert sorted(published["publish"]["report"]["scheduled"]) == sorted(o.id for o in orders)
    listed = client.get("/api/v1/work-orders", query_string={"status": "scheduled"})
    assert listed.json["total"] == len(orders)
    again = client.post(f"/api/v1/optimization-runs/{run['id']}/publish")
    assert again.status_code == 409
    get_queue(app).wait(timeout=30)


def test_bad_run_requests_are_refused_and_create_nothing(client, make):
    for body in [{}, {"date": "2026-02-30"}, {"date": DAY.isoformat(), "horizon_days": 0},
                 {"date": DAY.isoformat(), "time_limit": 10_000},
                 {"date": DAY.isoformat(), "technician_ids": [999]},
                 {"date": DAY.isoformat(), "colour": "red"}]:
        response = client.post("/api/v1/optimization-runs", json=body)
        assert response.status_code == 422, (body, response.json)
    assert client.get("/api/v1/optimization-runs").json["total"] == 0
    assert client.post("/api/v1/optimization-runs/999/publish").status_code == 404


def test_run_lists_carry_summaries_and_progress_is_not_audited(client, make, app):
    from sqlalchemy import func, select

    from fieldsvc.extensions import db
    from fieldsvc.models.audit import AuditEntry

    _small_world(make)
    accepted = client.post("/api/v1/optimization-runs",
                           json={"date": DAY.isoformat(), "territory": "tehran",
                                 "time_limit": 2})
    assert "result" not in accepted.json and "input" not in accepted.json
    run = _wait(client, accepted.json["id"])
    get_queue(app).wait(timeout=30)
    # The run itself: its input and its plan.
    assert run["result"]["plan"]["routes"] and run["input"]["jobs"]
    # The list: the same figures, none of the payloads.
    listed = client.get("/api/v1/optimization-runs").json["items"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert "result" not in listed[0] and "input" not in listed[0]
    assert listed[0]["assigned_count"] == run["assigned_count"]
    assert listed[0]["status"] == "finished" and listed[0]["progress"] == 1.0
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "optimization_run").order_by(AuditEntry.id)).all()
        biggest = db.session.scalar(select(func.max(func.length(
            func.cast(AuditEntry.changes, db.String)))))
        db.session.remove()
    # Requested, its input stored, finished with its plan: no row per progress commit.
    assert [e.action for e in entries] == ["create", "update", "update"], \
        [e.changes for e in entries]
    assert set(entries[1].changes) == {"input_snapshot"}
    assert entries[2].changes["status"][1] == "finished"
    assert entries[2].changes["result"] == ["(stored on the row)", "(stored on the row)"]
    assert biggest < 5000  # the plan is not copied into the audit log


def test_all_territories_is_one_queued_run_per_territory(client_as, make, app):
    from fieldsvc.dispatch.queue import get_queue as queue_of

    for territory in ("north", "south"):
        make.technician(territory=territory)
    make.work_order(estimated_minutes=30)
    dispatcher = client_as("dispatcher")
    accepted = dispatcher.post("/api/v1/optimization-runs/territories",
                               json={"date": DAY.isoformat(), "time_limit": 1})
    assert accepted.status_code == 202, accepted.json
    runs = accepted.json["requested"]
    assert [r["territory"] for r in runs] == ["north", "south"]
    assert all("result" not in r for r in runs) and accepted.json["existing"] == {}
    for run in runs:
        assert _wait(dispatcher, run["id"])["status"] == "finished"
    queue_of(app).wait(timeout=30)
    # Bad input: 422; a role that may not request runs: 403; neither creates a run.
    assert dispatcher.post("/api/v1/optimization-runs/territories",
                           json={"date": "2026-02-30"}).status_code == 422
    assert client_as("agent").post("/api/v1/optimization-runs/territories",
                                   json={"date": DAY.isoformat()}).status_code == 403
    assert dispatcher.get("/api/v1/optimization-runs").json["total"] == 2


def test_territory_runs_reach_the_queue_only_once_committed(client_as, make, app):
    """Each territory's run is requested under a savepoint; releasing it commits nothing, so
    a worker handed the run then would find nothing to claim and the run would stay queued.
    With a queue that executes at once, every run is finished when the request returns."""
    from fieldsvc.dispatch.queue import InlineQueue

    for territory in ("east", "west", "north"):
        make.technician(territory=territory)
    make.work_order(estimated_minutes=30)
    saved = get_queue(app)
    saved.wait(timeout=30)
    app.extensions["fieldsvc_run_queue"] = InlineQueue(app)
    try:
        accepted = client_as("dispatcher").post(
            "/api/v1/optimization-runs/territories",
            json={"date": DAY.isoformat(), "time_limit": 1})
    finally:
        app.extensions["fieldsvc_run_queue"] = saved
    assert accepted.status_code == 202, accepted.json
    listed = client_as("dispatcher").get("/api/v1/optimization-runs").json["items"]
    assert sorted(r["territory"] for r in listed) == ["east", "north", "west"]
    assert {r["status"] for r in listed} == {"finished"}, listed
