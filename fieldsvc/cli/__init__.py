"""The `fieldsvc` command line (SPEC §6): every command honours DATABASE_URL."""

from __future__ import annotations

import importlib
import pkgutil

import click
from flask.cli import FlaskGroup

from fieldsvc import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """Field service management: serve the app, manage data, plan technicians."""


# Every module of this package adds its commands to `cli` with @cli.command on import.
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_info.name}")
importlib.import_module("fieldsvc.recall.cli")


def main() -> None:
    cli(prog_name="fieldsvc")
