"""A request id follows a request: response header, problem body, log lines, its run's job."""

from __future__ import annotations

import secrets

import pytest

from fieldsvc import create_app
from fieldsvc.dispatch.queue import work
from tests.conftest import authed_client
from tests.dispatch.test_release_insertion_api import DAY, _world
from tests.operations.conftest import REDIS_URL, redis_or_skip


def test_a_given_id_is_echoed_and_a_missing_one_is_made(client):
    given = client.get("/api/v1/customers", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.status_code == 200
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    made = client.get("/api/v1/customers")
    assert len(made.headers["X-Request-ID"]) == 32
    # An id that could forge a log line is replaced, not copied.
    forged = client.get("/api/v1/customers", headers={"X-Request-ID": 'x" level=ERROR'})
    assert forged.headers["X-Request-ID"] not in {'x" level=ERROR', made.headers["X-Request-ID"]}


def test_the_problem_response_and_the_json_log_line_carry_it(client, json_log):
    response = client.get("/api/v1/customers/999999", headers={"X-Request-ID": "trace-404"})
    assert response.status_code == 404
    assert response.json["request_id"] == "trace-404"
    assert response.headers["X-Request-ID"] == "trace-404"
    (line,) = [rec for rec in json_log.lines() if rec.get("request_id") == "trace-404"]
    assert line["logger"] == "fieldsvc.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/customers/999999",
                                                             404)
    assert line["duration_ms"] >= 0 and line["level"] == "INFO"


@pytest.fixture
def rq_app(app, tmp_path):
    connection = redis_or_skip()
    queue_name = f"fieldsvc-test-{secrets.token_hex(4)}"
    application = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
        "INSTANCE_PATH": str(tmp_path), "RUN_QUEUE": "rq", "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": queue_name,
    })
    yield application
    for key in connection.scan_iter(f"rq:*{queue_name}*"):
        connection.delete(key)
    from fieldsvc.extensions import db

    with application.app_context():
        db.engine.dispose()


def test_the_run_queue_job_logs_under_the_request_id(rq_app, make, json_log):
    _world(make)
    client = authed_client(rq_app, "dispatcher")
    accepted = client.post("/api/v1/optimization-runs",
                           headers={"X-Request-ID": "trace-run-1"},
                           json={"date": DAY.isoformat(), "territory": "tehran",
                                 "time_limit": 1})
    assert accepted.status_code == 202, accepted.json
    before = len(json_log.lines())
    work(rq_app, burst=True, fork=False)
    worker_lines = json_log.lines()[before:]
    mine = [rec for rec in worker_lines if rec.get("request_id") == "trace-run-1"]
    assert any(rec["message"].startswith(f"optimization run {accepted.json['id']}: solve taken")
               for rec in mine), worker_lines
    assert any(f"optimization run {accepted.json['id']} finished" in rec["message"]
               for rec in mine)


def test_scheduler_jobs_run_under_an_id_of_their_own(app, json_log):
    from scheduler.jobs import instrumented, sla_watch

    instrumented("sla_watch", sla_watch)(app)
    lines = [rec for rec in json_log.lines() if rec["message"].startswith("job sla_watch:")]
    # Its "started" line and its summary, both under the same id of its own.
    assert len(lines) == 2 and lines[0]["message"] == "job sla_watch: started"
    assert lines[0]["request_id"] == lines[1]["request_id"]
    assert lines[1]["request_id"].startswith("job-sla_watch-")
