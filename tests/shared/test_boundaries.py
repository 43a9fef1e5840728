"""Rules free of the framework, and settings that do what README says."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Plain Python: the rules and the shared helpers never import the web framework.
FLASK_FREE = [*sorted((ROOT / "fieldsvc" / "services").glob("*.py")),
              *(ROOT / "fieldsvc" / name for name in ("problems.py", "vin.py", "csvfile.py",
                                                      "sql.py", "dates.py", "config.py")),
              ROOT / "rma" / "services.py"]
WEB = ("flask", "werkzeug", "flask_smorest", "flask_login", "flask_wtf")


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module == "fieldsvc" or node.module.startswith("fieldsvc.errors"):
                names.add(node.module)
    return names


@pytest.mark.parametrize("path", FLASK_FREE, ids=lambda p: str(p.relative_to(ROOT)))
def test_rules_do_not_import_flask(path):
    imports = _top_level_imports(path)
    assert not imports & set(WEB), imports & set(WEB)
    assert "fieldsvc.errors" not in imports  # problems come from fieldsvc.problems


def test_default_page_size_comes_from_the_configuration(app, client, make):
    for _ in range(3):
        make.customer()
    app.config["API_DEFAULT_PER_PAGE"] = 2
    body = client.get("/api/v1/customers").json
    assert (body["per_page"], len(body["items"]), body["total"]) == (2, 2, 3)
    assert client.get("/api/v1/customers?per_page=3").json["per_page"] == 3
    app.config["API_MAX_PER_PAGE"] = 1
    assert client.get("/api/v1/customers?per_page=3").json["per_page"] == 1


# Process set-up that runs before any app exists and speaks the environment's own protocol:
# gunicorn's configuration module, and prometheus-client's multi-process folder (the client
# reads PROMETHEUS_MULTIPROC_DIR itself at import).
PROCESS_SETUP = {"fieldsvc/gunicorn_conf.py", "fieldsvc/ops/metrics.py"}


def test_settings_are_read_in_config_only():
    readers = []
    for package in ("fieldsvc", "scheduler", "mobile_api", "rma"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path == ROOT / "fieldsvc" / "config.py":
                continue
            text = path.read_text()
            if str(path.relative_to(ROOT)) in PROCESS_SETUP:
                continue
            if "os.environ" in text or "getenv(" in text:
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []
