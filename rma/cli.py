"""rma flag-overdue: flag advance exchanges whose faulty unit did not come back in time."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db
from fieldsvc.models.base import utcnow


def _moment(ctx, param, value):
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO 8601 date and time, "
                                 "e.g. 2026-03-01T09:00:00+03:30.") from None
    if moment.tzinfo is None:
        raise click.BadParameter("Give a UTC offset, e.g. 2026-03-01T09:00:00+03:30.")
    return moment


@click.group("rma")
def rma_group() -> None:
    """Return material authorizations."""


@rma_group.command("flag-overdue")
@click.option("--now", callback=_moment, help="as if it were this moment (ISO 8601 with offset)")
@with_appcontext
def flag_overdue(now):
    """Flag overdue faulty-unit returns once each and mark the customer's charge."""
    from rma.services import flag_overdue_returns

    with cli_actor() as actor, fail_on_problem():
        flagged = flag_overdue_returns(db.session, now=now or utcnow(), actor=actor)
        db.session.commit()
    click.echo(f"Flagged {len(flagged)} overdue RMA(s)"
               + (f": {', '.join(map(str, flagged))}" if flagged else "."))
