"""The `fieldsvc` command line (SPEC §6): every command honours DATABASE_URL."""

from __future__ import annotations

import importlib

import click
from flask.cli import FlaskGroup

from fieldsvc import create_app

# Modules that add commands to `cli`; each registers with @cli.command.
COMMAND_MODULES = ["fieldsvc.cli.core"]


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """Field service management: serve the app, manage data, plan technicians."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name)


def main() -> None:
    cli(prog_name="fieldsvc")
