"""Erasure on request: personal data gone from every table, statistics kept, audited once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from fieldsvc.extensions import db
from fieldsvc.models import Asset, AuditEntry, Customer, Site, Ticket, WorkOrder

NEEDLES = ("Shirin", "Tavakoli", "912 555 0101", "9125550101", "shirin@example.ir",
           "gate code 4412", "Valiasr", "0935 111 2233", "9351112233", "broke my printer")


def database_dump(app) -> str:
    """Every row of every table, as text."""
    chunks = []
    with app.app_context():
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                    chunks.append(json.dumps([str(v) for v in row], ensure_ascii=False))
        db.session.remove()
    return "\n".join(chunks)


def count(app, model) -> int:
    with app.app_context():
        try:
            return db.session.scalar(db.select(db.func.count()).select_from(model))
        finally:
            db.session.remove()


@pytest.fixture
def customer_with_history(client, make):
    created = client.post("/api/v1/customers", json={
        "name": "Shirin Tavakoli", "contact_name": "Shirin", "email": "shirin@example.ir",
        "phone": "+98 912 555 0101", "notes": "Prefers mornings, gate code 4412",
        "region": "Tehran"})
    assert created.status_code == 201, created.json
    cid = created.json["id"]
    assert client.patch(f"/api/v1/customers/{cid}",
                        json={"mobile": "0935 111 2233"}).status_code == 200
    site = client.post("/api/v1/sites", json={
        "customer_id": cid, "name": "Shirin home", "address": "12 Valiasr St",
        "city": "Tehran", "region": "Tehran", "latitude": 35.712345, "longitude": 51.404321})
    assert site.status_code == 201, site.json
    ticket = client.post("/api/v1/tickets", json={
        "customer_id": cid, "channel": "phone", "category": "complaint", "topic": "jam",
        "subject": "Shirin Tavakoli complains", "description": "She says it broke my printer",
        "calling_number": "+98 912 555 0101"})
    assert ticket.status_code == 201, ticket.json
    call = client.post("/api/v1/interactions", json={
        "channel": "call", "customer_id": cid, "calling_number": "0935 111 2233",
        "subject": "Call from Shirin", "notes": "Mentioned gate code 4412"})
    assert call.status_code == 201, call.json
    product = make.product()
    asset = make.asset(customer=make.session.get(Customer, cid), product=product)
    make.work_order(site=make.session.get(Site, site.json["id"]), asset_id=asset.id)
    return {"id": cid, "site": site.json["id"], "ticket": ticket.json["id"],
            "interaction": call.json["id"]}


def test_erase_removes_personal_data_everywhere_and_keeps_statistics(
        app, client, customer_with_history):
    cid = customer_with_history["id"]
    dump = database_dump(app)
    assert all(needle in dump for needle in NEEDLES)
    before = {m: count(app, m) for m in (WorkOrder, Asset, Ticket, Site, Customer)}

    response = client.post(f"/api/v1/customers/{cid}/erase")
    assert response.status_code == 200, response.json
    assert response.json["first_time"] is True
    assert response.json["sites"] == 1 and response.json["tickets"] == 1
    assert response.json["interactions"] == 1

    dump = database_dump(app)
    leaked = [needle for needle in NEEDLES if needle in dump]
    assert leaked == []
    assert {m: count(app, m) for m in before} == before

    shown = client.get(f"/api/v1/customers/{cid}").json
    assert shown["name"] == f"Erased customer #{cid}"
    assert shown["email"] is None and shown["phone"] is None
    with app.app_context():
        customer = db.session.get(Customer, cid)
        assert customer.erased_at is not None and customer.region == "Tehran"
        site = db.session.get(Site, customer_with_history["site"])
        assert (site.latitude, site.longitude, site.city) == (35.71, 51.4, "Tehran")
        assert site.address is None
        ticket = db.session.get(Ticket, customer_with_history["ticket"])
        assert (ticket.category.value, ticket.topic) == ("complaint", "jam")
        erase_entries = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "erase")).all()
        assert [(e.entity_type, e.entity_id) for e in erase_entries] == [("customer", str(cid))]
        assert erase_entries[0].actor_id == client.user_id
        first = db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.entity_type == "customer", AuditEntry.action == "create"))
        assert first.changes["name"] == [None, "[erased]"]
        assert first.changes["tier"] == [None, "standard"]  # non-personal values stay
        db.session.remove()


def test_erase_is_idempotent_and_404_for_unknown(app, client, customer_with_history):
    cid = customer_with_history["id"]
    first = client.post(f"/api/v1/customers/{cid}/erase")
    again = client.post(f"/api/v1/customers/{cid}/erase")
    assert again.status_code == 200 and again.json["first_time"] is False
    assert again.json["erased_at"] == first.json["erased_at"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(
            AuditEntry.action == "erase")) == 1
        db.session.remove()
    missing = client.post("/api/v1/customers/999999/erase")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_only_admin_may_erase(app, client_as, customer_with_history):
    cid = customer_with_history["id"]
    for role in ("manager", "dispatcher", "agent"):
        refused = client_as(role).post(f"/api/v1/customers/{cid}/erase")
        assert refused.status_code == 403, role
    assert "Shirin" in database_dump(app)


def test_cli_erase_customer(app, runner, customer_with_history):
    cid = customer_with_history["id"]
    result = runner.invoke(args=["erase-customer", str(cid)])
    assert result.exit_code == 0, result.output
    assert f"Customer {cid} erased" in result.output
    assert not [n for n in NEEDLES if n in database_dump(app)]
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "erase"))
        assert entry.source == "cli"
        db.session.remove()
    missing = runner.invoke(args=["erase-customer", "999999"])
    assert missing.exit_code != 0 and "No customer with id 999999" in missing.output


def test_erasure_removes_signatures_photos_and_report_notes(client, make, app):
    from fieldsvc.extensions import db
    from fieldsvc.storage import storage_for
    from mobile_api.models import Attachment, JobReport

    site = make.site()
    order = make.work_order(site=site)
    other = make.work_order(site=make.site())
    with app.app_context():
        storage = storage_for(app)
        signature = storage.put(b"%PDF-1.4 signature of the customer")
        shared = storage.put(b"\x89PNG photo that another job also has")
        for work_order_id, key in [(order.id, signature), (order.id, shared),
                                   (other.id, shared)]:
            db.session.add(Attachment(work_order_id=work_order_id, kind="photo",
                                      content_type="image/png", size_bytes=10,
                                      sha256=key, storage_key=key))
        db.session.add(JobReport(work_order_id=order.id, notes="Mrs Ahmadi's dog bites"))
        db.session.commit()

    erased = client.post(f"/api/v1/customers/{site.customer_id}/erase")
    assert erased.status_code == 200, erased.json
    assert erased.json["attachments"] == 2 and erased.json["files_deleted"] == 1
    with app.app_context():
        assert not storage.exists(signature)
        assert storage.exists(shared)  # still another customer's photo
        remaining = db.session.scalars(db.select(Attachment.work_order_id)).all()
        assert remaining == [other.id]
        assert db.session.scalar(db.select(JobReport.notes)) is None
