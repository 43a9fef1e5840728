"""Concurrent writers with the same If-Match: one writes, every other one gets 412."""

from __future__ import annotations

import threading

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder

WRITERS = 10


def _race(app, client_as, world, send):
    signed_in = client_as("technician", technician_id=world.tech.id)
    clients = []
    for _ in range(WRITERS):
        c = app.test_client()
        c.environ_base.update(signed_in.environ_base)
        clients.append(c)
    answers: list = []
    start = threading.Barrier(WRITERS)

    def run(n, c):
        start.wait()
        answers.append(send(n, c))

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _check(app, job, answers):
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [412] * (WRITERS - 1), [r.json for r in answers]
    [winner] = [r for r in answers if r.status_code == 200]
    for r in answers:
        if r.status_code == 412:
            assert r.headers["Content-Type"] == "application/problem+json"
            assert r.json["current_version"] == 2 and r.json["job"]["version"] == 2
            assert r.json["job"]["report"]["notes"] == winner.json["report"]["notes"]
    with app.app_context():
        assert db.session.get(WorkOrder, job).version == 2


def test_concurrent_if_match_writes_get_412_not_409(app, client_as, world):
    job = world.jobs[0].id

    def send(n, c):
        return c.post(f"/api/mobile/v1/jobs/{job}/report", json={"notes": f"writer {n}"},
                      headers={"If-Match": '"1"', "Idempotency-Key": f"race-{n}"})

    _check(app, job, _race(app, client_as, world, send))


def test_concurrent_if_match_actions_in_sync_batches(app, client_as, world):
    job = world.jobs[0].id

    def send(n, c):
        r = c.post("/api/mobile/v1/sync", json={"actions": [{
            "type": "report", "job_id": job, "idempotency_key": f"sync-{n}", "if_match": 1,
            "body": {"notes": f"writer {n}"}}]})
        assert r.status_code == 200, r.json
        [result] = r.json["results"]
        result["status_code"] = result["http_status"]
        return _Answer(result["http_status"], result["response"])

    _check(app, job, _race(app, client_as, world, send))


class _Answer:
    headers = {"Content-Type": "application/problem+json"}

    def __init__(self, status_code, json):
        self.status_code, self.json = status_code, json
