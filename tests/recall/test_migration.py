"""Migration 0014 on existing data: per-campaign ledger rows become shared and reserved pools."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from fieldsvc import create_app
from fieldsvc.extensions import db

BEFORE, AFTER = "0013_kpi_service_index_weights", "0014_recall_shared_capacity"


def _old_data(conn) -> None:
    conn.execute(text(
        "INSERT INTO dealership (id, code, name, region, latitude, longitude, timezone, bays, "
        "opens_at, closes_at, working_days, created_at, updated_at) VALUES (1, 'D1', 'D1', "
        "'Tehran', 35.7, 51.4, 'UTC', 1, '08:00:00', '12:00:00', '0123456', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    for cid in (1, 2, 3):
        conn.execute(text(
            "INSERT INTO recall_campaign (id, code, title, status, remedy_minutes, "
            f"parts_available, created_at, updated_at) VALUES ({cid}, 'C{cid}', 't', "
            "'active', 60, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    # Day 1: campaigns 1 and 2 each had the whole day (4 places), 3 and 2 taken; campaign 3
    # had 2 places set by hand, 1 taken. Day 2: campaign 1 alone.
    for i, (cid, day, capacity, booked, overridden) in enumerate([
            (1, "2030-01-01", 4, 3, 0), (2, "2030-01-01", 4, 2, 0),
            (3, "2030-01-01", 2, 1, 1), (1, "2030-01-02", 4, 1, 0)], start=1):
        conn.execute(text(
            "INSERT INTO dealership_day (id, dealership_id, campaign_id, day, capacity, booked, "
            f"overridden) VALUES ({i}, 1, {cid}, '{day}', {capacity}, {booked}, {overridden})"))
    n = 0
    for cid, day, status, count in [(1, "2030-01-01", "booked", 2),
                                    (1, "2030-01-01", "invited", 1),
                                    (2, "2030-01-01", "completed", 2),
                                    (3, "2030-01-01", "booked", 1),
                                    (1, "2030-01-02", "no_show", 1),
                                    (1, "2030-01-02", "cancelled", 1)]:
        for _ in range(count):
            n += 1
            conn.execute(text(
                "INSERT INTO recall_appointment (id, campaign_id, vin, dealership_id, day, "
                f"status, created_at, updated_at) VALUES ({n}, {cid}, 'VIN{n:014d}', 1, "
                f"'{day}', '{status}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def _ledger(conn, columns: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(
        f"SELECT {columns} FROM dealership_day ORDER BY day, campaign_id IS NOT NULL, "
        "campaign_id"))]


def test_upgrade_merges_a_day_into_its_shared_pool_and_downgrade_splits_it(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}",
                      "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            _old_data(conn)
        upgrade(revision=AFTER)
        with db.engine.begin() as conn:
            # Hand-set places became campaign 3's reservation; the rest of the day is one
            # shared pool holding all 5 places taken (capacity grown to hold them).
            assert _ledger(conn, "campaign_id, day, capacity, booked, reserved, overridden") == [
                (None, "2030-01-01", 5, 5, 2, 0), (3, "2030-01-01", 2, 1, 0, 1),
                (None, "2030-01-02", 4, 1, 0, 0)]
            # Every appointment holding a place names its pool, and each pool counts them.
            assert conn.execute(text(
                "SELECT count(*) FROM dealership_day d WHERE d.booked <> (SELECT count(*) "
                "FROM recall_appointment a WHERE a.pool_id = d.id)")).scalar() == 0
            assert conn.execute(text(
                "SELECT status FROM recall_appointment WHERE pool_id IS NULL")).all() == [
                ("cancelled",)]
        # A populated database: the operator confirms the downgrade (it drops columns).
        downgrade(revision=BEFORE, x_arg=["allow-data-loss=yes"])
        with db.engine.begin() as conn:
            assert _ledger(conn, "campaign_id, day, capacity, booked, overridden") == [
                (1, "2030-01-01", 5, 3, 0), (2, "2030-01-01", 5, 2, 0),
                (3, "2030-01-01", 2, 1, 1), (1, "2030-01-02", 4, 1, 0)]
        upgrade()
        db.engine.dispose()
