"""demo and seed-demo: a working product with realistic data in one command."""

from __future__ import annotations

import time as clock
from datetime import date, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem, require_current_schema
from fieldsvc.demo import DEFAULT_SEED, Summary, existing_data, seed_demo
from fieldsvc.demo.data import DEMO_USERS
from fieldsvc.extensions import db

TODAY_HELP = ("Day the demo dates are relative to (YYYY-MM-DD; default: today in Tehran). "
              "The same seed and day give identical data.")


def _parse_day(ctx, param, value: datetime | None) -> date | None:
    return value.date() if value else None


def _seed(seed: int, today: date | None) -> Summary:
    started = clock.perf_counter()
    with cli_actor() as actor, fail_on_problem():
        summary = seed_demo(db.session, actor, seed=seed, today=today)
        db.session.commit()
    counts = summary.counts
    click.echo(
        f"Seeded demo data in {clock.perf_counter() - started:.1f} s (seed {seed}): "
        f"{counts['technicians']} technicians, {counts['customers']} customers, "
        f"{counts['sites']} sites, {counts['assets']} assets, {counts['contracts']} contracts, "
        f"{counts['work_orders']} open work orders, {counts['dealerships']} dealerships, "
        f"{counts['campaign_vins']} recalled VINs, {counts['stock_movements']} stock movements."
    )
    click.echo(f"Open work orders with windows on {summary.next_working_day} "
               "(the next working day) are ready to optimize.")
    return summary


def _print_logins() -> None:
    click.echo("Demo logins (username / password, role):")
    for username, password, role, _ in DEMO_USERS:
        click.echo(f"  {username:<11} {password:<22} {role}")


@click.command("seed-demo")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int,
              help="Seed of the random generator: every name, number and serial follows it.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), callback=_parse_day,
              help=TODAY_HELP)
@with_appcontext
def seed_demo_command(seed: int, today: date | None) -> None:
    """Load the demo data set into an empty database (DATABASE_URL).

    An after-sales network in and around Tehran, Karaj, Isfahan and Shiraz: 48
    technicians with skills, shifts and vans; 500 customers with sites; 6,500 printers,
    servers and cars; contracts, stock, 6 dealerships, a recall campaign with six weeks of
    bookings, PM plans, ticket history, 91 days of visits done with their published plans,
    and 300 open work orders, most of them due on the next working day.
    Refuses a database that already holds data or lacks the schema (run `fieldsvc db
    upgrade` first). Logins are printed at the end.
    """
    require_current_schema()
    taken = existing_data(db.session)
    if taken:
        raise click.ClickException(
            "The database already holds data (" + ", ".join(taken) + "); the demo data set "
            "needs an empty database. Point DATABASE_URL at a new one."
        )
    _seed(seed, today)
    _print_logins()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Stop after migrating and seeding.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), callback=_parse_day,
              help=TODAY_HELP)
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool, seed: int, today: date | None) -> None:
    """Migrate, seed (when empty) and serve the app with demo data.

    Uses DATABASE_URL, or a SQLite file in the instance folder when it is not set.
    Running it again on a seeded database seeds nothing more.
    """
    from flask_migrate import upgrade

    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Database: {url}")
    upgrade()
    taken = existing_data(db.session)
    if not taken:
        _seed(seed, today)
    else:
        click.echo("The database already holds data; not seeding again.")
    _print_logins()
    if no_serve:
        return
    from fieldsvc import events
    from fieldsvc.cli.support import run_server

    app = current_app._get_current_object()
    # The demo runs on one machine: webhooks to local receivers are allowed, and the outbox
    # is delivered by a thread of this process (no scheduler or worker to start).
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    events.start_thread(app)
    run_server(app, host, port)
