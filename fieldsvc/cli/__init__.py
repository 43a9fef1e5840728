"""The `fieldsvc` command line (SPEC §6): every command honours DATABASE_URL."""

from __future__ import annotations

import importlib
import os
import pkgutil

import click
from flask.cli import FlaskGroup

from fieldsvc import create_app


def _create_cli_app():
    """The app of a command: role "cli" (no statement timeout) unless FIELDSVC_PROCESS_ROLE
    says otherwise; `serve`, `worker` and `scheduler` switch to their own role."""
    return create_app({"PROCESS_ROLE": os.environ.get("FIELDSVC_PROCESS_ROLE", "cli")})


@click.group(cls=FlaskGroup, create_app=_create_cli_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """Field service management: serve the app, manage data, plan technicians."""


# Every module of this package adds its commands to `cli` with @cli.command on import.
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_info.name}")


def main() -> None:
    cli(prog_name="fieldsvc")
