"""Bad input at the edges answers a 4xx, never a 500, on both databases: JSON nested too
deeply, integers beyond 64 bits, a time of day with an offset, a chunked body over the
size limit, and seed-demo on a database without its schema."""

from __future__ import annotations

import json
import re

import pytest
from marshmallow import fields
from sqlalchemy import text

from fieldsvc import create_app
from fieldsvc.cli import cli
from fieldsvc.extensions import db
from fieldsvc.models import Customer, ServiceContract, Site
from fieldsvc.request_body import MAX_JSON_DEPTH
from fieldsvc.schemas.common import OUT_OF_RANGE_MESSAGE

BIG = 2**64


def _discovery_app():
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SECRET_KEY": "discovery"})


def _every_api_route() -> list[tuple[str, str]]:
    """(method, path with ids filled in) of every API route."""
    routes = set()
    for rule in _discovery_app().url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    return sorted(routes)


def _schemas(view):
    view_class = getattr(view, "view_class", None)
    methods = {m: getattr(view_class, m.lower()) for m in ("GET", "POST")
               if view_class is not None and hasattr(view_class, m.lower())}
    return methods or {"ANY": view}


def _integer_inputs() -> dict[tuple[str, str], list[str]]:
    """{(method, path): keys} of every integer query argument of a list and every integer
    body field of a create, on collections of /api/v1 (no id in the path)."""
    found: dict[tuple[str, str], set[str]] = {}
    for rule in _discovery_app().url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<" in rule.rule:
            continue
        for method, view in _schemas(_discovery_app().view_functions[rule.endpoint]).items():
            for argument in getattr(view, "_apidoc", {}).get("arguments", {}).get(
                    "parameters", []):
                location = argument.get("in", argument.get("location", "json"))
                verb = "GET" if location == "query" else "POST"
                if method not in ("ANY", verb) or verb not in rule.methods:
                    continue
                schema = argument["schema"]
                schema = schema() if isinstance(schema, type) else schema
                for name, field in schema.load_fields.items():
                    if isinstance(field, fields.Integer):
                        found.setdefault((verb, rule.rule), set()).add(field.data_key or name)
    return {route: sorted(keys) for route, keys in sorted(found.items())}


API_ROUTES = _every_api_route()
INTEGER_INPUTS = _integer_inputs()
INTEGER_ROUTES = list(INTEGER_INPUTS)


def test_discovery_finds_routes_and_integer_inputs():
    assert len(API_ROUTES) > 100
    assert "customer_id" in INTEGER_INPUTS[("GET", "/api/v1/sites")]
    assert "customer_id" in INTEGER_INPUTS[("POST", "/api/v1/sites")]
    assert sum(map(len, INTEGER_INPUTS.values())) > 100


def test_json_nested_five_thousand_deep_is_400_on_every_api_path(client):
    answers = {}
    for method, path in API_ROUTES:
        response = client.open(path, method=method, data="[" * 5000,
                               content_type="application/json")
        answers[(method, path)] = (response.status_code, response.mimetype,
                                   "nested deeper" in (response.json or {}).get("detail", ""))
    wrong = {route: answer for route, answer in answers.items()
             if answer != (400, "application/problem+json", True)}
    assert wrong == {}


def test_nesting_is_refused_past_the_limit_only(client):
    def nested(depth):
        return json.dumps({"name": "Acme", "x": json.loads("[" * (depth - 1) + "]" * (depth - 1))})

    assert client.post("/api/v1/customers", data=nested(MAX_JSON_DEPTH + 1),
                       content_type="application/json").status_code == 400
    # Within the limit the schema answers (here: "x" is not a field).
    within = client.post("/api/v1/customers", data=nested(MAX_JSON_DEPTH),
                         content_type="application/json")
    assert within.status_code == 422 and "x" in within.json["errors"]


@pytest.mark.parametrize(("method", "path"), INTEGER_ROUTES,
                         ids=[f"{m} {p}" for m, p in INTEGER_ROUTES])
def test_integers_beyond_64_bits_are_422_on_both_databases(client, method, path):
    for key in INTEGER_INPUTS[(method, path)]:
        for value in (BIG, -BIG):
            if method == "GET":
                response = client.get(path, query_string={key: str(value)})
            else:
                response = client.post(path, json={key: value})
            assert response.status_code == 422, (key, value, response.json)
            assert response.json["errors"][key] == [OUT_OF_RANGE_MESSAGE], key


def test_a_complete_write_with_a_huge_id_changes_nothing(app, client, make):
    customer = make.customer()
    body = {"customer_id": customer.id, "name": "Depot", "latitude": 35.7, "longitude": 51.4}
    huge = client.post("/api/v1/sites", json={**body, "customer_id": 2**63})
    assert huge.status_code == 422 and huge.json["errors"] == {
        "customer_id": [OUT_OF_RANGE_MESSAGE]}
    listed = client.get("/api/v1/sites", query_string={"customer_id": str(-2**63 - 1)})
    assert listed.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Site.id))) == 0
    assert client.post("/api/v1/sites", json=body).status_code == 201


def test_time_of_day_with_an_offset_is_422(app, client, make):
    customer = make.customer()
    body = {"number": "C-100", "customer_id": customer.id, "name": "Gold",
            "starts_on": "2025-01-01", "ends_on": "2025-12-31"}
    for key, value in (("coverage_end", "11:49:38Z"), ("coverage_start", "08:00+03:30")):
        response = client.post("/api/v1/contracts", json={**body, key: value})
        assert response.status_code == 422, response.json
        assert "offset" in response.json["errors"][key][0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ServiceContract.id))) == 0
    made = client.post("/api/v1/contracts", json={**body, "coverage_end": "11:49:38"})
    assert made.status_code == 201 and made.json["coverage_end"].startswith("11:49:38")


def _chunked(client, path, body: bytes):
    """POST `body` as a server presents a chunked request: no Content-Length, the input
    stream terminated by the server (gunicorn, waitress)."""
    return client.post(path, data=body, content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True,
                                          "HTTP_TRANSFER_ENCODING": "chunked"},
                       headers={"Content-Length": ""})


def test_chunked_body_over_the_size_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    over = json.dumps({"name": "x" * 3000}).encode()
    response = _chunked(client, "/api/v1/customers", over)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    exact = json.dumps({"name": "Acme", "notes": " " * 10}).encode()
    fits = _chunked(client, "/api/v1/customers", exact)
    assert fits.status_code == 201, fits.json
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1


def test_seed_demo_without_the_schema_says_to_upgrade(app, backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        # An empty schema of our own database, put first on the search path.
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS seed_empty CASCADE"))
            conn.execute(text("CREATE SCHEMA seed_empty"))
        url = (app.config["SQLALCHEMY_DATABASE_URI"]
               + ("&" if "?" in app.config["SQLALCHEMY_DATABASE_URI"] else "?")
               + "options=-csearch_path%3Dseed_empty")
    empty = create_app({"SQLALCHEMY_DATABASE_URI": url,
                        "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        result = empty.test_cli_runner().invoke(cli, ["seed-demo"])
        assert result.exit_code == 1
        assert "has no tables yet" in result.output
        assert "fieldsvc db upgrade" in result.output
        assert "Traceback" not in result.output and result.exception is not None
        assert isinstance(result.exception, SystemExit)
    finally:
        with empty.app_context():
            db.engine.dispose()
        if backend != "sqlite":
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA seed_empty CASCADE"))


