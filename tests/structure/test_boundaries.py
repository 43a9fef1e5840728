"""The package boundaries hold: routes and commands are listed, rma is a plugin that
contributes through hooks, and recalls live in one folder."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from flask.views import MethodView
from flask_smorest import Blueprint

import fieldsvc
from fieldsvc.extensions import db
from fieldsvc.hooks import Hooks, hooks_of
from fieldsvc.models import Customer
from fieldsvc.recall.blueprint import add_routes
from fieldsvc.services import kpis, voice_of_customer
from fieldsvc.services.customer_view import customer_view

ROOT = Path(fieldsvc.__file__).resolve().parent.parent


def _sources(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, path.read_text(encoding="utf-8")


def _imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_fieldsvc_imports_rma_only_to_register_it():
    importers = sorted(str(path.relative_to(ROOT)) for path, source in _sources("fieldsvc")
                       if any(m == "rma" or m.startswith("rma.")
                              for m in _imported_modules(source)))
    assert importers == ["fieldsvc/blueprints.py"]


def test_fieldsvc_reads_no_table_by_name_from_the_metadata():
    for path, source in _sources("fieldsvc"):
        assert "metadata.tables" not in source, path
        assert 'table("rma"' not in source, path


def test_mobile_tables_live_in_mobile_api():
    assert not (ROOT / "fieldsvc" / "models" / "mobile.py").exists()
    from mobile_api import models

    assert {models.IdempotencyKey.__table__.name, models.DayVersion.__table__.name} <= set(
        db.metadata.tables)


def test_recall_lives_in_one_package():
    gone = ["fieldsvc/models/recall.py", "fieldsvc/schemas/recalls.py",
            "fieldsvc/services/recalls.py", "fieldsvc/services/recall_booking.py",
            "fieldsvc/services/recall_allocation.py", "fieldsvc/services/recall_ics.py",
            "fieldsvc/api/resources/recalls.py", "fieldsvc/portal", "fieldsvc/cli/recall.py"]
    assert [p for p in gone if (ROOT / p).exists()] == []
    here = {p.stem for p in (ROOT / "fieldsvc" / "recall").glob("*.py")}
    assert {"models", "schemas", "services", "booking", "allocation", "ics", "api", "portal",
            "cli", "blueprint"} <= here


def test_every_resource_module_is_registered(app):
    """The list in fieldsvc/blueprints.py is explicit: a resource module left out of it
    would have no routes, so this test names it."""
    import fieldsvc.api.resources as resources

    registered = set(app.blueprints)
    missing = []
    for info in pkgutil.iter_modules(resources.__path__):
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        missing += [f"{info.name}.{b.name}" for b in module.blueprints
                    if b.name not in registered]
    assert missing == []


def test_every_command_is_listed():
    """fieldsvc/cli lists its commands: one defined in a module but left out is named here."""
    import fieldsvc.cli as package
    from fieldsvc.cli import COMMANDS

    defined = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        defined |= {id(v) for v in vars(module).values() if isinstance(v, click.Command)}
    defined.add(id(importlib.import_module("fieldsvc.recall.cli").recall_group))
    assert defined <= {id(c) for c in COMMANDS}


def test_a_route_line_must_match_its_view():
    class OnlyGet(MethodView):
        def get(self):
            return ""

    blp = Blueprint("route_table_check", __name__)
    with pytest.raises(RuntimeError, match="GET"):
        add_routes(blp, [("GET POST", "/x", "only_get", OnlyGet)])
    add_routes(blp, [("GET", "/x", "only_get", OnlyGet)])


def test_rma_fills_the_hooks(app):
    import rma.hooks

    hooks = hooks_of(app)
    assert (hooks.customer_rmas, hooks.rma_faults) == (rma.hooks.customer_rmas,
                                                         rma.hooks.rma_faults)


def test_a_hook_is_filled_once():
    hooks = Hooks()
    hooks.register(customer_rmas=lambda session, customer_id, limit: [])
    with pytest.raises(RuntimeError, match="customer_rmas"):
        hooks.register(customer_rmas=lambda session, customer_id, limit: [])


def test_rmas_reach_fieldsvc_pages_only_through_the_hooks(app, client, make, ctx):
    site = make.site()
    asset = make.asset(site=site)
    created = client.post("/api/v1/rmas", json={
        "type": "repair_and_return", "customer_id": site.customer_id, "asset_id": asset.id,
        "failure_description": "Fuser overheats", "failure_code": "E-301"})
    assert created.status_code == 201, created.json
    customer = ctx.get(Customer, site.customer_id)
    today = datetime.now(UTC).date()
    shown = customer_view(ctx, customer, today, hooks_of(app))
    assert [r.number for r in shown.rmas] == [created.json["number"]]
    assert customer_view(ctx, customer, today, Hooks()).rmas == []

    period = kpis.Period(today.replace(day=1), today, "UTC", None)
    assert period.start_at <= datetime.now(UTC) < period.end_at
    faults = voice_of_customer.recurring_faults(ctx, period, hooks_of(app))
    assert [(f["code"], f["rmas"]) for f in faults] == [("E-301", 1)]
    assert voice_of_customer.recurring_faults(ctx, period, Hooks()) == []
