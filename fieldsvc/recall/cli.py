"""recall allocate: invite a campaign's owners to dealership days (min-cost flow)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db
from fieldsvc.recall.allocation import DEFAULT_HORIZON_DAYS, allocate
from fieldsvc.recall.models import RecallCampaign


@click.group("recall")
def recall_group() -> None:
    """Recall campaigns."""


@recall_group.command("allocate")
@click.argument("campaign_code")
@click.option("--days", "horizon_days", type=click.IntRange(1, 120),
              default=DEFAULT_HORIZON_DAYS, show_default=True,
              help="Invite to days from tomorrow up to this many days ahead.")
@click.option("--show", type=click.IntRange(0, 500), default=20, show_default=True,
              help="How many unplaced owners to list.")
@with_appcontext
def allocate_command(campaign_code: str, horizon_days: int, show: int) -> None:
    """Invite the owners of CAMPAIGN_CODE's active phases to their nearest free dealership days.

    Capacity is never exceeded; owners who cannot be placed are listed with the reason.
    """
    campaign = db.session.scalar(select(RecallCampaign)
                                 .where(RecallCampaign.code == campaign_code))
    if campaign is None:
        raise click.ClickException(f"No recall campaign with code '{campaign_code}'.")
    with cli_actor() as actor, fail_on_problem():
        report = allocate(db.session, campaign, actor, horizon_days=horizon_days)
        db.session.commit()
    click.echo(f"Campaign {campaign.code}: invited {report['invited']} owners to days "
               f"{report['first_day']} .. {report['last_day']} "
               f"(solved in {report['solve_seconds']:.2f} s; total travel "
               f"{report['total_km']:.1f} km, mean {report['mean_km'] or 0:.1f} km).")
    if report["waiting_for_phase"]:
        click.echo(f"{report['waiting_for_phase']} owners wait for their phase to start.")
    if report["unplaced"]:
        reasons = ", ".join(f"{code}: {n}" for code, n in report["unplaced_by_reason"].items())
        click.echo(f"Not placed: {report['unplaced']} ({reasons})")
        for row in report["unplaced_owners"][:show]:
            click.echo(f"  {row['vin']}  {row['code']}  {row['reason']}")
