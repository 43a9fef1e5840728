"""A ticket opened through the API is counted under its customer's region."""

from datetime import UTC, datetime, timedelta

from fieldsvc.extensions import db
from fieldsvc.models import Ticket

URL = "/api/v1/tickets"


def _open(client, customer, **body):
    payload = {"customer_id": customer.id, "channel": "web", "category": "complaint",
               "subject": "Engine light stays on"} | body
    response = client.post(URL, json=payload)
    assert response.status_code == 201, response.json
    return response.json


def test_api_tickets_take_the_region_of_the_asset_site_or_customer(client, make, app):
    customer = make.customer(region="Isfahan")
    branch = make.site(customer, region="Fars")
    asset = make.asset(customer, site=branch)
    assert _open(client, customer)["region"] == "Isfahan"
    assert _open(client, customer, channel="ivr", region=None)["region"] == "Isfahan"
    # The vehicle's site says where the problem is.
    assert _open(client, customer, asset_id=asset.id)["region"] == "Fars"
    # What the caller or agent states wins.
    assert _open(client, customer, region="Tehran")["region"] == "Tehran"
    # No customer region: the region all the customer's sites share.
    walk_in = make.customer()
    make.site(walk_in, region="Alborz")
    make.site(walk_in, region="Alborz")
    assert _open(client, walk_in)["region"] == "Alborz"
    make.site(walk_in, region="Qom")
    assert _open(client, walk_in)["region"] is None
    with app.app_context():
        stored = dict(db.session.execute(db.select(Ticket.id, Ticket.region)).all())
    assert list(stored.values()).count("Isfahan") == 2


def test_voice_of_customer_has_no_unknown_region_for_api_tickets(client, make):
    customer = make.customer(region="Tehran")
    for channel in ("web", "ivr", "email"):
        _open(client, customer, channel=channel)
    today = datetime.now(UTC).date()
    report = client.get("/api/v1/reports/voice-of-customer", query_string={
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(), "group": "region"})
    assert report.status_code == 200, report.json
    assert {row["region"]: row["tickets"] for row in report.json["items"]} == {"Tehran": 3}
