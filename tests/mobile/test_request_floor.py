"""What every API request pays, made smaller without losing a guarantee: reads run without
a transaction and may not write; a connection that died in the pool costs no request."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select

from fieldsvc.extensions import db
from fieldsvc.models import Customer
from fieldsvc.transaction import ReadOnlyRequest, begin
from tests.mobile.conftest import today


def _kill_other_connections(app) -> int:
    """Terminate every other session on the test database, as a restart or a dropped
    network path would: the app's pooled connections are dead afterwards."""
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'").fetchone()[0]


def test_reads_and_writes_survive_connections_dropped_in_the_pool(app, tech_client, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no connections to drop")
    day = f"/api/mobile/v1/day?date={today().isoformat()}"
    assert tech_client.get(day).status_code == 200  # the pool now holds a live connection
    assert _kill_other_connections(app) >= 1
    r = tech_client.get(day)
    assert r.status_code == 200, r.json
    assert len(r.json["jobs"]) == len(world.jobs)

    job = world.jobs[0]
    assert _kill_other_connections(app) >= 1
    r = tech_client.post(f"/api/mobile/v1/jobs/{job.id}/status",
                         json={"to": "en_route", "lat": 35.7, "lon": 51.4},
                         headers={"Idempotency-Key": "after-drop"})
    assert r.status_code == 200, r.json
    assert tech_client.get(f"/api/mobile/v1/jobs/{job.id}").json["status"] == "en_route"


def test_a_read_request_cannot_write(app, make):
    make.customer(name="Before")
    with app.test_request_context("/api/v1/customers", method="GET"):
        session = db.session()
        begin(session)
        session.add(Customer(name="Written by a GET"))
        with pytest.raises(ReadOnlyRequest):
            session.flush()
        session.rollback()
    with app.app_context():
        names = db.session.scalars(select(Customer.name)).all()
        assert "Written by a GET" not in names
        assert db.session.scalar(select(func.count()).select_from(Customer)) == len(names)


def test_reads_and_writes_alternate_in_one_app_context(app, ctx, tech_client, world):
    """A test (or a CLI) holding an app context: a read leaves no read-only state behind."""
    job = world.jobs[0]
    url = f"/api/mobile/v1/jobs/{job.id}"
    assert tech_client.get(url).status_code == 200
    r = tech_client.post(url + "/status", json={"to": "en_route", "lat": 35.7, "lon": 51.4})
    assert r.status_code == 200, r.json
    assert tech_client.get(url).json["status"] == "en_route"
