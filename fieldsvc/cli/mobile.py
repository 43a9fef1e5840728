"""mobile-purge-keys: forget phone idempotency keys older than the retention (≥ 7 days)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from fieldsvc.extensions import db


@click.command("mobile-purge-keys")
@click.option("--days", type=click.IntRange(min=7, max=3650), default=7, show_default=True,
              help="Keep keys younger than this many days (at least 7).")
@with_appcontext
def purge_keys_command(days: int) -> None:
    """Delete Idempotency-Key records of the mobile API older than DAYS days."""
    from mobile_api.idempotency import purge

    removed = purge(db.session, keep_days=days)
    db.session.commit()
    click.echo(f"Removed {removed} idempotency keys older than {days} days.")
