"""Fixtures: the real app on a real database (SQLite always, PostgreSQL when configured).

Set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/fieldsvc_test) to run
every database test on PostgreSQL as well; `.ci/run` does.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from fieldsvc import create_app
from fieldsvc.config import normalize_database_url
from fieldsvc.extensions import db

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _database_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    return normalize_database_url(os.environ["TEST_DATABASE_URL"])


def _reset_schema(app) -> None:
    """Build the schema from nothing through the migrations, as `fieldsvc db upgrade` does."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    url = _database_url(request.param, tmp_path_factory)
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
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
def ctx(app):
    """An application context with a clean session, for direct database work."""
    with app.app_context():
        yield db.session
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


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
