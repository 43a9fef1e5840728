"""The `fieldsvc` command line (SPEC §6): every command honours DATABASE_URL.

COMMANDS below is the whole list of fieldsvc's own commands; a command is a plain click command in its module and is
added here. Plugins add theirs to the app's own group when they are registered
(see fieldsvc.blueprints), and `fieldsvc` finds them there: `fieldsvc rma flag-overdue`
comes from rma/cli.py.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from fieldsvc import create_app
from fieldsvc.cli import core, demo, dispatch, erase, imports, mobile, pm, scheduler
from fieldsvc.config import process_role
from fieldsvc.recall import cli as recall


def _create_cli_app():
    """The app of a command: role "cli" (no statement timeout) unless FIELDSVC_PROCESS_ROLE
    says otherwise; `serve`, `worker` and `scheduler` switch to their own role."""
    return create_app({"PROCESS_ROLE": process_role("cli")})


@click.group(cls=FlaskGroup, create_app=_create_cli_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """Field service management: serve the app, manage data, plan technicians."""


COMMANDS: list[click.Command] = [
    core.serve,                          # serve
    core.create_user_command,            # create-user
    demo.demo_command,                   # demo
    demo.seed_demo_command,              # seed-demo
    erase.erase_customer_command,        # erase-customer
    imports.import_command,              # import KIND FILE
    dispatch.optimize,                   # optimize
    pm.pm_generate,                      # pm-generate
    recall.recall_group,                 # recall allocate
    mobile.purge_keys_command,           # mobile-purge-keys
    scheduler.scheduler_command,         # scheduler
    scheduler.sla_watch_command,         # sla-watch
    scheduler.worker_command,            # worker
]
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="fieldsvc")
