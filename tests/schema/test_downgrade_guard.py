"""`fieldsvc db downgrade` refuses to drop data unless told to."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from fieldsvc import create_app
from fieldsvc.extensions import db


@pytest.fixture
def fresh_app(tmp_path):
    """An app on a database of its own (SQLite file): these tests downgrade it."""
    application = create_app({"TESTING": True, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/own.sqlite3",
                              "INSTANCE_PATH": str(tmp_path)})
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


def _tables(app):
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _add_row(app):
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO skill (code, name, created_at, updated_at) "
                          "VALUES ('hvac', 'HVAC', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def test_a_downgrade_that_would_drop_data_refuses_without_the_flag(fresh_app, capfd):
    _add_row(fresh_app)
    with fresh_app.app_context(), pytest.raises(SystemExit) as stopped:
        downgrade(revision="base")  # as `fieldsvc db downgrade base`: exit status 1
    assert stopped.value.code == 1
    said = capfd.readouterr().err
    assert "Refusing to downgrade" in said and "allow-data-loss=yes" in said
    assert "skill" in _tables(fresh_app)
    with fresh_app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM skill")).scalar() == 1
        db.session.remove()
        downgrade(revision="base", x_arg=["allow-data-loss=yes"])
    assert _tables(fresh_app) <= {"alembic_version"}


def test_a_downgrade_that_keeps_every_row_goes_ahead(fresh_app):
    _add_row(fresh_app)
    with fresh_app.app_context():
        # Down to the per-technician day counters first: the step above them drops columns
        # (a site's zone, a plan's tools), which the guard refuses without the flag.
        downgrade(revision="0021_mobile_day_per_technician", x_arg=["allow-data-loss=yes"])
        downgrade(revision="-2")  # counters, triggers and indexes: no row of data
        assert db.session.execute(text("SELECT count(*) FROM skill")).scalar() == 1
        db.session.remove()


def test_an_empty_database_downgrades_freely(fresh_app):
    with fresh_app.app_context():
        downgrade(revision="base")
    assert _tables(fresh_app) <= {"alembic_version"}
