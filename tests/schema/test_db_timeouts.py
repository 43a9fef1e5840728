"""PostgreSQL timeouts follow the role of the process (web, worker, scheduler, cli)."""

import pytest
import sqlalchemy as sa

from fieldsvc import create_app
from fieldsvc.config import db_timeouts
from fieldsvc.db_setup import session_timeouts, set_role
from fieldsvc.extensions import db


def test_defaults_and_overrides_are_read_from_the_environment():
    timeouts = db_timeouts({"FIELDSVC_DB_STATEMENT_TIMEOUT_WEB": "15000"})
    assert timeouts["web"]["statement_timeout"] == 15000
    assert timeouts["scheduler"] == {"statement_timeout": 60000, "lock_timeout": 10000,
                                     "idle_in_transaction_session_timeout": 120000}
    assert timeouts["cli"]["statement_timeout"] == 0


@pytest.fixture
def pg_app(app, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL settings")
    application = create_app({"TESTING": True, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                              "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                              "INSTANCE_PATH": str(tmp_path)})
    yield application
    with application.app_context():
        db.engine.dispose()


def _shown(app):
    with app.app_context(), db.engine.connect() as conn:
        return session_timeouts(conn)


def test_each_role_connects_with_its_timeouts(pg_app):
    assert _shown(pg_app) == {"statement_timeout": "30s", "lock_timeout": "10s",
                              "idle_in_transaction_session_timeout": "1min"}
    set_role(pg_app, "scheduler")
    assert _shown(pg_app) == {"statement_timeout": "1min", "lock_timeout": "10s",
                              "idle_in_transaction_session_timeout": "2min"}
    set_role(pg_app, "worker")
    assert _shown(pg_app)["statement_timeout"] == "5min"
    with pytest.raises(RuntimeError, match="PROCESS_ROLE"):
        set_role(pg_app, "robot")


def test_a_statement_past_its_timeout_is_cancelled(pg_app):
    pg_app.config["DB_TIMEOUTS"]["web"]["statement_timeout"] = 200
    set_role(pg_app, "web")
    with pg_app.app_context(), db.engine.connect() as conn, \
            pytest.raises(sa.exc.OperationalError, match="statement timeout"):
        conn.execute(sa.text("SELECT pg_sleep(2)"))
