"""Offline-first: idempotent replays, stale versions, sync batches, the change feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import mobile_api.changes
from fieldsvc.extensions import db
from fieldsvc.models import StockMovement, WorkOrder
from fieldsvc.models import WorkOrderTransition as T
from mobile_api import idempotency as idem
from mobile_api.models import IdempotencyKey
from tests.mobile.conftest import today


def transitions(app, job_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(T.to_status).where(
            T.work_order_id == job_id, T.from_status.is_not(None)).order_by(T.id)))


def issued_movements(app, job_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(StockMovement.id)).where(
            StockMovement.work_order_id == job_id))


def test_same_key_twice_replays_the_first_answer(app, tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/status"
    headers = {"Idempotency-Key": "8d1f-en-route"}
    first = tech_client.post(url, json={"to": "en_route"}, headers=headers)
    again = tech_client.post(url, json={"to": "en_route"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json == first.json and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert transitions(app, world.jobs[0].id) == ["en_route"]
    # Key order and spacing of the body do not make it another request.
    same = tech_client.post(url, data='{ "to" : "en_route" }', headers={
        **headers, "Content-Type": "application/json"})
    assert same.status_code == 200 and same.headers["Idempotent-Replayed"] == "true"


def test_same_key_with_another_body_is_refused(app, tech_client, world):
    job = world.jobs[0].id
    url = f"/api/mobile/v1/jobs/{job}"
    key = {"Idempotency-Key": "k-1"}
    assert tech_client.post(url + "/status", json={"to": "en_route"}, headers=key).status_code \
        == 200
    r = tech_client.post(url + "/status", json={"to": "on_site"}, headers=key)
    assert r.status_code == 422 and "Idempotency-Key" in r.json["errors"]
    r = tech_client.post(url + "/report", json={"notes": "x"}, headers=key)
    assert r.status_code == 422
    assert transitions(app, job) == ["en_route"]
    for bad in ("", "has space", "x" * 201, "tab\there"):
        r = tech_client.post(url + "/report", json={"notes": "x"},
                             headers={"Idempotency-Key": bad})
        assert r.status_code == 422, bad


def _claim_row(app, tech_id, key, path, body, age=timedelta(0)):
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(IdempotencyKey.__table__.insert().values(
            technician_id=tech_id, key=key, method="POST", path=path,
            fingerprint=idem.fingerprint("POST", path, idem.canonical(body)),
            state="in_progress", created_at=datetime.now(UTC) - age))


def test_key_still_in_progress_is_a_conflict(app, tech_client, world):
    job = world.jobs[0].id
    path = f"/api/mobile/v1/jobs/{job}/status"
    # Another worker took this key a moment ago and is still applying it.
    _claim_row(app, world.tech.id, "busy", path, {"to": "en_route"})
    r = tech_client.post(path, json={"to": "en_route"}, headers={"Idempotency-Key": "busy"})
    assert r.status_code == 409 and r.headers["Retry-After"] == "1"
    assert transitions(app, job) == []
    # A claim abandoned long ago (the worker died) is taken over.
    _claim_row(app, world.tech.id, "dead", path, {"to": "en_route"},
               age=timedelta(seconds=idem.LOCK_SECONDS + 5))
    r = tech_client.post(path, json={"to": "en_route"}, headers={"Idempotency-Key": "dead"})
    assert r.status_code == 200
    assert transitions(app, job) == ["en_route"]


def test_keys_are_per_technician(app, client_as, tech_client, world):
    other = client_as("technician", technician_id=world.other.id)
    key = {"Idempotency-Key": "shared-name"}
    assert tech_client.post(f"/api/mobile/v1/jobs/{world.jobs[0].id}/status",
                            json={"to": "en_route"}, headers=key).status_code == 200
    r = other.post(f"/api/mobile/v1/jobs/{world.other_job.id}/status", json={"to": "en_route"},
                   headers=key)
    assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers


def test_purge_keeps_keys_seven_days(app, tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/report"
    assert tech_client.post(url, json={"notes": "a"},
                            headers={"Idempotency-Key": "old"}).status_code == 200
    with app.app_context():
        db.session.execute(IdempotencyKey.__table__.update().values(
            created_at=datetime.now(UTC) - timedelta(days=6)))
        assert idem.purge(db.session, keep_days=1) == 0  # never fewer than 7 days
        db.session.execute(IdempotencyKey.__table__.update().values(
            created_at=datetime.now(UTC) - timedelta(days=8)))
        assert idem.purge(db.session) == 1
        db.session.commit()


def test_stale_if_match_is_412_with_the_current_state(app, tech_client, world):
    job = world.jobs[0].id
    url = f"/api/mobile/v1/jobs/{job}"
    assert tech_client.post(url + "/report", json={"notes": "first"},
                            headers={"If-Match": '"1"'}).status_code == 200
    r = tech_client.post(url + "/status", json={"to": "en_route"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412
    assert r.json["current_version"] == 2 and r.json["job"]["report"]["notes"] == "first"
    assert r.headers["ETag"] == '"2"'
    assert transitions(app, job) == []
    r = tech_client.post(url + "/status", json={"to": "en_route"}, headers={"If-Match": "soon"})
    assert r.status_code == 422
    r = tech_client.post(url + "/status", json={"to": "en_route"}, headers={"If-Match": 'W/"2"'})
    assert r.status_code == 200


def _action(seq, kind, job_id, body, key=None, **extra):
    action = {"id": f"a{seq}", "seq": seq, "type": kind, "idempotency_key": key or f"k{seq}",
              "body": body, **extra}
    if job_id is not None:
        action["job_id"] = job_id
    return action


def test_sync_applies_an_out_of_order_batch_in_the_order_it_was_made(app, tech_client, world):
    job = world.jobs[0].id
    part = world.part.id
    now = datetime.now(UTC)
    actions = [
        _action(3, "parts", job, {"used": [{"part_id": part, "quantity": 2}]}),
        _action(1, "status", job, {"to": "en_route", "at": (now - timedelta(minutes=50))
                                   .isoformat(), "lat": 35.70, "lon": 51.40}),
        _action(5, "location", None, {"at": (now - timedelta(minutes=5)).isoformat(),
                                      "lat": 35.75, "lon": 51.41}),
        _action(4, "status", job, {"to": "completed", "resolution_code": "ROLLER",
                                   "at": (now - timedelta(minutes=10)).isoformat()}),
        _action(2, "status", job, {"to": "on_site", "at": (now - timedelta(minutes=30))
                                   .isoformat()}),
    ]
    r = tech_client.post("/api/mobile/v1/sync", json={"actions": actions})
    assert r.status_code == 200, r.json
    results = r.json["results"]
    assert [x["seq"] for x in results] == [1, 2, 3, 4, 5]
    assert [x["status"] for x in results] == ["applied"] * 5, results
    assert transitions(app, job) == ["en_route", "on_site", "completed"]
    assert issued_movements(app, job) == 1
    with app.app_context():
        wo = db.session.get(WorkOrder, job)
        assert round((wo.completed_at - wo.arrived_at).total_seconds()) == 20 * 60
    # The network dropped before the answer arrived: the phone sends the batch again.
    again = tech_client.post("/api/mobile/v1/sync", json={"actions": actions})
    assert [x["status"] for x in again.json["results"]] == ["replayed"] * 5
    assert [x["response"] for x in again.json["results"]] == [x["response"] for x in results]
    assert transitions(app, job) == ["en_route", "on_site", "completed"]
    assert issued_movements(app, job) == 1
    # An action queued through sync and retried at its own endpoint is the same action.
    direct = tech_client.post(f"/api/mobile/v1/jobs/{job}/parts", json=actions[0]["body"],
                              headers={"Idempotency-Key": "k3"})
    assert direct.status_code == 200 and direct.headers["Idempotent-Replayed"] == "true"


def test_sync_explains_what_it_did_not_apply(app, client, tech_client, world):
    first, second = world.jobs
    # While the phone was offline the dispatcher gave the first job to someone else.
    r = client.patch(f"/api/v1/work-orders/{first.id}", json={"technician_id": world.other.id,
                                                            "override_reason": "reassigned"})
    assert r.status_code == 200, r.json
    actions = [
        _action(1, "status", first.id, {"to": "en_route"}),
        _action(2, "report", second.id, {"notes": "Gate code 4411"}, if_match=1),
        _action(3, "status", second.id, {"to": "completed"}),  # not on site yet
        _action(4, "report", second.id, {"notes": "stale"}, if_match=1),
        _action(5, "parts", second.id, {"used": [{"part_id": world.scarce.id, "quantity": 9}]}),
        _action(6, "report", second.id, {"labor_minutes": -5}),
        _action(7, "status", world.other_job.id, {"to": "en_route"}),
        _action(8, "status", second.id, {"to": "en_route"}, key="bad key"),
        _action(9, "status", second.id, {"to": "en_route"}),
    ]
    r = tech_client.post("/api/mobile/v1/sync", json={"actions": actions})
    assert r.status_code == 200, r.json
    got = {x["seq"]: x for x in r.json["results"]}
    assert got[1]["status"] == "rejected" and got[1]["reason"] == "reassigned"
    assert "reassigned" in got[1]["detail"]
    assert got[2]["status"] == "applied"
    assert got[3]["reason"] == "illegal-transition" and got[3]["http_status"] == 409
    assert got[4]["reason"] == "precondition-failed" and got[4]["http_status"] == 412
    assert got[4]["response"]["job"]["report"]["notes"] == "Gate code 4411"
    assert got[5]["reason"] == "insufficient-stock"
    assert got[6]["reason"] == "validation" and got[6]["http_status"] == 422
    assert got[7]["reason"] == "not-found"
    assert got[8]["reason"] == "validation"
    assert got[9]["status"] == "applied"
    assert transitions(app, first.id) == []
    assert transitions(app, second.id) == ["en_route"]
    assert issued_movements(app, second.id) == 0
    # Replaying the batch changes nothing and answers the same, except the completion
    # refused only for coming too early (without its time): it is judged again, not replayed.
    assert got[3]["retry"] is True
    again = tech_client.post("/api/mobile/v1/sync", json={"actions": actions}).json["results"]
    assert [x["status"] for x in again if x["seq"] not in (3, 8)] == ["replayed"] * 7
    assert {x["seq"]: x for x in again}[3]["status"] == "rejected"
    assert transitions(app, second.id) == ["en_route"]


@pytest.mark.parametrize("body", [
    {}, {"actions": []}, {"actions": "x"},
    {"actions": [{"type": "status", "job_id": 1, "body": {}}]},
    {"actions": [{"type": "dance", "job_id": 1, "idempotency_key": "k", "body": {}}]},
    {"actions": [{"type": "status", "idempotency_key": "k", "body": {}}]},
    {"actions": [{"type": "status", "job_id": 1, "idempotency_key": "k", "body": []}]},
    {"actions": [{"type": "status", "job_id": 1, "idempotency_key": "k", "body": {},
                  "extra": 1}]},
])
def test_sync_bad_batches(tech_client, world, body):
    r = tech_client.post("/api/mobile/v1/sync", json=body)
    assert r.status_code == 422, r.json


def test_changes_feed_follows_assignments(app, client, tech_client, world, monkeypatch):
    monkeypatch.setattr(mobile_api.changes, "SETTLE_SECONDS", 0)
    day = tech_client.get(f"/api/mobile/v1/day?date={today().isoformat()}").json
    cursor = day["cursor"]
    r = tech_client.get(f"/api/mobile/v1/changes?cursor={cursor}")
    assert r.status_code == 200 and r.json["changes"] == [] and r.json["cursor"] == cursor

    # The dispatcher moves a job from the other technician to this one, and back.
    assert client.patch(f"/api/v1/work-orders/{world.other_job.id}",
                        json={"technician_id": world.tech.id,
                              "override_reason": "reassigned"}).status_code == 200
    assert client.patch(f"/api/v1/work-orders/{world.jobs[1].id}",
                        json={"priority": 1}).status_code == 200
    r = tech_client.get(f"/api/mobile/v1/changes?cursor={cursor}").json
    got = {c["job_id"]: c for c in r["changes"]}
    assert got[world.other_job.id]["kind"] == "assigned"
    assert got[world.other_job.id]["job"]["site"]["latitude"] is not None
    assert got[world.jobs[1].id]["kind"] == "updated"
    assert got[world.jobs[1].id]["job"]["priority"] == 1
    cursor = r["cursor"]

    assert client.patch(f"/api/v1/work-orders/{world.other_job.id}",
                        json={"technician_id": world.other.id,
                                                            "override_reason": "reassigned"}).status_code == 200
    r = tech_client.get(f"/api/mobile/v1/changes?cursor={cursor}").json
    assert [(c["job_id"], c["kind"], c["job"]) for c in r["changes"]] == [
        (world.other_job.id, "unassigned", None)]
    assert tech_client.get(f"/api/mobile/v1/changes?cursor={r['cursor']}").json["changes"] == []
    # From the beginning: every job of the technician, latest state once each.
    everything = tech_client.get("/api/mobile/v1/changes").json
    assert {c["job_id"] for c in everything["changes"]} >= {j.id for j in world.jobs}


def test_changes_cursor_stays_behind_unsettled_changes(client, tech_client, world):
    r = tech_client.get("/api/mobile/v1/changes?cursor=0").json
    # Everything was just written: it is sent, but the cursor does not move past it yet.
    assert r["changes"] and r["cursor"] == "0"


def test_changes_bad_input(tech_client, world):
    for query in ("?cursor=abc", "?cursor=-1", "?cursor=1&limit=0", "?cursor=1&limit=501",
                  "?cursor=" + "9" * 19, "?since=1"):
        assert tech_client.get("/api/mobile/v1/changes" + query).status_code == 422, query


def test_purge_command(app, runner, tech_client, world):
    assert tech_client.post(f"/api/mobile/v1/jobs/{world.jobs[0].id}/report",
                            json={"notes": "a"}, headers={"Idempotency-Key": "x"}
                            ).status_code == 200
    result = runner.invoke(args=["mobile-purge-keys"])
    assert result.exit_code == 0 and "Removed 0" in result.output
    with app.app_context():
        db.session.execute(IdempotencyKey.__table__.update().values(
            created_at=datetime.now(UTC) - timedelta(days=30)))
        db.session.commit()
    result = runner.invoke(args=["mobile-purge-keys", "--days", "7"])
    assert result.exit_code == 0 and "Removed 1" in result.output
    assert runner.invoke(args=["mobile-purge-keys", "--days", "3"]).exit_code != 0


def test_concurrent_requests_with_one_key_apply_once(app, client_as, world):
    import threading

    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/status"
    signed_in = client_as("technician", technician_id=world.tech.id)
    clients = []
    for _ in range(4):
        c = app.test_client()
        c.environ_base.update(signed_in.environ_base)
        clients.append(c)
    answers: list = []
    start = threading.Barrier(len(clients))

    def send(c):
        start.wait()
        r = c.post(url, json={"to": "en_route"}, headers={"Idempotency-Key": "race"})
        answers.append((r.status_code, r.headers.get("Idempotent-Replayed")))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a[0] for a in answers) in ([200] * 4, [200] * 3 + [409], [200] * 2 + [409] * 2,
                                             [200] + [409] * 3)
    assert [a for a in answers if a == (200, None)] == [(200, None)]  # applied once
    assert transitions(app, world.jobs[0].id) == ["en_route"]
