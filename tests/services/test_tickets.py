"""/api/v1/tickets: CRUD, filters, the status rules and work orders opened from a ticket."""

from datetime import UTC, datetime, timedelta

from fieldsvc.extensions import db
from fieldsvc.models import Ticket, WorkOrder
from tests.services.conftest import PROBLEM

URL = "/api/v1/tickets"


def _ticket(client, customer, **body):
    payload = {"customer_id": customer.id, "channel": "phone", "category": "complaint",
               "subject": "Printer smears toner"} | body
    response = client.post(URL, json=payload)
    assert response.status_code == 201, response.json
    return response.json


def test_create_takes_the_product_from_the_asset(client, make):
    customer = make.customer()
    asset = make.asset(customer)
    body = _ticket(client, customer, asset_id=asset.id, topic="print quality",
                   region="Tehran", priority=2, calling_number="+98 912 000 0000")
    assert body["status"] == "open" and body["closed_at"] is None
    assert body["product_id"] == asset.product_id
    assert client.get(f"{URL}/{body['id']}").json["topic"] == "print quality"


def test_create_refuses_bad_input_and_writes_nothing(client, make, app):
    customer = make.customer()
    foreign = make.asset(make.customer())
    other_product = make.product()
    asset = make.asset(customer)
    base = {"customer_id": customer.id, "channel": "phone", "category": "request",
            "subject": "x"}
    cases = [
        ({}, {"customer_id", "channel", "category", "subject"}),
        (base | {"channel": "fax"}, {"channel"}),
        (base | {"category": "praise"}, {"category"}),
        (base | {"subject": ""}, {"subject"}),
        (base | {"subject": "x" * 201}, {"subject"}),
        (base | {"topic": "x" * 121}, {"topic"}),
        (base | {"priority": 0}, {"priority"}),
        (base | {"customer_id": 999}, {"customer_id"}),
        (base | {"product_id": 999}, {"product_id"}),
        (base | {"asset_id": foreign.id}, {"asset_id"}),
        (base | {"asset_id": asset.id, "product_id": other_product.id}, {"product_id"}),
        (base | {"status": "closed"}, {"status"}),
        (base | {"closed_at": "2025-01-01T00:00:00Z"}, {"closed_at"}),
    ]
    for body, fields in cases:
        response = client.post(URL, json=body)
        assert response.status_code == 422, (body, response.json)
        assert response.mimetype == PROBLEM
        assert set(response.json["errors"]) == fields, (body, response.json)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_status_moves_are_validated_and_closing_stamps_closed_at(client, make):
    ticket = _ticket(client, make.customer())
    url = f"{URL}/{ticket['id']}"
    refused = client.patch(url, json={"status": "closed"})
    assert refused.status_code == 409
    assert refused.json["current_status"] == "open"
    assert refused.json["allowed"] == ["in_progress"]
    assert client.patch(url, json={"status": "in_progress"}).json["status"] == "in_progress"
    assert client.patch(url, json={"status": "open"}).status_code == 409
    assert client.patch(url, json={"status": "resolved"}).json["status"] == "resolved"
    # Reopen.
    assert client.patch(url, json={"status": "in_progress"}).json["status"] == "in_progress"
    client.patch(url, json={"status": "resolved"})
    closed = client.patch(url, json={"status": "closed"}).json
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert client.patch(url, json={"topic": "late edit"}).status_code == 409
    assert client.patch(url, json={"status": "in_progress"}).status_code == 409
    assert client.patch(url, json={"status": "gone"}).status_code == 422
    assert client.patch(f"{URL}/999", json={"topic": "x"}).status_code == 404


def test_list_filters(client, make, app):
    a, b = make.customer(), make.customer()
    product = make.product()
    t1 = _ticket(client, a, channel="web", category="request", topic="toner",
                 region="Tehran", product_id=product.id)
    t2 = _ticket(client, b, channel="phone", category="roadside", topic="battery",
                 region="Isfahan")
    client.patch(f"{URL}/{t2['id']}", json={"status": "in_progress"})
    with app.app_context():
        db.session.get(Ticket, t1["id"]).created_at = datetime(2025, 1, 10, 12, tzinfo=UTC)
        db.session.get(Ticket, t2["id"]).created_at = datetime(2025, 2, 10, 12, tzinfo=UTC)
        db.session.commit()

    def ids(**query):
        response = client.get(URL, query_string=query)
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json["items"]]

    assert ids(customer_id=a.id) == [t1["id"]]
    assert ids(status="in_progress") == [t2["id"]]
    assert ids(category="roadside") == [t2["id"]]
    assert ids(channel="web") == [t1["id"]]
    assert ids(topic="battery") == [t2["id"]]
    assert ids(region="Tehran") == [t1["id"]]
    assert ids(product_id=product.id) == [t1["id"]]
    assert ids(q="smears", sort="id") == [t1["id"], t2["id"]]
    assert ids(created_from="2025-02-01") == [t2["id"]]
    assert ids(created_to="2025-01-10") == [t1["id"]]
    assert ids(created_from="2025-01-10T00:00:00Z", created_to="2025-01-31T00:00:00Z") == \
        [t1["id"]]
    assert ids(sort="-created_at") == [t2["id"], t1["id"]]
    for bad in [{"status": "lost"}, {"created_from": "yesterday"},
                {"created_to": "2025-01-10T00:00:00"}, {"channel": "fax"}, {"x": 1}]:
        assert client.get(URL, query_string=bad).status_code == 422, bad


def test_ticket_opens_a_work_order_with_its_defaults(client, make, app):
    customer = make.customer()
    site = make.site(customer)
    asset = make.asset(customer, site=site)
    ticket = _ticket(client, customer, asset_id=asset.id, priority=1,
                     description="Lines on every page")
    response = client.post(f"{URL}/{ticket['id']}/work-orders", json={})
    assert response.status_code == 201, response.json
    wo = response.json
    assert response.headers["Location"].endswith(f"/api/v1/work-orders/{wo['id']}")
    assert (wo["customer_id"], wo["site_id"], wo["asset_id"]) == (customer.id, site.id,
                                                                    asset.id)
    assert wo["ticket_id"] == ticket["id"] and wo["type"] == "breakdown"
    assert wo["priority"] == 1 and wo["summary"] == "Printer smears toner"
    assert wo["description"] == "Lines on every page"
    created = datetime.fromisoformat(wo["created_at"])
    assert datetime.fromisoformat(wo["response_due_at"]) == created + timedelta(hours=4)
    assert client.get(f"{URL}/{ticket['id']}").json["status"] == "in_progress"
    # Overrides are taken; a second work order on an in-progress ticket is fine.
    second = client.post(f"{URL}/{ticket['id']}/work-orders",
                         json={"type": "inspection", "priority": 4, "summary": "Check"})
    assert second.status_code == 201
    assert (second.json["type"], second.json["priority"]) == ("inspection", 4)
    listed = client.get("/api/v1/work-orders", query_string={"ticket_id": ticket["id"]})
    assert listed.json["total"] == 2
    # The ticket now has work: it cannot be deleted.
    assert client.delete(f"{URL}/{ticket['id']}").status_code == 409


def test_ticket_work_order_bad_input(client, make, app):
    customer = make.customer()
    own_site = make.site(customer)
    make.site(customer)
    ticket = _ticket(client, customer)
    url = f"{URL}/{ticket['id']}/work-orders"
    foreign_site = make.site()
    cases = [
        ({}, "site_id"),  # two sites, none named
        ({"site_id": foreign_site.id}, "site_id"),
        ({"site_id": 999}, "site_id"),
        ({"customer_id": customer.id}, "customer_id"),
        ({"ticket_id": 1}, "ticket_id"),
        ({"priority": 7}, "priority"),
        ({"site_id": own_site.id, "skills": [{"skill_id": 999}]}, "skills"),
    ]
    for body, field in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    assert client.get(f"{URL}/{ticket['id']}").json["status"] == "open"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(WorkOrder.id))) == 0
    assert client.post(f"{URL}/999/work-orders", json={}).status_code == 404


def test_resolved_ticket_opens_no_work_order_and_plain_ticket_can_be_deleted(client, make):
    customer = make.customer()
    make.site(customer)
    ticket = _ticket(client, customer)
    for status in ("in_progress", "resolved"):
        client.patch(f"{URL}/{ticket['id']}", json={"status": status})
    refused = client.post(f"{URL}/{ticket['id']}/work-orders", json={})
    assert refused.status_code == 409
    spare = _ticket(client, customer)
    assert client.delete(f"{URL}/{spare['id']}").status_code == 204
    assert client.get(f"{URL}/{spare['id']}").status_code == 404
