"""optimize: plan a territory's day from the command line, with a progress bar."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.dispatch.runs import MAX_TIME_LIMIT, execute_run, request_run
from fieldsvc.extensions import db
from fieldsvc.models.enums import RunStatus
from scheduler.ruin_recreate import warm_up


@click.command("optimize")
@click.option("--date", "plan_date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="first day to plan (YYYY-MM-DD)")
@click.option("--territory", help="plan one territory (default: all technicians)")
@click.option("--days", "horizon_days", default=1, show_default=True,
              type=click.IntRange(1, 14), help="horizon length in days")
@click.option("--time-limit", default=30.0, show_default=True,
              type=click.FloatRange(1, MAX_TIME_LIMIT), help="search time in seconds")
@click.option("--quiet", is_flag=True, help="no progress bar")
@with_appcontext
def optimize(plan_date, territory, horizon_days, time_limit, quiet):
    """Run the optimizer for a day and store the proposed plan as an optimization run."""
    day: date = plan_date.date()
    with cli_actor() as actor, fail_on_problem():
        run = request_run(db.session, actor, plan_date=day, territory=territory,
                          horizon_days=horizon_days, time_limit=time_limit)
        db.session.commit()
        run_id = run.id
        with tqdm(total=100, disable=quiet, unit="%", desc=f"run {run_id}",
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}") as bar:

            def show(fraction: float, message: str) -> None:
                bar.n = int(fraction * 100)
                bar.set_postfix_str(message[:60])

            # The compiled part of the optimizer loads (or, on a fresh install, compiles)
            # before the run starts, outside its time limit.
            show(0.0, "loading the optimizer")
            warm_up()
            run = execute_run(db.session, run_id, current_app.config["DEFAULT_TIMEZONE"],
                              on_progress=show)
            bar.n = 100
            bar.refresh()
    if run is None or run.status is not RunStatus.FINISHED:
        detail = (run.error or run.message) if run is not None else "not executed"
        raise click.ClickException(f"Run {run_id} failed: {detail}")
    click.echo(
        f"Run {run.id} finished in {run.solve_seconds:.1f} s: {run.assigned_count} work orders "
        f"planned, {run.unassigned_count} unassigned. Publish it with "
        f"POST /api/v1/optimization-runs/{run.id}/publish."
    )
