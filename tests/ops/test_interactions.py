"""Interactions: caller identification, append-only log, callbacks."""

from datetime import UTC, datetime, timedelta

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import Interaction


def _count(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(Interaction.id)))


def test_caller_is_identified_by_number_in_any_format(client, make):
    caller = make.customer(name="Caller", mobile="0912 345 6789")
    logged = client.post("/api/v1/interactions", json={
        "channel": "call", "calling_number": "+98 912 345 6789", "subject": "Toner"})
    assert logged.status_code == 201, logged.json
    assert logged.json["customer_id"] == caller.id
    assert logged.json["direction"] == "inbound"
    assert logged.headers["Location"].endswith(f"/api/v1/interactions/{logged.json['id']}")


def test_ambiguous_or_unknown_number_links_nobody(client, make):
    make.customer(phone="021 5555 0001")
    make.customer(mobile="+98 21 5555 0001")
    ambiguous = client.post("/api/v1/interactions",
                            json={"channel": "call", "calling_number": "02155550001"})
    assert ambiguous.status_code == 201 and ambiguous.json["customer_id"] is None
    unknown = client.post("/api/v1/interactions",
                          json={"channel": "call", "calling_number": "0999 000 0000"})
    assert unknown.json["customer_id"] is None


def test_customer_follows_ticket_and_mismatch_is_refused(client, make, app):
    ticket = make.ticket()
    linked = client.post("/api/v1/interactions",
                         json={"channel": "email", "ticket_id": ticket.id})
    assert linked.json["customer_id"] == ticket.customer_id
    stranger = make.customer()
    refused = client.post("/api/v1/interactions", json={
        "channel": "email", "ticket_id": ticket.id, "customer_id": stranger.id})
    assert refused.status_code == 422 and "ticket_id" in refused.json["errors"]
    assert _count(app) == 1


def test_out_of_hours_call_gets_a_callback_which_can_be_marked_done(client):
    # 20:00 Tehran (+03:30) is after the 07:30-18:00 working day.
    night = datetime(2025, 5, 4, 16, 30, tzinfo=UTC)
    logged = client.post("/api/v1/interactions",
                         json={"channel": "call", "occurred_at": night.isoformat()})
    assert logged.status_code == 201
    assert logged.json["outside_hours"] is True
    due = datetime.fromisoformat(logged.json["callback_due_at"])
    assert due == datetime(2025, 5, 5, 4, 0, tzinfo=UTC)  # 07:30 next morning
    ident = logged.json["id"]
    pending = client.get("/api/v1/interactions?callback_pending=true")
    assert [i["id"] for i in pending.json["items"]] == [ident]
    early = client.patch(f"/api/v1/interactions/{ident}",
                         json={"callback_done_at": (night - timedelta(hours=1)).isoformat()})
    assert early.status_code == 422
    done = client.patch(f"/api/v1/interactions/{ident}",
                        json={"callback_done_at": due.isoformat()})
    assert done.status_code == 200 and done.json["callback_done_at"] is not None
    assert client.get("/api/v1/interactions?callback_pending=true").json["total"] == 0
    day = client.post("/api/v1/interactions", json={
        "channel": "call", "occurred_at": "2025-05-04T10:00:00+03:30"})
    assert day.json["outside_hours"] is False and day.json["callback_due_at"] is None


def test_log_is_append_only(client):
    ident = client.post("/api/v1/interactions", json={"channel": "visit"}).json["id"]
    assert client.patch(f"/api/v1/interactions/{ident}",
                        json={"notes": "rewritten"}).status_code == 422
    assert client.patch(f"/api/v1/interactions/{ident}", json={}).status_code == 422
    assert client.delete(f"/api/v1/interactions/{ident}").status_code == 405
    assert client.put(f"/api/v1/interactions/{ident}", json={}).status_code == 405


@pytest.mark.parametrize("body, field", [
    ({}, "channel"), ({"channel": "fax"}, "channel"),
    ({"channel": "call", "direction": "sideways"}, "direction"),
    ({"channel": "call", "customer_id": 999}, "customer_id"),
    ({"channel": "call", "ticket_id": 999}, "ticket_id"),
    ({"channel": "call", "work_order_id": 0}, "work_order_id"),
    ({"channel": "call", "calling_number": "1" * 41}, "calling_number"),
    ({"channel": "call", "subject": "s" * 201}, "subject"),
    ({"channel": "call", "occurred_at": "2025-05-04T10:00:00"}, "occurred_at"),
    ({"channel": "call", "occurred_at": "yesterday"}, "occurred_at"),
    ({"channel": "call", "occurred_at": "0001-01-01T00:00:00+03:30"}, "occurred_at"),
    ({"channel": "call", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ({"channel": "call", "agent_id": 1}, "agent_id"),
    ({"channel": "call", "outside_hours": True}, "outside_hours"),
])
def test_invalid_interactions_are_422(client, app, body, field):
    response = client.post("/api/v1/interactions", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert _count(app) == 0


def test_list_filters(client, make):
    customer = make.customer()
    for at, channel in [("2025-01-10T10:00:00+03:30", "call"),
                        ("2025-02-10T10:00:00+03:30", "email"),
                        ("2025-03-10T10:00:00+03:30", "call")]:
        client.post("/api/v1/interactions", json={"channel": channel, "occurred_at": at,
                                                  "customer_id": customer.id})
    client.post("/api/v1/interactions", json={"channel": "call"})
    mine = client.get(f"/api/v1/interactions?customer_id={customer.id}")
    assert mine.json["total"] == 3
    assert mine.json["items"][0]["occurred_at"].startswith("2025-03-10")  # newest first
    calls = client.get(f"/api/v1/interactions?customer_id={customer.id}&channel=call"
                       "&from=2025-02-01T00:00:00Z&to=2025-12-31T00:00:00Z")
    assert calls.json["total"] == 1
    assert client.get("/api/v1/interactions?from=2025-02-01").status_code == 422
    assert client.get("/api/v1/interactions?from=2025-03-01T00:00:00Z"
                      "&to=2025-02-01T00:00:00Z").status_code == 422
