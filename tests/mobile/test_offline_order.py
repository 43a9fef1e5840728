"""Offline queues arriving in any order converge: every job ends where the phone left it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from fieldsvc.context import SYSTEM
from fieldsvc.extensions import db
from fieldsvc.models import StockMovement, WorkOrder
from fieldsvc.models import WorkOrderTransition as T
from fieldsvc.models.enums import WorkOrderStatus
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
        # What the phone queued offline for the job, sent as three separate syncs.
        batches.append([_action(f"{job}-go", "status", job,
                                {"to": "en_route", "at": t0.isoformat(), "lat": 35.7,
                                 "lon": 51.4})])
        batches.append([
            _action(f"{job}-arrive", "status", job, {"to": "on_site", "at": t1.isoformat()})])
        batches.append([
            _action(f"{job}-notes", "report", job, {"notes": f"Job {job}: roller worn"}),
            _action(f"{job}-parts", "parts", job,
                    {"used": [{"part_id": world.part.id, "quantity": 1}]}),
            _action(f"{job}-done", "status", job,
                    {"to": "completed", "at": t2.isoformat(), "resolution": f"Fixed {job}",
                     "resolution_code": "ROLLER"})])
    rng = random.Random(20261204)
    # Each batch arrives in random order, and a third of them twice (the phone re-sent its
    # queue while earlier batches were still missing).
    shuffled = batches + rng.sample(batches, len(batches) // 3)
    rng.shuffle(shuffled)
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
                assert db.session.scalar(select(func.count(StockMovement.id)).where(
                    StockMovement.work_order_id == job)) == 1
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
