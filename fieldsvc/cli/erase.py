"""erase-customer: anonymize a customer's personal data on request (SPEC §7)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db
from fieldsvc.services.erasure import erase_customer
from fieldsvc.storage import storage_for


@click.command("erase-customer")
@click.argument("customer_id", type=click.IntRange(min=1))
@with_appcontext
def erase_customer_command(customer_id: int) -> None:
    """Irreversibly anonymize customer CUSTOMER_ID (name, contacts, sites, notes, calls)."""
    with cli_actor() as actor, fail_on_problem():
        result = erase_customer(db.session, customer_id, actor,
                                storage=storage_for(current_app))
        db.session.commit()
    state = "erased" if result["first_time"] else "was already erased; scrubbed again"
    click.echo(f"Customer {customer_id} {state}: {result['sites']} sites, "
               f"{result['tickets']} tickets, {result['interactions']} interactions, "
               f"{result['attachments']} attachments, "
               f"{result['audit_entries_scrubbed']} audit entries scrubbed.")
