"""import: load customers, assets, technicians, parts or a campaign's VINs from CSV."""

from __future__ import annotations

import os
import time

import click
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db
from fieldsvc.imports import KINDS, ImportRejected, run_import

HELP = """Import a CSV file of KIND: customers, assets, technicians, parts or vins.

\b
UTF-8 (with or without BOM), one header row; * = required column.
customers    name*, tier, contact_name, email, phone, mobile, region,
             consent_marketing, notes, and one optional site: site_name,
             address, city, territory, latitude, longitude
assets       product_code*, customer_id | customer_email | customer_phone*,
             site_name, serial_number | vin*, install_date, warranty_end, notes
technicians  code*, name*, home_latitude*, home_longitude*, email, phone,
             territory, home_address, skills ("printer-laser:3;network:2"),
             shifts ("56012@08:00-17:00;3@08:00-13:00", weekdays Monday=0)
parts        sku*, name*, unit_cost, serialized
vins         vin*  (needs --campaign CODE)

All or nothing: any bad row (invalid field, unknown reference, duplicate in
the file or in the database) rejects the whole file with every bad row listed
by line number, and nothing is written.
"""


@click.command("import", help=HELP)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--campaign", "campaign_code", help="Recall campaign code (vins only).")
@with_appcontext
def import_command(kind: str, file: str, campaign_code: str | None) -> None:
    if kind == "vins" and not campaign_code:
        raise click.UsageError("Importing vins needs --campaign CODE.")
    if kind != "vins" and campaign_code:
        raise click.UsageError("--campaign applies to vins only.")
    with open(file, "rb") as handle:
        data = handle.read()
    started = time.perf_counter()
    with cli_actor() as actor:
        try:
            with fail_on_problem():
                result = run_import(db.session, kind, data, actor,
                                    filename=os.path.basename(file),
                                    campaign_code=campaign_code)
                db.session.commit()
        except click.ClickException as exc:
            if isinstance(exc.__cause__, ImportRejected):
                raise click.ClickException(exc.__cause__.report()) from None
            raise
    click.echo(f"Imported {result.summary} from {os.path.basename(file)} "
               f"in {time.perf_counter() - started:.1f} s.")
