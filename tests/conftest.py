"""Fixtures: the real app on a real database (SQLite always, PostgreSQL when configured).

Set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/fieldsvc_test) to run
every database test on PostgreSQL as well; `.ci/run` does.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import text

from fieldsvc import create_app
from fieldsvc.config import normalize_database_url
from fieldsvc.extensions import db

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


# Under pytest-xdist (`-n 2`) every worker process is named gw0, gw1, ...; each gets a
# PostgreSQL database and a Redis database of its own so that workers never see each other's
# rows, queues or rate-limit counters. FIELDSVC_TEST_REDIS_DB moves the first Redis database
# number (default 0), so that two suites on one machine keep apart as well.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0
_REDIS_BASE = int(os.environ.get("FIELDSVC_TEST_REDIS_DB", "0"))
REDIS_URL = f"redis://127.0.0.1:6379/{_REDIS_BASE + _WORKER_INDEX}"


def _worker_database(url: str) -> str:
    """`url` itself, or under xdist a database of this worker's own next to it (created once)."""
    if not XDIST_WORKER:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{XDIST_WORKER}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _database_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    return _worker_database(normalize_database_url(os.environ["TEST_DATABASE_URL"]))


def _reset_schema(app) -> None:
    """Build the schema from nothing through the migrations, as `fieldsvc db upgrade` does."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session", autouse=True)
def _optimizer_kernel_loaded():
    """Load (or compile, on a fresh checkout) the optimizer's kernel once per session, as the
    run workers do when they start, so that no timed solve in a test pays for it."""
    from scheduler.ruin_recreate import warm_up

    warm_up()


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    url = _database_url(request.param, tmp_path_factory)
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
            # Limits are exercised by tests/access with an app of their own.
            "RATELIMIT_ENABLED": False,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        }
    )
    _reset_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()


def _table_names() -> list[str]:
    return [t.name for t in reversed(db.metadata.sorted_tables)]


@pytest.fixture(autouse=True)
def _restore_config(request):
    """Give every test the app configuration it started with, whatever it changed."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    saved = dict(application.config)
    yield
    application.config.clear()
    application.config.update(saved)


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after each test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        names = _table_names()
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                quoted = ", ".join(f'"{n}"' for n in names)
                conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            else:
                for name in names:
                    conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def count_queries(app):
    """`with count_queries() as queries: ...` then `queries.count`: SQL statements run.

    Counts every statement the app's engine sends while the block runs (requests through a
    test client included), so a test can show that a page costs the same number of queries
    whatever the number of rows: no query per row (N+1).
    """
    from contextlib import contextmanager

    from sqlalchemy import event

    class Queries:
        def __init__(self) -> None:
            self.count = 0
            self.statements: list[str] = []

    @contextmanager
    def counting():
        queries = Queries()

        def before(conn, cursor, statement, parameters, context, executemany):
            queries.count += 1
            queries.statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield queries
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def ctx(app):
    """An application context with a clean session, for direct database work."""
    with app.app_context():
        yield db.session
        db.session.rollback()
        db.session.remove()


TEST_PASSWORD = "test-password"
# Cheap argon2id parameters: the tests create users by the hundred; production keeps the
# library defaults (fieldsvc.services.users).
_FAST_HASH: dict[str, str] = {}


def _fast_hash(password: str) -> str:
    if password not in _FAST_HASH:
        from argon2 import PasswordHasher

        _FAST_HASH[password] = PasswordHasher(time_cost=1, memory_cost=1024,
                                              parallelism=1).hash(password)
    return _FAST_HASH[password]


def make_user(app, role: str = "admin", username: str | None = None,
              password: str = TEST_PASSWORD, **links) -> int:
    """Insert a user without going through the audit log (fixture data, not a user action)."""
    from fieldsvc.models import User

    with app.app_context(), db.engine.begin() as conn:
        count = conn.execute(db.select(db.func.count(User.id))).scalar_one()
        result = conn.execute(User.__table__.insert().values(
            username=username or f"test-{role}-{count + 1}",
            password_hash=_fast_hash(password),
            role=role,
            active=True,
            failed_logins=0,
            created_at=_now(),
            updated_at=_now(),
            **links,
        ))
        return result.inserted_primary_key[0]


def _now():
    from fieldsvc.models.base import utcnow

    return utcnow()


def bearer_for(app, user_id: int) -> str:
    """Issue an API token for `user_id` straight in the database (no login, no audit)."""
    from fieldsvc.auth.tokens import digest
    from fieldsvc.models import AuthToken

    raw = secrets.token_urlsafe(32)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(AuthToken.__table__.insert().values(
            user_id=user_id, token_hash=digest(raw), kind="api", created_at=_now(),
            expires_at=_now() + timedelta(seconds=app.config["TOKEN_TTL_SECONDS"])))
    return raw


def authed_client(app, role: str = "admin", **links):
    """A test client that sends a bearer token of a fresh user of `role` on every request."""
    user_id = make_user(app, role, **links)
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + bearer_for(app, user_id)
    test_client.user_id = user_id
    return test_client


@pytest.fixture
def client(app):
    """An ADMIN client: every request carries a valid bearer token."""
    return authed_client(app, "admin")


@pytest.fixture
def anon_client(app):
    """A client without credentials."""
    return app.test_client()


@pytest.fixture
def client_as(app):
    """client_as("technician", technician_id=3) → a client signed in with that role."""

    def build(role: str, **links):
        return authed_client(app, role, **links)

    return build


class _FieldsvcRunner:
    """Invokes the `fieldsvc` command group against the test app: runner.invoke(args=[...])."""

    def __init__(self, app):
        self._runner = app.test_cli_runner()

    def invoke(self, cli=None, args=None, **kwargs):
        from fieldsvc.cli import cli as fieldsvc_cli

        return self._runner.invoke(cli or fieldsvc_cli, args, **kwargs)


@pytest.fixture
def runner(app):
    return _FieldsvcRunner(app)


@pytest.fixture
def backend(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


@pytest.fixture
def make(app):
    """Factories that write real rows and commit: make.customer(name="Acme"), ..."""
    from tests.factories import Factories

    with app.app_context():
        yield Factories(db.session)
        db.session.remove()
