"""serve and create-user (which also resets the password of an existing account)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db
from fieldsvc.services.users import create_or_reset_user


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the app with a production WSGI server (single process)."""
    from fieldsvc.cli.support import run_server
    from fieldsvc.db_setup import set_role
    from fieldsvc.ops.logs import setup_for

    app = current_app._get_current_object()
    set_role(app, "web")
    setup_for(app)
    run_server(app, host, port)


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True,
              help="admin, manager, dispatcher, agent, technician or dealership")
@click.option("--technician", "technician_id", type=int, help="technician id (technician role)")
@click.option("--dealership", "dealership_id", type=int, help="dealership id (dealership role)")
@click.option("--full-name")
@with_appcontext
def create_user_command(username, password, role, technician_id, dealership_id, full_name):
    """Create a user account, or set a new password for an existing one of that role.

    A new password ends every API token and console session the account had."""
    with cli_actor(), fail_on_problem():
        user, ended = create_or_reset_user(
            db.session, username=username, password=password, role=role,
            technician_id=technician_id, dealership_id=dealership_id, full_name=full_name)
        db.session.commit()
    if ended is None:
        click.echo(f"Created user {user.username} (id {user.id}, role {user.role.value}).")
    else:
        click.echo(f"User {user.username} exists (id {user.id}, role {user.role.value}): "
                   f"password changed, {ended} token(s) and console session(s) ended.")
