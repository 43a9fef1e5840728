"""The policy matrix, applied to every endpoint the app has right now (url_map-driven)."""

from __future__ import annotations

import re

import pytest

from fieldsvc.auth import policy
from fieldsvc.auth.guard import PUBLIC_API_PATHS

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NON_ADMIN = ("manager", "dispatcher", "agent", "technician", "dealership")


def api_endpoints(app, include_auth: bool = False) -> list[tuple[str, str, str]]:
    """(rule, method, concrete path) for every API endpoint, ids filled with 1.

    The token endpoints are left out unless asked for: refresh/revoke end the very token
    the sweep uses (they are covered in test_tokens.py).
    """
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in PUBLIC_API_PATHS:
            continue
        if rule.rule.startswith("/api/v1/auth/") and not include_auth:
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method, path))
    return found


@pytest.fixture
def role_clients(client_as, make):
    tech = make.technician()
    dealer = make.dealership()
    links = {"technician": {"technician_id": tech.id}, "dealership": {"dealership_id": dealer.id}}
    return {role: client_as(role, **links.get(role, {})) for role in NON_ADMIN}


def send(test_client, method: str, path: str):
    kwargs = {"json": {}} if method in WRITE_METHODS else {}
    return test_client.open(path, method=method, **kwargs)


def test_every_api_endpoint_needs_a_token(app, anon_client):
    endpoints = api_endpoints(app, include_auth=True)
    assert len(endpoints) > 10
    for rule, method, path in endpoints:
        response = send(anon_client, method, path)
        assert response.status_code == 401, (method, rule)
        assert response.mimetype == "application/problem+json"


def test_each_role_is_refused_what_the_matrix_denies_and_let_through_what_it_allows(
        app, role_clients):
    denied = allowed = 0
    for rule, method, path in api_endpoints(app):
        target = policy.classify(rule, method)
        for role, test_client in role_clients.items():
            response = send(test_client, method, path)
            if policy.allowed(role, target.resource, target.action):
                allowed += 1
                assert response.status_code not in (401, 403), (role, method, rule,
                                                                 response.json)
            else:
                denied += 1
                assert response.status_code == 403, (role, method, rule, response.status_code)
                assert response.mimetype == "application/problem+json"
    assert denied and allowed


def test_admin_passes_the_gate_everywhere(app, client):
    for rule, method, path in api_endpoints(app):
        if method == "DELETE":
            continue  # nothing to delete; the gate is the same for every method
        response = send(client, method, path)
        assert response.status_code not in (401, 403), (method, rule)


@pytest.mark.parametrize(("role", "resource", "action", "expected"), [
    ("agent", "stock-movements", "create", False),
    ("agent", "stock-movements", "read", False),
    ("agent", "users", "read", False),
    ("agent", "work-orders", "create", True),
    ("agent", "work-orders", "update", False),
    ("agent", "rmas", "create", True),
    ("agent", "customers", "read", True),
    ("agent", "customers", "delete", False),
    ("technician", "customers", "read", False),
    ("technician", "work-orders", "transition", True),
    ("technician", "work-orders", "delete", False),
    ("technician", "parts", "read", True),
    ("technician", "parts", "create", False),
    ("dealership", "work-orders", "read", False),
    ("dealership", "recall-appointments", "create", True),
    ("dealership", "recall-campaigns", "read", True),
    ("dealership", "recall-campaigns", "update", False),
    ("dispatcher", "audit-log", "read", False),
    ("dispatcher", "users", "read", False),
    ("dispatcher", "work-orders", "transition", True),
    ("dispatcher", "optimization-runs", "publish", True),
    ("dispatcher", "customers", "erase", False),
    ("manager", "audit-log", "read", True),
    ("manager", "users", "create", False),
    ("manager", "pm-plans", "create", True),
    ("manager", "customers", "erase", False),
    ("admin", "customers", "erase", True),
    ("admin", "anything-new", "frobnicate", True),
    ("manager", "anything-new", "read", False),
    ("dispatcher", "work-orders", "frobnicate", False),
])
def test_matrix_rules(role, resource, action, expected):
    assert policy.allowed(role, resource, action) is expected


@pytest.mark.parametrize(("rule", "method", "expected"), [
    ("/api/v1/work-orders", "GET", ("work-orders", "read", None)),
    ("/api/v1/work-orders", "POST", ("work-orders", "create", None)),
    ("/api/v1/work-orders/<int:ident>", "PATCH", ("work-orders", "update", "ident")),
    ("/api/v1/work-orders/<int:ident>", "DELETE", ("work-orders", "delete", "ident")),
    ("/api/v1/work-orders/<int:ident>/transitions", "POST",
     ("work-orders", "transition", "ident")),
    ("/api/v1/work-orders/<int:ident>/transitions", "GET", ("work-orders", "read", "ident")),
    ("/api/v1/optimization-runs/<int:ident>/publish", "POST",
     ("optimization-runs", "publish", "ident")),
    ("/api/v1/customers/<int:ident>/erase", "POST", ("customers", "erase", "ident")),
    ("/api/v1/recalls/lookup", "GET", ("recalls", "read", None)),
    ("/api/mobile/v1/jobs/<int:job_id>/status", "POST", ("mobile", "create", None)),
])
def test_classify(rule, method, expected):
    target = policy.classify(rule, method)
    assert (target.resource, target.action, target.item_arg) == expected


def test_audit_log_is_for_admin_and_manager_only(app, client, role_clients):
    if not any(r.rule == "/api/v1/audit-log" for r in app.url_map.iter_rules()):
        pytest.skip("audit-log endpoint not present yet")
    assert client.get("/api/v1/audit-log").status_code == 200
    assert role_clients["manager"].get("/api/v1/audit-log").status_code == 200
    for role in ("dispatcher", "agent", "technician", "dealership"):
        assert role_clients[role].get("/api/v1/audit-log").status_code == 403, role
