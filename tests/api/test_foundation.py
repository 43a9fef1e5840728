"""The API's common behaviour: health, OpenAPI, problem responses, lists, audit."""

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, Customer

PROBLEM = "application/problem+json"


def test_health_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_openapi_document_lists_resources_and_docs_page_renders(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.json["openapi"].startswith("3.")
    assert "/api/v1/customers" in spec.json["paths"]
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"/api/v1/customers" in page.data


def test_unknown_path_and_method_are_problems(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.mimetype == PROBLEM
    assert missing.json["status"] == 404
    wrong = client.put("/api/v1/customers")
    assert wrong.status_code == 405
    assert wrong.mimetype == PROBLEM
    assert "GET" in wrong.headers["Allow"]


def test_invalid_body_gives_field_errors_and_writes_nothing(client, app):
    response = client.post("/api/v1/customers",
                           json={"name": "", "tier": "gold", "email": "nope", "id": 5})
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    errors = response.json["errors"]
    assert set(errors) == {"name", "tier", "email", "id"}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0


def test_malformed_json_and_wrong_shapes_are_4xx(client):
    bad = client.post("/api/v1/customers", data="{not json", content_type="application/json")
    assert bad.status_code == 400
    assert bad.mimetype == PROBLEM
    wrong_shape = client.post("/api/v1/customers", json=[1, 2])
    assert wrong_shape.status_code == 422


def test_list_envelope_pagination_cap_and_sort(client, make):
    for name in ["Cyrus", "Anahita", "Bahram"]:
        make.customer(name=name)
    page = client.get("/api/v1/customers?per_page=2&sort=name")
    assert page.status_code == 200
    assert page.json["total"] == 3
    assert page.json["page"] == 1 and page.json["per_page"] == 2
    assert [c["name"] for c in page.json["items"]] == ["Anahita", "Bahram"]
    second = client.get("/api/v1/customers?per_page=2&page=2&sort=name")
    assert [c["name"] for c in second.json["items"]] == ["Cyrus"]
    capped = client.get("/api/v1/customers?per_page=100000")
    assert capped.json["per_page"] == 200
    bad_sort = client.get("/api/v1/customers?sort=password")
    assert bad_sort.status_code == 422 and "sort" in bad_sort.json["errors"]
    bad_page = client.get("/api/v1/customers?page=0")
    assert bad_page.status_code == 422
    unknown_filter = client.get("/api/v1/customers?colour=red")
    assert unknown_filter.status_code == 422


def test_create_get_update_delete_with_audit_trail(client, app):
    created = client.post("/api/v1/customers", json={"name": "Pars Print", "tier": "loyal"})
    assert created.status_code == 201
    ident = created.json["id"]
    assert created.headers["Location"].endswith(f"/api/v1/customers/{ident}")
    changed = client.patch(f"/api/v1/customers/{ident}", json={"tier": "priority"})
    assert changed.status_code == 200 and changed.json["tier"] == "priority"
    assert client.get(f"/api/v1/customers/{ident}").json["tier"] == "priority"
    assert client.delete(f"/api/v1/customers/{ident}").status_code == 204
    assert client.get(f"/api/v1/customers/{ident}").status_code == 404
    with app.app_context():
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.entity_type == "customer")
            .order_by(AuditEntry.id)
        ).all()
        assert [e.action for e in entries] == ["create", "update", "delete"]
        assert entries[1].changes["tier"] == ["loyal", "priority"]


def test_reference_to_missing_row_is_422_and_referenced_row_cannot_be_deleted(client, make):
    missing = client.post("/api/v1/sites", json={"name": "HQ", "customer_id": 999})
    assert missing.status_code == 422
    assert missing.json["errors"]["customer_id"] == ["No customer with id 999."]
    site = make.site()
    blocked = client.delete(f"/api/v1/customers/{site.customer_id}")
    assert blocked.status_code == 409
    assert client.get(f"/api/v1/customers/{site.customer_id}").status_code == 200


def test_customer_found_by_caller_number_in_any_format(client, make):
    make.customer(name="Caller", mobile="0912 345 6789")
    for number in ["+989123456789", "00989123456789", "09123456789", "912-345-6789"]:
        found = client.get("/api/v1/customers", query_string={"phone": number})
        assert [c["name"] for c in found.json["items"]] == ["Caller"], number


def test_control_characters_are_refused_alike_on_every_database(client):
    response = client.post("/api/v1/customers", json={"name": "Acme\x00Ltd"})
    assert response.status_code == 422
    assert "name" in response.json["errors"]
    assert client.get("/api/v1/customers").json["total"] == 0
