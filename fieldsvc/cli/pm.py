"""pm-generate: create the work orders of due preventive maintenance occurrences."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db
from fieldsvc.models.base import utcnow
from fieldsvc.services.pm_generation import generate_due_work_orders


class AwareDateTime(click.ParamType):
    """An ISO 8601 moment with its UTC offset (a naive time is ambiguous: refused)."""

    name = "ISO datetime"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                self.fail(f"'{value}' is not an ISO 8601 date and time, "
                          "e.g. 2026-03-01T09:00:00+03:30.", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"'{value}' has no UTC offset; add one, e.g. +03:30 or Z.", param, ctx)
        if not 1900 <= moment.year <= 2200:
            self.fail(f"'{value}' is outside the years 1900-2200.", param, ctx)
        return moment


@click.command("pm-generate")
@click.option("--days", "horizon_days", type=click.IntRange(0, 366),
              help="look this many days ahead instead of each plan's lead time")
@click.option("--now", "now", type=AwareDateTime(),
              help="generate as if it were this moment (ISO 8601 with offset)")
@click.option("--plan", "plan_ids", type=click.IntRange(1, 2**63 - 1), multiple=True,
              help="only this plan (repeatable)")
@with_appcontext
def pm_generate(horizon_days, now, plan_ids):
    """Create the work orders of preventive maintenance occurrences that are due."""
    with cli_actor() as actor, fail_on_problem():
        report = generate_due_work_orders(
            db.session, now=now or utcnow(), horizon_days=horizon_days,
            plan_ids=list(plan_ids) or None, actor=actor)
        db.session.commit()
    for line in report.lines():
        click.echo(line)
