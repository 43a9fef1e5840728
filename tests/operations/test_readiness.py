"""/healthz stays cheap; /readyz names what is wrong and answers 503 for it."""

from __future__ import annotations

import secrets

from sqlalchemy import text

from fieldsvc.extensions import db
from scheduler.jobs import SchedulerLock
from tests.operations.conftest import REDIS_URL, free_port, redis_or_skip


def _ready(app, client, **config):
    app.config.update(config)
    return client.get("/readyz")


def test_ready_when_the_database_answers_and_migrations_are_at_head(app, anon_client):
    response = _ready(app, anon_client, READYZ_CHECKS="database,migrations,redis")
    assert response.status_code == 200, response.json
    checks = response.json["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["migrations"]["status"] == "ok"
    assert checks["redis"]["status"] == "skipped"  # the thread queue, memory:// limits
    assert checks["workers"]["status"] == "skipped"
    assert anon_client.get("/healthz").status_code == 200


def test_redis_on_a_closed_port_is_503_and_says_so(app, anon_client):
    response = _ready(app, anon_client, READYZ_CHECKS="database,migrations,redis",
                      RUN_QUEUE="rq", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"]
    body = response.json
    assert body["checks"]["redis"]["status"] == "fail"
    assert "redis" in body["detail"] and "Connection" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"
    # Liveness does not depend on Redis: the process itself is fine.
    assert anon_client.get("/healthz").status_code == 200


def test_migrations_behind_the_code_are_503(app, anon_client):
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
        db.session.commit()
    try:
        response = _ready(app, anon_client, READYZ_CHECKS="database,migrations")
        assert response.status_code == 503
        assert "fieldsvc db upgrade" in response.json["checks"]["migrations"]["detail"]
    finally:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
            db.session.commit()


def test_the_scheduler_check_follows_the_leader_lock(app, anon_client):
    config = {"READYZ_CHECKS": "database,scheduler"}
    without = _ready(app, anon_client, **config)
    assert without.status_code == 503
    assert without.json["checks"]["scheduler"]["status"] == "fail"
    lock = SchedulerLock(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    assert lock.acquire()
    try:
        held = _ready(app, anon_client, **config)
        assert held.status_code == 200, held.json
        assert held.json["checks"]["scheduler"]["detail"].startswith("active")
    finally:
        lock.release()
    assert _ready(app, anon_client, **config).status_code == 503


def test_an_unrequired_check_is_reported_but_does_not_fail(app, anon_client):
    response = _ready(app, anon_client, READYZ_CHECKS="database")
    assert response.status_code == 200
    assert response.json["checks"]["scheduler"] == {
        "status": "fail", "detail": response.json["checks"]["scheduler"]["detail"],
        "required": "no"}


def test_the_workers_check_counts_registered_rq_workers(app, anon_client):
    from rq import Queue, SimpleWorker

    connection = redis_or_skip()
    queue_name = f"fieldsvc-test-{secrets.token_hex(4)}"
    config = {"READYZ_CHECKS": "database,redis,workers", "RUN_QUEUE": "rq",
              "REDIS_URL": REDIS_URL, "RQ_QUEUE": queue_name}
    none = _ready(app, anon_client, **config)
    assert none.status_code == 503
    assert none.json["checks"]["workers"]["detail"] == (
        f"no worker takes runs from queue {queue_name}")
    worker = SimpleWorker([Queue(queue_name, connection=connection)], connection=connection)
    worker.register_birth()
    try:
        one = _ready(app, anon_client, **config)
        assert one.status_code == 200, one.json
        assert one.json["checks"]["workers"]["detail"].startswith("1 worker(s)")
    finally:
        worker.register_death()
    assert _ready(app, anon_client, **config).status_code == 503
