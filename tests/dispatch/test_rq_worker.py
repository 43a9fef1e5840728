"""Several machines: runs go through Redis (RQ) and a `fieldsvc worker` executes them."""

import secrets

import pytest

from fieldsvc import create_app
from fieldsvc.dispatch.queue import RqQueue, get_queue, work
from tests.conftest import REDIS_URL, authed_client
from tests.dispatch.test_release_insertion_api import DAY, _world


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    pytest.importorskip("rq")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL}: {exc}")
    return connection


@pytest.fixture
def rq_app(app, tmp_path):
    """The same database as `app`, with runs queued in Redis under a queue of its own."""
    connection = _redis_or_skip()
    queue_name = f"fieldsvc-test-{secrets.token_hex(4)}"
    application = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
        "INSTANCE_PATH": str(tmp_path), "RUN_QUEUE": "rq", "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": queue_name,
    })
    yield application
    connection.delete(f"rq:queue:{queue_name}")
    from fieldsvc.extensions import db

    with application.app_context():
        db.engine.dispose()


def test_a_run_enqueued_through_the_api_is_executed_by_a_worker(rq_app, make):
    _, _, orders = _world(make)
    client = authed_client(rq_app, "dispatcher")
    accepted = client.post("/api/v1/optimization-runs",
                           json={"date": DAY.isoformat(), "territory": "tehran",
                                 "time_limit": 1})
    assert accepted.status_code == 202, accepted.json
    assert isinstance(get_queue(rq_app), RqQueue)
    assert get_queue(rq_app).queue.count == 1
    # Nothing runs it in the web process: it waits for a worker.
    assert client.get(f"/api/v1/optimization-runs/{accepted.json['id']}").json[
        "status"] == "queued"
    work(rq_app, burst=True, fork=False)
    run = client.get(f"/api/v1/optimization-runs/{accepted.json['id']}").json
    assert run["status"] == "finished", run
    assert run["assigned_count"] == len(orders)
    assert get_queue(rq_app).queue.count == 0


def test_worker_command_refuses_without_rq(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "FIELDSVC_RUN_QUEUE=rq" in result.output
