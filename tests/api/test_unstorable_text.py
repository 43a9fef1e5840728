"""Text no database can store (NUL, a lone UTF-16 surrogate) is refused with 422 everywhere.

The create endpoints and their text fields are discovered from the schemas of the app's
routes, so a field added later is covered without touching this file.
"""

from __future__ import annotations

import pytest
from marshmallow import fields

from fieldsvc import create_app
from fieldsvc.extensions import db
from fieldsvc.models import Customer, User
from fieldsvc.schemas.common import UNSTORABLE_MESSAGE
from tests.access.test_console import csrf_from

UNSTORABLE = {"lone-surrogate": "ab\ud800cd", "nul": "ab\x00cd"}


def _json_schema(view):
    """The JSON body schema of a flask-smorest view function, if it has one."""
    for argument in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
        if argument.get("in", argument.get("location", "json")) in ("json", "body"):
            schema = argument["schema"]
            return schema() if isinstance(schema, type) else schema
    return None


def _create_text_fields() -> dict[str, list[str]]:
    """{path: JSON keys} of the text fields of every POST on a collection of the API."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SECRET_KEY": "discovery"})
    found: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or "<" in rule.rule or not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        view = getattr(getattr(view, "view_class", None), "post", view)
        schema = _json_schema(view)
        if schema is None:
            continue
        for name, field in schema.fields.items():
            text = isinstance(field, fields.String) or (
                isinstance(field, fields.List) and isinstance(field.inner, fields.String))
            if text and not field.dump_only:
                found.setdefault(rule.rule, []).append(field.data_key or name)
    return dict(sorted(found.items()))


CREATE_TEXT_FIELDS = _create_text_fields()


def test_discovery_finds_the_create_endpoints():
    assert {"/api/v1/customers", "/api/v1/users", "/api/v1/tickets", "/api/v1/work-orders",
            "/api/v1/rmas", "/api/v1/auth/token"} <= set(CREATE_TEXT_FIELDS)
    assert sum(map(len, CREATE_TEXT_FIELDS.values())) > 60


@pytest.mark.parametrize("path", CREATE_TEXT_FIELDS,
                         ids=[p.removeprefix("/api/") for p in CREATE_TEXT_FIELDS])
def test_unstorable_text_in_any_create_field_is_422(client, path):
    for key in CREATE_TEXT_FIELDS[path]:
        for kind, value in UNSTORABLE.items():
            response = client.post(path, json={key: value})
            assert response.status_code == 422, (key, kind, response.json)
            assert response.mimetype == "application/problem+json"
            message = response.json["errors"][key]
            assert message == [UNSTORABLE_MESSAGE] or message == {"0": [UNSTORABLE_MESSAGE]}


def test_a_complete_create_with_one_unstorable_field_stores_nothing(app, client):
    good = {"name": "Acme", "phone": "+98 21 1234 5678"}
    for key in good:
        for value in UNSTORABLE.values():
            response = client.post("/api/v1/customers", json={**good, key: value})
            assert response.status_code == 422
            assert response.json["errors"] == {key: [UNSTORABLE_MESSAGE]}
    refused = client.post("/api/v1/users", json={"username": "u\ud800", "password": "p" * 10,
                                                 "role": "agent"})
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0
        assert db.session.scalar(db.select(db.func.count(User.id))) == 1  # the admin
    assert client.post("/api/v1/customers", json=good).status_code == 201


def test_nested_and_query_text_is_refused_too(client):
    nested = client.post("/api/v1/work-orders", json={"required_skills": [{"x\ud800": 1}]})
    assert nested.status_code == 422
    listed = client.get("/api/v1/customers", query_string={"q": "a\x00b"})
    assert listed.status_code == 422 and listed.json["errors"] == {"q": [UNSTORABLE_MESSAGE]}


def test_sign_in_with_unstorable_text_is_422_not_500(app, anon_client):
    for value in UNSTORABLE.values():
        response = anon_client.post("/api/v1/auth/token",
                                    json={"username": value, "password": value})
        assert response.status_code == 422
        assert set(response.json["errors"]) == {"username", "password"}
    page = anon_client.get("/login")
    console = anon_client.post("/login", data={"csrf_token": csrf_from(page.data),
                                               "username": "a\x00b", "password": "x\x00"})
    assert console.status_code == 422
    assert UNSTORABLE_MESSAGE.encode() in console.data
