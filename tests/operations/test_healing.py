"""Failures that heal: a lost database connection, a run queue that does not answer, a run
whose worker was killed."""

from __future__ import annotations

import collections
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from fieldsvc import create_app
from fieldsvc.context import SYSTEM, acting_as
from fieldsvc.dispatch.runs import fail_stale_runs, request_run
from fieldsvc.extensions import db
from fieldsvc.models import OptimizationRun
from tests.conftest import authed_client
from tests.dispatch.test_release_insertion_api import DAY, _world
from tests.operations.conftest import REDIS_URL, free_port, redis_or_skip

ROOT = Path(__file__).resolve().parents[2]


def _terminate_app_backends(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'").fetchone()[0]


def test_terminated_backends_under_a_stream_of_reads_give_no_500(app, make):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite has no server connections to terminate")
    customer_ids = [make.customer(name=f"Customer {i}").id for i in range(5)]
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://",
                                                        "postgresql://")
    statuses: collections.Counter[int] = collections.Counter()
    retry_after_missing = []
    stop = threading.Event()

    clients = [authed_client(app, "dispatcher") for _ in range(3)]
    make.session.close()  # the fixture's own connection back to the pool, not held open

    def reader(n: int) -> None:
        client = clients[n]
        paths = ["/api/v1/customers", f"/api/v1/customers/{customer_ids[n]}",
                 "/api/v1/work-orders"]
        i = 0
        while not stop.is_set():
            response = client.get(paths[i % len(paths)])
            statuses[response.status_code] += 1
            if response.status_code == 503 and not response.headers.get("Retry-After"):
                retry_after_missing.append(response.json)
            i += 1

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    terminated = 0
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            time.sleep(0.05)
            terminated += _terminate_app_backends(url)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert terminated >= 20  # connections were really cut, many times over
    assert statuses[500] == 0, statuses
    assert not retry_after_missing
    assert set(statuses) <= {200, 503}, statuses
    # Most reads never notice: they are tried again on a new connection.
    assert statuses[200] > 10 * statuses[503], statuses


def test_redis_unreachable_is_503_and_queues_no_run(app, make, tmp_path):
    _world(make)
    rq_app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
        "INSTANCE_PATH": str(tmp_path), "RUN_QUEUE": "rq",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    client = authed_client(rq_app, "dispatcher")
    response = client.post("/api/v1/optimization-runs",
                           json={"date": DAY.isoformat(), "territory": "tehran"})
    assert response.status_code == 503, response.json
    assert response.json["type"].endswith("/queue-unavailable")
    assert response.headers["Retry-After"]
    assert "Redis" in response.json["detail"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(OptimizationRun.id))) == 0
    with rq_app.app_context():
        db.engine.dispose()


def test_a_run_no_worker_took_is_failed_after_the_queue_timeout(app, make):
    _world(make)
    with app.app_context(), acting_as(SYSTEM):
        run = request_run(db.session, SYSTEM, plan_date=DAY, territory="tehran")
        db.session.commit()
        timeout = app.config["RUN_QUEUED_TIMEOUT_SECONDS"]
        assert fail_stale_runs(db.session, now=run.created_at + timedelta(seconds=10)) == []
        later = run.created_at + timedelta(seconds=timeout + 1)
        assert fail_stale_runs(db.session, now=later) == [run.id]
        db.session.commit()
        db.session.expire_all()
        assert run.status.value == "failed"
        assert "No worker took the run" in run.error
        db.session.remove()


def _start_worker(app, queue_name: str, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=app.config[
        "SQLALCHEMY_DATABASE_URI"], FIELDSVC_RUN_QUEUE="rq", REDIS_URL=REDIS_URL,
        FIELDSVC_RQ_QUEUE=queue_name, FIELDSVC_TIMEZONE=app.config["DEFAULT_TIMEZONE"])
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-c", "from fieldsvc.cli import main; main()", "worker"],
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def _status(app, run_id: int) -> OptimizationRun:
    with app.app_context():
        run = db.session.get(OptimizationRun, run_id)
        db.session.expunge(run)
        db.session.remove()
        return run


@pytest.mark.slow
def test_a_run_whose_worker_is_killed_ends_failed_and_a_new_one_can_start(app, make, tmp_path):
    connection = redis_or_skip()
    _world(make, jobs=12)
    queue_name = f"fieldsvc-test-{secrets.token_hex(4)}"
    rq_app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
        "INSTANCE_PATH": str(tmp_path), "RUN_QUEUE": "rq", "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": queue_name, "RUN_GRACE_SECONDS": 2})
    worker = _start_worker(app, queue_name, tmp_path / "worker.log")
    try:
        client = authed_client(rq_app, "dispatcher")
        accepted = client.post("/api/v1/optimization-runs",
                               json={"date": DAY.isoformat(), "territory": "tehran",
                                     "time_limit": 8})
        assert accepted.status_code == 202, accepted.json
        run_id = accepted.json["id"]
        deadline = time.monotonic() + 60
        while _status(app, run_id).status.value == "queued":
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        time.sleep(1)  # mid-run: solving
        assert _status(app, run_id).status.value == "running"
        # The run executes in a work horse forked for it, not in the worker process.
        taken = re.search(rf"optimization run {run_id}: solve taken by \S+ \(process (\d+)\)",
                          (tmp_path / "worker.log").read_text())
        assert taken and int(taken.group(1)) != worker.pid
        # The machine goes: the worker and its horse (RQ starts it in a session of its own)
        # die at once.
        os.kill(int(taken.group(1)), signal.SIGKILL)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        # Nothing can finish it now; while its time limit lasts, a new one is refused.
        again = client.post("/api/v1/optimization-runs",
                            json={"date": DAY.isoformat(), "territory": "tehran",
                                  "time_limit": 1})
        assert again.status_code == 409
        started = _status(app, run_id).started_at
        # Within the run's own time limit plus the grace, the next request fails it.
        while True:
            time.sleep(0.5)
            retry = client.post("/api/v1/optimization-runs",
                                json={"date": DAY.isoformat(), "territory": "tehran",
                                      "time_limit": 1})
            if retry.status_code == 202:
                break
            assert retry.status_code == 409, retry.json
            elapsed = (_status(app, run_id).started_at - started).total_seconds()
            assert elapsed == 0
        dead = _status(app, run_id)
        assert dead.status.value == "failed"
        assert "worker executing it stopped" in dead.error
        assert dead.finished_at is not None
        assert (dead.finished_at - dead.started_at).total_seconds() <= 8 + 2 + 2
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for key in connection.scan_iter(f"rq:*{queue_name}*"):
            connection.delete(key)
        with rq_app.app_context():
            db.engine.dispose()
