"""Offline queues arriving in any order converge: every job ends where the phone left it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fieldsvc.context import SYSTEM
from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement, WorkOrder, WorkOrderPart
from fieldsvc.models import WorkOrderTransition as T
from fieldsvc.models.enums import MovementKind, WorkOrderStatus
from fieldsvc.services import stock
from tests.mobile.conftest import add_job

JOBS = 30


def _action(key, kind, job_id, body):
    return {"id": key, "type": kind, "job_id": job_id, "idempotency_key": key, "body": body}


def _history(app, job_id):
    with app.app_context():
        rows = db.session.execute(select(T.to_status, T.at).where(
            T.work_order_id == job_id, T.from_status.is_not(None)).order_by(T.id)).all()
        return [(r.to_status, r.at) for r in rows]


def test_batches_in_random_order_converge_to_completed(app, make, tech_client, world):
    stock.receive(make.session, world.part.id, JOBS, world.tech.van_warehouse_id, SYSTEM)
    make.session.commit()
    site = make.site(make.customer(name="Gamma Shop"), latitude=35.7, longitude=51.4)
    jobs = [add_job(make, world.tech, site, 8 + n % 10).id for n in range(JOBS)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    times, batches = {}, []
    for n, job in enumerate(jobs):
        t0, t1, t2 = (start + timedelta(minutes=5 * n + m) for m in (0, 2, 4))
        times[job] = (t0, t1, t2)
        # What the phone queued offline for the job, sent as four separate syncs: the parts
        # used on site (made before the completion) travel apart from the completion.
        batches.append([_action(f"{job}-go", "status", job,
                                {"to": "en_route", "at": t0.isoformat(), "lat": 35.7,
                                 "lon": 51.4})])
        batches.append([
            _action(f"{job}-arrive", "status", job, {"to": "on_site", "at": t1.isoformat()})])
        batches.append([
            _action(f"{job}-parts", "parts", job,
                    {"used": [{"part_id": world.part.id, "quantity": 1}],
                     "at": (t1 + timedelta(minutes=1)).isoformat()})])
        batches.append([
            _action(f"{job}-notes", "report", job, {"notes": f"Job {job}: roller worn"}),
            _action(f"{job}-done", "status", job,
                    {"to": "completed", "at": t2.isoformat(), "resolution": f"Fixed {job}",
                     "resolution_code": "ROLLER"})])
    rng = random.Random(20261204)
    van, part = world.tech.van_warehouse_id, world.part.id
    # Each batch arrives in random order, and a third of them twice (the phone re-sent its
    # queue while earlier batches were still missing).
    shuffled = batches + rng.sample(batches, len(batches) // 3)
    rng.shuffle(shuffled)
    arrived: set[str] = set()
    overtaken = 0  # parts that arrived after their job's completion
    first: dict[str, dict] = {}
    for batch in shuffled:
        r = tech_client.post("/api/mobile/v1/sync", json={"actions": batch},
                             headers={"Idempotency-Key": "batch-" + batch[0]["id"]})
        assert r.status_code == 200, r.json
        if batch[0]["id"] in first:  # the batch's first answer again, nothing applied
            assert r.headers["Idempotent-Replayed"] == "true"
            assert r.json == first[batch[0]["id"]]
            continue
        assert [x["status"] for x in r.json["results"]] == ["applied"] * len(batch), r.json
        first[batch[0]["id"]] = r.json
        if batch[0]["type"] == "parts":
            overtaken += f"{batch[0]['job_id']}-notes" in arrived
        arrived.add(batch[0]["id"])
    assert overtaken > JOBS // 4  # the order really was mixed up

    def check():
        with app.app_context():
            for job in jobs:
                wo = db.session.get(WorkOrder, job)
                t0, t1, t2 = times[job]
                assert wo.status == WorkOrderStatus.COMPLETED
                assert (wo.resolution, wo.resolution_code) == (f"Fixed {job}", "ROLLER")
                assert (wo.started_at, wo.arrived_at, wo.completed_at) == (t0, t1, t2)
                assert _history(app, job) == [("en_route", t0), ("on_site", t1),
                                              ("completed", t2)]
                assert db.session.scalars(select(StockMovement.kind).where(
                    StockMovement.work_order_id == job)).all() == [MovementKind.ISSUE]
                assert db.session.scalars(select(WorkOrderPart.issued).where(
                    WorkOrderPart.work_order_id == job)).all() == [1]
            # The van had 5 + JOBS rollers; exactly one went into each job.
            assert db.session.scalar(select(StockLevel.on_hand).where(
                StockLevel.warehouse_id == van, StockLevel.part_id == part)) == 5
            db.session.remove()

    check()
    # The phone, unsure what arrived, sends its whole queue again in another order:
    # every action is replayed, nothing is applied twice, nothing moves back.
    rng.shuffle(batches)
    for batch in batches:
        r = tech_client.post("/api/mobile/v1/sync", json={"actions": batch})
        assert [x["status"] for x in r.json["results"]] == ["replayed"] * len(batch), r.json
    check()


def test_an_early_status_without_its_time_is_refused_but_not_remembered(app, tech_client,
                                                                        world):
    job = world.jobs[1].id
    url = f"/api/mobile/v1/jobs/{job}/status"
    done = {"to": "completed", "resolution": "Cleaned"}
    key = {"Idempotency-Key": "done-1"}
    early = tech_client.post(url, json=done, headers=key)
    assert early.status_code == 409
    assert early.json["missing"] == ["en_route", "on_site"]
    assert "Idempotent-Replayed" not in early.headers
    assert _history(app, job) == []
    for step in ("en_route", "on_site"):
        assert tech_client.post(url, json={"to": step}).status_code == 200
    # The same request again is judged again, not answered from the key store.
    again = tech_client.post(url, json=done, headers=key)
    assert again.status_code == 200, again.json
    assert "Idempotent-Replayed" not in again.headers
    assert again.json["status"] == "completed" and again.json["resolution"] == "Cleaned"
    replay = tech_client.post(url, json=done, headers=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert [s for s, _ in _history(app, job)] == ["en_route", "on_site", "completed"]


def test_a_skipped_status_fills_in_once_and_never_moves_the_job_back(app, tech_client,
                                                                     world):
    job = world.jobs[1].id
    url = f"/api/mobile/v1/jobs/{job}/status"
    now = datetime.now(UTC).replace(microsecond=0)
    t0, t2 = now - timedelta(minutes=40), now - timedelta(minutes=5)
    done = tech_client.post(url, json={"to": "completed", "at": t2.isoformat()})
    assert done.status_code == 200, done.json
    # Implied at the completion's time until their own actions arrive.
    assert _history(app, job) == [("en_route", t2), ("on_site", t2), ("completed", t2)]
    late = tech_client.post(url, json={"to": "en_route", "at": t0.isoformat()})
    assert late.status_code == 200 and late.json["status"] == "completed"
    assert _history(app, job)[0] == ("en_route", t0)
    # A second en_route, or one made after the job was completed, is a real error.
    for at in (t0, now):
        r = tech_client.post(url, json={"to": "en_route", "at": at.isoformat()})
        assert r.status_code == 409 and r.json["current_status"] == "completed"
    with app.app_context():
        wo = db.session.get(WorkOrder, job)
        assert (wo.status, wo.started_at, wo.completed_at) == (WorkOrderStatus.COMPLETED, t0,
                                                               t2)


def _issued(app, job):
    with app.app_context():
        moves = db.session.scalars(select(StockMovement.quantity).where(
            StockMovement.work_order_id == job,
            StockMovement.kind == MovementKind.ISSUE)).all()
        db.session.remove()
        return moves


def test_parts_used_before_a_completion_that_arrived_first_are_taken_once(app, tech_client,
                                                                          world):
    job = world.jobs[1].id
    base = f"/api/mobile/v1/jobs/{job}"
    now = datetime.now(UTC).replace(microsecond=0)
    t_used, t_done = now - timedelta(minutes=20), now - timedelta(minutes=10)
    done = tech_client.post(f"{base}/status", json={"to": "completed",
                                                    "at": t_done.isoformat()})
    assert done.status_code == 200, done.json
    used = {"used": [{"part_id": world.part.id, "quantity": 2}]}
    key = {"Idempotency-Key": "parts-1"}
    # Without its time the server cannot tell: refused for now, not remembered.
    untimed = tech_client.post(f"{base}/parts", json=used, headers=key)
    assert untimed.status_code == 409, untimed.json
    assert untimed.json["type"].endswith("/parts-need-time")
    assert "Idempotent-Replayed" not in untimed.headers
    assert _issued(app, job) == []
    # The same action with the time it was used, under the same key, is taken.
    timed = {**used, "at": t_used.isoformat()}
    taken = tech_client.post(f"{base}/parts", json=timed, headers=key)
    assert taken.status_code == 200, taken.json
    assert taken.json["status"] == "completed"
    assert "Idempotent-Replayed" not in taken.headers
    again = tech_client.post(f"{base}/parts", json=timed, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    # Used exactly at the completion still belongs to the visit; after it does not, and
    # that refusal is final (remembered under its key).
    at_end = tech_client.post(f"{base}/parts", json={**used, "at": t_done.isoformat()},
                              headers={"Idempotency-Key": "parts-2"})
    assert at_end.status_code == 200, at_end.json
    after = {**used, "at": (t_done + timedelta(seconds=1)).isoformat()}
    late = tech_client.post(f"{base}/parts", json=after, headers={"Idempotency-Key": "p-3"})
    assert late.status_code == 409 and late.json["current_status"] == "completed"
    late = tech_client.post(f"{base}/parts", json=after, headers={"Idempotency-Key": "p-3"})
    assert late.status_code == 409 and late.headers["Idempotent-Replayed"] == "true"
    future = tech_client.post(f"{base}/parts", json={
        **used, "at": (now + timedelta(hours=1)).isoformat()})
    assert future.status_code == 422 and "at" in future.json["errors"], future.json
    assert _issued(app, job) == [2, 2]
    with app.app_context():
        assert db.session.scalar(select(StockLevel.on_hand).where(
            StockLevel.warehouse_id == world.tech.van_warehouse_id,
            StockLevel.part_id == world.part.id)) == 1
        db.session.remove()


def test_untimed_parts_after_completion_ask_for_a_retry_in_a_sync(app, tech_client, world):
    job = world.jobs[1].id
    now = datetime.now(UTC).replace(microsecond=0)
    done = tech_client.post(f"/api/mobile/v1/jobs/{job}/status",
                            json={"to": "completed", "at": now.isoformat()})
    assert done.status_code == 200, done.json
    used = {"used": [{"part_id": world.part.id, "quantity": 1}]}
    r = tech_client.post("/api/mobile/v1/sync", json={"actions": [
        _action("parts-a", "parts", job, used)]}, headers={"Idempotency-Key": "batch-a"})
    assert r.status_code == 200, r.json
    [result] = r.json["results"]
    assert (result["status"], result["reason"], result["retry"]) == (
        "rejected", "parts-need-time", True)
    assert _issued(app, job) == []
    # The phone sends it again with the time of use, under the same keys.
    timed = {**used, "at": (now - timedelta(minutes=3)).isoformat()}
    r = tech_client.post("/api/mobile/v1/sync", json={"actions": [
        _action("parts-a", "parts", job, timed)]}, headers={"Idempotency-Key": "batch-a"})
    assert [x["status"] for x in r.json["results"]] == ["applied"], r.json
    assert _issued(app, job) == [1]
    # Returns need no time: a completed job still takes unused parts back.
    back = tech_client.post(f"/api/mobile/v1/jobs/{job}/parts", json={
        "returned": [{"part_id": world.part.id, "quantity": 1}]})
    assert back.status_code == 200, back.json


def test_a_cancelled_job_takes_no_parts_whatever_their_time(app, tech_client, world):
    job = world.jobs[1]
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        db.session.get(WorkOrder, job.id).status = WorkOrderStatus.CANCELLED
        db.session.commit()
        db.session.remove()
    for body in ({}, {"at": (now - timedelta(hours=1)).isoformat()}):
        r = tech_client.post(f"/api/mobile/v1/jobs/{job.id}/parts", json={
            "used": [{"part_id": world.part.id, "quantity": 1}], **body})
        assert r.status_code == 409 and r.json["current_status"] == "cancelled", r.json
        assert not r.json.get("retry")
    assert _issued(app, job.id) == []
