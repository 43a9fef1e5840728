"""What CLI commands share: the acting user, problem reporting, serving."""

from __future__ import annotations

import getpass
from contextlib import contextmanager

import click
from flask import current_app

from fieldsvc.context import Actor, acting_as
from fieldsvc.extensions import db
from fieldsvc.problems import Problem


@contextmanager
def cli_actor():
    """Record CLI writes in the audit log as the operating-system user."""
    try:
        name = getpass.getuser()
    except Exception:  # no login name in some containers
        name = "unknown"
    with acting_as(Actor(id=None, name=f"cli:{name}", source="cli")) as actor:
        yield actor


def require_current_schema() -> None:
    """Stop with what to run when the database's schema is missing or behind the code."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return
    state = ("has no tables yet" if not current else
             f"is at migration {', '.join(sorted(current))}, not {', '.join(sorted(heads))}")
    raise click.ClickException(f"The database {state}. Run `fieldsvc db upgrade` first "
                               "(or `fieldsvc demo`, which migrates and seeds).")


@contextmanager
def fail_on_problem():
    """Turn a Problem into a clear message and a non-zero exit, with nothing written."""
    try:
        yield
    except Problem as exc:
        db.session.rollback()
        lines = [exc.detail or exc.title]
        for field, messages in (exc.extensions.get("errors") or {}).items():
            text = "; ".join(map(str, messages)) if isinstance(messages, list) else messages
            lines.append(f"  {field}: {text}")
        raise click.ClickException("\n".join(lines)) from exc


def embedded_server(app, host: str, port: int, threads: int = 8):
    """gunicorn serving `app` in this process (one worker, several threads), not started."""
    from gunicorn.app.base import BaseApplication

    from fieldsvc.heap import post_worker_init

    class _Embedded(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("post_worker_init", post_worker_init)

        def load(self):
            return app

    return _Embedded()


def run_server(app, host: str, port: int, threads: int = 8) -> None:
    """Serve `app` in this process with gunicorn (one worker, several threads)."""
    server = embedded_server(app, host, port, threads)
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    server.run()
