"""/api/v1/work-orders: create, list, change and delete, with every kind of bad input."""

from datetime import UTC, datetime, timedelta

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder, WorkOrderTransition
from tests.services.conftest import PROBLEM


def _count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_create_with_requirements_and_read_back(client, make):
    site = make.site()
    skill = make.skill()
    part = make.part()
    asset = make.asset(site.customer, site=site)
    ticket = make.ticket(site.customer)
    created = client.post("/api/v1/work-orders", json={
        "type": "installation", "priority": 2, "summary": "Install printer",
        "description": "Third floor", "customer_id": site.customer_id, "site_id": site.id,
        "asset_id": asset.id, "ticket_id": ticket.id, "estimated_minutes": 90, "pinned": True,
        "skills": [{"skill_id": skill.id, "min_level": 3}],
        "parts": [{"part_id": part.id, "quantity": 2}],
        "time_windows": [
            {"starts_at": "2030-01-02T13:00:00+03:30", "ends_at": "2030-01-02T17:00:00+03:30"},
            {"starts_at": "2030-01-01T08:00:00+03:30", "ends_at": "2030-01-01T12:00:00+03:30"},
        ],
    })
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"].endswith(f"/api/v1/work-orders/{body['id']}")
    assert body["status"] == "new" and body["version"] == 1
    got = client.get(f"/api/v1/work-orders/{body['id']}").json
    assert got["skills"] == [{"skill_id": skill.id, "min_level": 3}]
    assert got["parts"] == [{"part_id": part.id, "quantity": 2, "reserved": 0, "issued": 0,
                             "reserved_warehouse_id": None, "missing": 2}]
    # Windows come back ordered, in UTC.
    assert [w["starts_at"] for w in got["time_windows"]] == [
        "2030-01-01T04:30:00+00:00", "2030-01-02T09:30:00+00:00"]
    assert got["type"] == "installation" and got["pinned"] is True
    history = client.get(f"/api/v1/work-orders/{body['id']}/transitions").json
    assert [(t["from_status"], t["to_status"]) for t in history["items"]] == [(None, "new")]


def test_site_is_implied_when_unambiguous(client, make):
    customer = make.customer()
    only_site = make.site(customer)
    assert client.post("/api/v1/work-orders", json={
        "summary": "x", "customer_id": customer.id}).json["site_id"] == only_site.id
    make.site(customer)
    several = client.post("/api/v1/work-orders", json={"summary": "x",
                                                       "customer_id": customer.id})
    assert several.status_code == 422 and "site_id" in several.json["errors"]
    lonely = make.customer()
    none = client.post("/api/v1/work-orders", json={"summary": "x", "customer_id": lonely.id})
    assert none.status_code == 422 and "site_id" in none.json["errors"]


def test_create_refuses_bad_input_and_writes_nothing(client, make, app):
    site = make.site()
    foreign_site = make.site()
    foreign_asset = make.asset(foreign_site.customer, site=foreign_site)
    skill = make.skill()
    window = {"starts_at": "2030-01-01T08:00:00+03:30", "ends_at": "2030-01-01T12:00:00+03:30"}
    cases = [
        ({}, {"summary"}),
        ({"summary": "", "site_id": site.id}, {"summary"}),
        ({"summary": "x" * 201, "site_id": site.id}, {"summary"}),
        ({"summary": "x", "site_id": site.id, "priority": 5}, {"priority"}),
        ({"summary": "x", "site_id": site.id, "priority": "1"}, {"priority"}),
        ({"summary": "x", "site_id": site.id, "type": "repair"}, {"type"}),
        ({"summary": "x", "site_id": site.id, "estimated_minutes": 0}, {"estimated_minutes"}),
        ({"summary": "x", "site_id": site.id, "status": "completed"}, {"status"}),
        ({"summary": "x", "site_id": site.id, "technician_id": 1}, {"technician_id"}),
        ({"summary": "x", "site_id": site.id, "colour": "red"}, {"colour"}),
        ({"summary": "x", "site_id": 999}, {"site_id"}),
        ({"summary": "x", "site_id": site.id, "ticket_id": 999}, {"ticket_id"}),
        ({"summary": "x", "site_id": foreign_site.id, "customer_id": site.customer_id},
         {"site_id"}),
        ({"summary": "x", "site_id": site.id, "asset_id": foreign_asset.id}, {"asset_id"}),
        ({"summary": "x", "site_id": site.id, "skills": [{"skill_id": 999}]}, {"skills"}),
        ({"summary": "x", "site_id": site.id,
          "skills": [{"skill_id": skill.id}, {"skill_id": skill.id}]}, {"skills"}),
        ({"summary": "x", "site_id": site.id,
          "skills": [{"skill_id": skill.id, "min_level": 6}]}, {"skills"}),
        ({"summary": "x", "site_id": site.id, "parts": [{"part_id": 999, "quantity": 1}]},
         {"parts"}),
        ({"summary": "x", "site_id": site.id, "parts": [{"part_id": 1, "quantity": 0}]},
         {"parts"}),
        ({"summary": "x", "site_id": site.id,
          "time_windows": [{"starts_at": "2030-01-01T08:00:00",
                            "ends_at": "2030-01-01T12:00:00+03:30"}]}, {"time_windows"}),
        ({"summary": "x", "site_id": site.id,
          "time_windows": [{"starts_at": window["ends_at"], "ends_at": window["starts_at"]}]},
         {"time_windows"}),
        ({"summary": "x", "site_id": site.id, "time_windows": [window, window]},
         {"time_windows"}),
        ({"summary": "x", "site_id": site.id, "time_windows": "soon"}, {"time_windows"}),
    ]
    for body, fields in cases:
        response = client.post("/api/v1/work-orders", json=body)
        assert response.status_code == 422, (body, response.json)
        assert response.mimetype == PROBLEM
        assert set(response.json["errors"]) == fields, (body, response.json)
    assert _count(app, WorkOrder) == 0
    assert _count(app, WorkOrderTransition) == 0


def test_list_filters_and_sorting(client, make, wo_api):
    north = make.site(territory="north")
    south = make.site(territory="south")
    tech = make.technician()
    a = wo_api.create(site_id=north.id, priority=3)
    b = wo_api.create(site_id=south.id, priority=1, type="preventive")
    c = wo_api.create(site_id=south.id, priority=2)
    # A late call-out after the shift: the dispatcher overrides the planning rules.
    wo_api.move(b["id"], "scheduled", technician_id=tech.id,
                scheduled_start_at="2030-03-01T23:00:00+03:30",
                override_reason="customer asked for a late visit")
    wo_api.move(c["id"], "cancelled", reason="duplicate")

    def ids(**query):
        response = client.get("/api/v1/work-orders", query_string=query)
        assert response.status_code == 200, response.json
        return [w["id"] for w in response.json["items"]]

    assert ids(status="new,scheduled", sort="id") == [a["id"], b["id"]]
    assert ids(status="cancelled") == [c["id"]]
    assert ids(territory="south", sort="-priority") == [c["id"], b["id"]]
    assert ids(sort="priority") == [b["id"], c["id"], a["id"]]
    assert ids(type="preventive") == [b["id"]]
    assert ids(priority=3) == [a["id"]]
    assert ids(technician_id=tech.id) == [b["id"]]
    assert ids(customer_id=north.customer_id) == [a["id"]]
    assert ids(site_id=south.id, sort="id") == [b["id"], c["id"]]
    # 23:00 Tehran on March 1st is 19:30 UTC the same day.
    assert ids(date="2030-03-01") == [b["id"]]
    assert ids(date="2030-03-02") == []
    assert ids(sla_breached="true") == []
    assert ids(sla_breached="false", sort="id") == [a["id"], b["id"], c["id"]]
    assert ids(sort="response_due_at")[0] == b["id"]
    for bad in [{"status": "new,flying"}, {"status": ""}, {"priority": 9}, {"date": "01/03"},
                {"sort": "summary"}, {"sla_breached": "maybe"}, {"colour": "red"}]:
        assert client.get("/api/v1/work-orders", query_string=bad).status_code == 422, bad


def test_sla_breached_filter_finds_overdue_work(client, make, app, wo_api):
    site = make.site()
    late = wo_api.create(site_id=site.id)
    on_time = wo_api.create(site_id=site.id)
    with app.app_context():
        row = db.session.get(WorkOrder, late["id"])
        row.response_due_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
    found = client.get("/api/v1/work-orders?sla_breached=true").json["items"]
    assert [w["id"] for w in found] == [late["id"]]
    fine = client.get("/api/v1/work-orders?sla_breached=false").json["items"]
    assert [w["id"] for w in fine] == [on_time["id"]]


def test_patch_changes_dispatcher_fields_and_replaces_lists(client, make, wo_api):
    site = make.site()
    s1, s2 = make.skill(), make.skill()
    p1, p2 = make.part(), make.part()
    tech = make.technician(skills={s2: 2})
    wo = wo_api.create(site_id=site.id, skills=[{"skill_id": s1.id}],
                       parts=[{"part_id": p1.id, "quantity": 1}])
    changed = client.patch(f"/api/v1/work-orders/{wo['id']}", json={
        "description": "Bring a ladder", "estimated_minutes": 45, "pinned": True,
        "skills": [{"skill_id": s2.id, "min_level": 2}],
        "parts": [{"part_id": p2.id, "quantity": 4}],
        "time_windows": [],
        "technician_id": tech.id, "scheduled_start_at": "2030-01-01T09:00:00+00:00",
    })
    assert changed.status_code == 200, changed.json
    body = changed.json
    assert body["skills"] == [{"skill_id": s2.id, "min_level": 2}]
    assert [(p["part_id"], p["quantity"]) for p in body["parts"]] == [(p2.id, 4)]
    assert body["technician_id"] == tech.id and body["estimated_minutes"] == 45
    assert body["scheduled_end_at"] == "2030-01-01T09:45:00+00:00"
    assert body["status"] == "new"  # assigning is not scheduling
    assert body["version"] > wo["version"]
    # Skills untouched when not given.
    again = client.patch(f"/api/v1/work-orders/{wo['id']}", json={"pinned": False})
    assert again.json["skills"] == body["skills"]


def test_patch_refuses_status_bad_fields_and_late_reassignment(client, make, wo_api):
    site = make.site()
    tech = make.technician()
    wo = wo_api.create(site_id=site.id)
    for body, field in [({"status": "completed"}, "status"), ({"priority": 0}, "priority"),
                        ({"technician_id": 999}, "technician_id"),
                        ({"scheduled_start_at": "2030-01-01T09:00:00"}, "scheduled_start_at"),
                        ({"customer_id": 2}, "customer_id"), ({"summary": ""}, "summary")]:
        response = client.patch(f"/api/v1/work-orders/{wo['id']}", json=body)
        assert response.status_code == 422, body
        assert field in response.json["errors"]
    assert wo_api.get(wo["id"])["status"] == "new"
    assert client.patch("/api/v1/work-orders/999", json={"pinned": True}).status_code == 404

    wo_api.move(wo["id"], "scheduled", technician_id=tech.id,
                scheduled_start_at="2030-01-01T09:00:00+03:30")
    unassign = client.patch(f"/api/v1/work-orders/{wo['id']}", json={"technician_id": None})
    assert unassign.status_code == 409
    wo_api.move(wo["id"], "dispatched")
    wo_api.move(wo["id"], "en_route")
    late = client.patch(f"/api/v1/work-orders/{wo['id']}",
                        json={"technician_id": make.technician().id})
    assert late.status_code == 409 and late.json["current_status"] == "en_route"
    assert wo_api.get(wo["id"])["technician_id"] == tech.id
    # Other fields still change while en route.
    assert client.patch(f"/api/v1/work-orders/{wo['id']}",
                        json={"description": "gate code 1234"}).status_code == 200
    wo_api.move(wo["id"], "cancelled", reason="customer called off")
    final = client.patch(f"/api/v1/work-orders/{wo['id']}", json={"description": "x"})
    assert final.status_code == 409


def test_delete_only_new_untouched_work_orders(client, make, wo_api, app):
    site = make.site()
    tech = make.technician()
    fresh = wo_api.create(site_id=site.id)
    assert client.delete(f"/api/v1/work-orders/{fresh['id']}").status_code == 204
    assert client.get(f"/api/v1/work-orders/{fresh['id']}").status_code == 404
    used = wo_api.create(site_id=site.id)
    wo_api.move(used["id"], "scheduled", technician_id=tech.id,
                scheduled_start_at="2030-01-01T09:00:00+03:30")
    refused = client.delete(f"/api/v1/work-orders/{used['id']}")
    assert refused.status_code == 409 and "cancel" in refused.json["detail"]
    # Unscheduled back to new: still has a history.
    wo_api.move(used["id"], "new")
    assert client.delete(f"/api/v1/work-orders/{used['id']}").status_code == 409
    assert wo_api.get(used["id"])["status"] == "new"
    assert client.delete("/api/v1/work-orders/999").status_code == 404


def test_delete_removes_requirements_with_the_work_order(client, make, wo_api, app):
    site = make.site()
    wo = wo_api.create(site_id=site.id, skills=[{"skill_id": make.skill().id}],
                       parts=[{"part_id": make.part().id, "quantity": 1}],
                       time_windows=[{"starts_at": "2030-01-01T08:00:00Z",
                                      "ends_at": "2030-01-01T10:00:00Z"}])
    assert client.delete(f"/api/v1/work-orders/{wo['id']}").status_code == 204
    assert _count(app, WorkOrder) == 0 and _count(app, WorkOrderTransition) == 0


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/work-orders/{ident}/transitions"])
    assert "post" in paths["/api/v1/tickets/{ident}/work-orders"]
    assert "get" in paths["/api/v1/stock-movements/levels"]
    ledger_item = paths["/api/v1/stock-movements/{ident}"]
    assert "get" in ledger_item
    assert "patch" not in ledger_item and "delete" not in ledger_item


def test_technician_records_resolution_and_checklist_but_nothing_else(make, client_as):
    tech = make.technician()
    wo = make.work_order(technician_id=tech.id)
    phone = client_as("technician", technician_id=tech.id)
    answered = phone.patch(f"/api/v1/work-orders/{wo.id}", json={
        "resolution": "Replaced fuser", "resolution_code": "FUSER",
        "checklist": [{"item": "Clean rollers", "done": True}]})
    assert answered.status_code == 200, answered.json
    assert answered.json["checklist"] == [{"item": "Clean rollers", "done": True}]
    assert answered.json["resolution_code"] == "FUSER"
    refused = phone.patch(f"/api/v1/work-orders/{wo.id}", json={"priority": 1})
    assert refused.status_code == 403
    bad = phone.patch(f"/api/v1/work-orders/{wo.id}", json={"checklist": [{"done": True}]})
    assert bad.status_code == 422


def test_a_work_order_on_an_asset_without_skills_takes_its_products_skills(client, make):
    site = make.site()
    car, brakes, printer = make.skill("car"), make.skill("brakes"), make.skill("printer")
    samand = make.product(kind="car")
    make.product_skill(samand, car, 3)
    make.product_skill(samand, brakes, 1)
    asset = make.asset(site.customer, product=samand, site=site, vin="NAAN01CA9XK123457")
    unknown = make.asset(site.customer, site=site)  # its product declares nothing
    base = {"summary": "Brakes squeal", "priority": 1, "site_id": site.id}
    taken = client.post("/api/v1/work-orders", json=base | {"asset_id": asset.id})
    assert taken.status_code == 201, taken.json
    assert client.get(f"/api/v1/work-orders/{taken.json['id']}").json["skills"] == [
        {"skill_id": car.id, "min_level": 3}, {"skill_id": brakes.id, "min_level": 1}]
    # The caller who says the job needs no skill is taken at their word.
    empty = client.post("/api/v1/work-orders", json=base | {"asset_id": asset.id, "skills": []})
    assert empty.status_code == 201 and empty.json["skills"] == []
    # Skills given explicitly replace the product's.
    given = client.post("/api/v1/work-orders", json=base | {
        "asset_id": asset.id, "skills": [{"skill_id": printer.id, "min_level": 2}]})
    assert given.json["skills"] == [{"skill_id": printer.id, "min_level": 2}]
    # No asset, or an asset whose product declares nothing: no skills.
    assert client.post("/api/v1/work-orders", json=base).json["skills"] == []
    assert client.post("/api/v1/work-orders",
                       json=base | {"asset_id": unknown.id}).json["skills"] == []
    # A work order opened from a ticket on the asset takes them the same way.
    ticket = make.ticket(site.customer, asset_id=asset.id)
    from_ticket = client.post(f"/api/v1/tickets/{ticket.id}/work-orders",
                              json={"site_id": site.id})
    assert from_ticket.status_code == 201, from_ticket.json
    assert from_ticket.json["skills"] == [{"skill_id": car.id, "min_level": 3},
                                          {"skill_id": brakes.id, "min_level": 1}]


def test_openapi_says_where_missing_skills_come_from(client):
    spec = client.get("/api/openapi.json").json
    create = spec["components"]["schemas"]["WorkOrderCreate"]["properties"]["skills"]
    assert "product" in create["description"] and "[]" in create["description"]
    product = spec["components"]["schemas"]["Product"]["properties"]["skills"]
    assert "min_level" in product["description"]
