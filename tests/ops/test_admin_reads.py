"""Users, audit log and optimization runs."""

from datetime import date

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, Interaction, OptimizationRun, User
from fieldsvc.models.enums import RunStatus
from fieldsvc.services.users import verify_password


def _user(**kw):
    body = {"username": "sara", "password": "correct horse", "role": "agent",
            "full_name": "Sara A.", "email": "sara@example.com"}
    body.update(kw)
    return body


def _users(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(User.id)))


def _hash(app, ident):
    with app.app_context():
        return db.session.get(User, ident).password_hash


def test_create_user_never_shows_password_or_hash(client, app):
    created = client.post("/api/v1/users", json=_user())
    assert created.status_code == 201, created.json
    assert "password" not in created.json and "password_hash" not in created.json
    ident = created.json["id"]
    assert verify_password(_hash(app, ident), "correct horse")
    for response in (client.get(f"/api/v1/users/{ident}"), client.get("/api/v1/users"),
                     client.get("/api/v1/audit-log")):
        assert b"password_hash" not in response.data
        assert b"argon2" not in response.data
    assert client.post("/api/v1/users", json=_user()).status_code == 409


@pytest.mark.parametrize("change, field", [
    ({"password": "short"}, "password"), ({"username": ""}, "username"),
    ({"username": "has space"}, "username"), ({"username": "u" * 81}, "username"),
    ({"role": "root"}, "role"), ({"email": "nope"}, "email"),
    ({"role": "technician"}, "technician_id"), ({"role": "dealership"}, "dealership_id"),
    ({"technician_id": 999}, "technician_id"), ({"password_hash": "x"}, "password_hash"),
    ({"active": False}, "active"),
])
def test_invalid_users_are_422(client, app, change, field):
    before = _users(app)
    response = client.post("/api/v1/users", json=_user(**change))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert _users(app) == before


def test_role_links_on_create_and_patch(client, make, app):
    tech = make.technician()
    dealer = make.dealership()
    created = client.post("/api/v1/users", json=_user(role="technician",
                                                      technician_id=tech.id))
    assert created.status_code == 201, created.json
    ident = created.json["id"]
    second = client.post("/api/v1/users", json=_user(username="twin", role="technician",
                                                     technician_id=tech.id))
    assert second.status_code == 409
    wrong = client.patch(f"/api/v1/users/{ident}",
                         json={"role": "agent", "dealership_id": dealer.id})
    assert wrong.status_code == 422 and "dealership_id" in wrong.json["errors"]
    needs_link = client.patch(f"/api/v1/users/{ident}", json={"role": "dealership"})
    assert needs_link.status_code == 422
    moved = client.patch(f"/api/v1/users/{ident}",
                         json={"role": "dealership", "dealership_id": dealer.id})
    assert moved.status_code == 200, moved.json
    assert moved.json["technician_id"] is None and moved.json["dealership_id"] == dealer.id
    assert client.patch(f"/api/v1/users/{ident}",
                        json={"username": "renamed"}).status_code == 422


def test_patch_password_and_fields(client, app):
    ident = client.post("/api/v1/users", json=_user()).json["id"]
    before = _hash(app, ident)
    assert client.patch(f"/api/v1/users/{ident}", json={"password": "tiny"}).status_code == 422
    assert _hash(app, ident) == before
    changed = client.patch(f"/api/v1/users/{ident}",
                           json={"password": "a new passphrase", "full_name": "Sara B.",
                                 "active": False})
    assert changed.status_code == 200
    assert changed.json["full_name"] == "Sara B." and changed.json["active"] is False
    assert verify_password(_hash(app, ident), "a new passphrase")
    with app.app_context():
        update = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.entity_type == "user_account", AuditEntry.entity_id == str(ident),
            AuditEntry.action == "update")).one()
        assert update.changes["password_hash"] == ["***", "***"]
    shown = client.get(f"/api/v1/audit-log?entity_type=user_account&entity_id={ident}"
                       "&action=update")
    assert shown.json["items"][0]["changes"]["password"] == ["***", "***"]
    assert client.get("/api/v1/users?active=false").json["total"] == 1


def test_delete_user_without_history_removes_it_with_history_deactivates(client, app):
    fresh = client.post("/api/v1/users", json=_user()).json["id"]
    assert client.delete(f"/api/v1/users/{fresh}").status_code == 204
    assert client.get(f"/api/v1/users/{fresh}").status_code == 404
    busy = client.post("/api/v1/users", json=_user(username="busy")).json["id"]
    with app.app_context():
        db.session.add(Interaction(channel="call", agent_id=busy))
        db.session.commit()
    assert client.delete(f"/api/v1/users/{busy}").status_code == 204
    kept = client.get(f"/api/v1/users/{busy}")
    assert kept.status_code == 200 and kept.json["active"] is False


# Audit log -------------------------------------------------------------------------------

def test_audit_log_filters_and_is_read_only(client, make):
    customer = client.post("/api/v1/customers", json={"name": "Audited"}).json["id"]
    client.patch(f"/api/v1/customers/{customer}", json={"tier": "loyal"})
    entries = client.get(f"/api/v1/audit-log?entity_type=customer&entity_id={customer}")
    assert [e["action"] for e in entries.json["items"]] == ["update", "create"]
    assert entries.json["items"][0]["changes"]["tier"] == ["standard", "loyal"]
    updates = client.get("/api/v1/audit-log?action=update&entity_type=customer"
                         "&from=2000-01-01T00:00:00Z")
    assert updates.json["total"] == 1
    none = client.get("/api/v1/audit-log?to=2000-01-01T00:00:00Z")
    assert none.json["total"] == 0
    ident = entries.json["items"][0]["id"]
    assert client.get(f"/api/v1/audit-log/{ident}").json["entity_type"] == "customer"
    assert client.get("/api/v1/audit-log/999999").status_code == 404
    assert client.post("/api/v1/audit-log", json={}).status_code == 405
    assert client.delete(f"/api/v1/audit-log/{ident}").status_code == 405
    assert client.patch(f"/api/v1/audit-log/{ident}", json={}).status_code == 405
    assert client.get("/api/v1/audit-log?actor_id=x").status_code == 422
    assert client.get("/api/v1/audit-log?from=2025-01-02T00:00:00Z"
                      "&to=2025-01-01T00:00:00Z").status_code == 422


# Optimization runs -----------------------------------------------------------------------

def test_runs_list_and_get_only(client, app):
    with app.app_context():
        db.session.add_all([
            OptimizationRun(plan_date=date(2025, 5, 4), territory="tehran",
                            status=RunStatus.FINISHED, input_snapshot={"jobs": [1, 2]},
                            result={"routes": []}),
            OptimizationRun(plan_date=date(2025, 5, 5), territory="karaj"),
        ])
        db.session.commit()
    runs = client.get("/api/v1/optimization-runs")
    assert runs.json["total"] == 2
    assert "input_snapshot" not in runs.json["items"][0]
    finished = client.get("/api/v1/optimization-runs?status=finished&territory=tehran"
                          "&plan_date=2025-05-04")
    assert finished.json["total"] == 1
    ident = finished.json["items"][0]["id"]
    got = client.get(f"/api/v1/optimization-runs/{ident}")
    assert got.json["result"] == {"routes": []} and got.json["status"] == "finished"
    assert client.get("/api/v1/optimization-runs?status=done").status_code == 422
    assert client.get("/api/v1/optimization-runs?plan_date=May").status_code == 422
    assert client.get("/api/v1/optimization-runs/999").status_code == 404
    assert client.delete(f"/api/v1/optimization-runs/{ident}").status_code == 405


def test_signed_in_user_cannot_delete_or_deactivate_themselves(client):
    me = getattr(client, "user_id", None)
    if me is None:
        pytest.skip("requests are anonymous until authentication lands")
    assert client.patch(f"/api/v1/users/{me}", json={"active": False}).status_code == 409
    assert client.delete(f"/api/v1/users/{me}").status_code == 409
    assert client.get(f"/api/v1/users/{me}").json["active"] is True
