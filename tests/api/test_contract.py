"""The OpenAPI document tells the truth about errors, nulls, booleans and the mobile answers."""

from fieldsvc.extensions import db
from fieldsvc.models import Part

PROBLEM = "application/problem+json"
METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation, item.get("parameters", [])


def _resolve(spec, response):
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_every_error_response_is_a_problem_with_the_problem_schema(client):
    spec = client.get("/api/openapi.json").json
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    for path, method, operation, _ in _operations(spec):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                content = _resolve(spec, response)["content"]
                assert list(content) == [PROBLEM], (method, path, status)
                assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_every_operation_lists_the_errors_it_can_answer(client):
    spec = client.get("/api/openapi.json").json
    for path, method, operation, path_parameters in _operations(spec):
        statuses = set(operation["responses"])
        assert {"401", "403"} <= statuses, (method, path)
        if path_parameters or "{" in path:
            assert "404" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= statuses, (method, path)
        if method != "get":
            assert {"409", "429"} <= statuses, (method, path)
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert token["security"] == [] and "401" in token["responses"]
    job_write = spec["paths"]["/api/mobile/v1/jobs/{job_id}/status"]["post"]
    assert "412" in job_write["responses"]


def test_the_documented_statuses_are_the_ones_answered(client, make):
    """404, 422, 400 and 405 arrive as problem+json, as documented."""
    assert client.get("/api/v1/customers/999999").mimetype == PROBLEM
    refused = client.post("/api/v1/customers", json={"name": ""})
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    assert refused.json["errors"]["name"]
    malformed = client.post("/api/v1/customers", data="{", content_type="application/json")
    assert malformed.status_code == 400 and malformed.mimetype == PROBLEM


def test_read_only_fields_that_can_be_null_are_declared_nullable(client):
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    expected = {
        "Customer": ["erased_at"],
        "WorkOrder": ["arrived_at", "completed_at", "technician_id", "first_time_fix"],
        "Ticket": ["closed_at"],
        "Interaction": ["callback_done_at", "callback_due_at"],
        "AuditEntry": ["actor_id", "entity_id", "changes"],
        "Rma": ["defective_serial", "disposition", "return_deadline"],
        "Run": ["error", "finished_at", "published_by_id"],
        "StockMovement": ["actor_id", "rma_id"],
        "TransitionOut": ["actor_id", "from_status", "lat", "lon"],
        "User": ["email", "technician_id", "last_login_at"],
    }
    for schema, names in expected.items():
        properties = schemas[schema]["properties"]
        for name in names:
            assert properties[name].get("nullable") is True, f"{schema}.{name}"


def test_null_answers_match_the_document(client, make):
    customer = make.customer()
    answer = client.get(f"/api/v1/customers/{customer.id}")
    assert answer.status_code == 200 and answer.json["erased_at"] is None
    site = make.site(customer)
    created = client.post("/api/v1/work-orders", json={"summary": "Jam", "site_id": site.id})
    assert created.status_code == 201
    assert created.json["arrived_at"] is None and created.json["technician_id"] is None


def test_json_booleans_refuse_numbers_and_words_and_write_nothing(client, app):
    for value in (1, 0, "true", "yes"):
        answer = client.post("/api/v1/parts",
                             json={"sku": "TN-1", "name": "Toner", "serialized": value})
        assert answer.status_code == 422, value
        assert answer.mimetype == PROBLEM
        assert "serialized" in answer.json["errors"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Part.id))) == 0
    accepted = client.post("/api/v1/parts",
                           json={"sku": "TN-1", "name": "Toner", "serialized": True})
    assert accepted.status_code == 201 and accepted.json["serialized"] is True


def test_money_is_documented_as_the_decimal_string_it_is(client, make):
    spec = client.get("/api/openapi.json").json
    unit_cost = spec["components"]["schemas"]["Part"]["properties"]["unit_cost"]
    assert unit_cost["type"] == "string" and unit_cost["format"] == "decimal"
    created = client.post("/api/v1/parts", json={"sku": "P-1", "name": "Fuser",
                                                 "unit_cost": "12.50"})
    assert created.json["unit_cost"] == "12.50"


def test_every_mobile_operation_documents_its_success_answer(client):
    spec = client.get("/api/openapi.json").json
    mobile = [(p, m, op) for p, m, op, _ in _operations(spec) if p.startswith("/api/mobile/")]
    assert len(mobile) >= 9
    for path, method, operation in mobile:
        success = {s: r for s, r in operation["responses"].items()
                   if s != "default" and int(s) < 300}
        assert success, (method, path)
        for response in success.values():
            content = _resolve(spec, response).get("content", {})
            assert content and all("schema" in c for c in content.values()), (method, path)
    day = spec["paths"]["/api/mobile/v1/day"]["get"]["responses"]
    assert "304" in day
    job = spec["components"]["schemas"]["JobOut"]["properties"]
    assert {"version", "status", "customer", "site", "asset", "parts", "times"} <= set(job)
