"""A new caller served from the console: the agent adds the customer's site and the unit
they call about, checked as the API checks them; errors next to the fields, nothing saved."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldsvc.models import Asset, Site


def _count(db_session, model) -> int:
    return db_session(lambda s: s.scalar(select(func.count(model.id))))


def test_agent_adds_a_site_with_coordinates_and_zone(data, page_as, db_session):
    customer = data.customer(name="New Caller", region="Tehran")
    agent = page_as("agent")
    page = agent.get(f"/console/customers/{customer.id}")
    assert b'id="site-form"' in page.data and b'id="asset-form"' in page.data
    ok = agent.post(
        f"/console/customers/{customer.id}/sites",
        data={
            "csrf_token": agent.csrf,
            "name": "Plant room",
            "address": "12 Vali-Asr Ave",
            "city": "Tehran",
            "region": "Tehran",
            "territory": "tehran",
            "timezone": "Asia/Tehran",
            "latitude": "35.7219",
            "longitude": "51,4100",
        },
    )
    assert ok.status_code == 302
    site = db_session(lambda s: s.scalar(select(Site)))
    assert (site.customer_id, site.name, site.latitude, site.longitude, site.timezone) == (
        customer.id,
        "Plant room",
        35.7219,
        51.41,
        "Asia/Tehran",
    )
    shown = agent.get(ok.headers["Location"]).data.decode()
    assert "Plant room" in shown and "12 Vali-Asr Ave" in shown


def test_bad_site_input_is_refused_next_to_the_field(data, page_as, db_session):
    customer = data.customer()
    agent = page_as("agent")
    url = f"/console/customers/{customer.id}/sites"
    cases = [
        ({"name": ""}, "name"),
        ({"name": "X", "latitude": "north", "longitude": "51.4"}, "latitude"),
        ({"name": "X", "latitude": "135.2", "longitude": "51.4"}, "latitude"),
        ({"name": "X", "latitude": "35.2"}, "longitude"),
        ({"name": "X", "timezone": "Mars/Olympus"}, "timezone"),
    ]
    for fields, bad in cases:
        answer = agent.post(url, data={"csrf_token": agent.csrf, **fields})
        assert answer.status_code == 422, fields
        assert f'id="{bad}-error"'.encode() in answer.data, fields
    assert _count(db_session, Site) == 0


def test_agent_adds_an_asset_with_a_vin(data, page_as, db_session):
    customer = data.customer()
    site = data.site(customer, name="Garage")
    car = data.product(name="Sedan 2024", kind="car")
    agent = page_as("agent")
    ok = agent.post(
        f"/console/customers/{customer.id}/assets",
        data={
            "csrf_token": agent.csrf,
            "product_id": str(car.id),
            "site_id": str(site.id),
            "vin": "naam11ca9kk123456",
        },
    )
    assert ok.status_code == 302
    asset = db_session(lambda s: s.scalar(select(Asset)))
    assert (asset.customer_id, asset.product_id, asset.site_id, asset.vin) == (
        customer.id,
        car.id,
        site.id,
        "NAAM11CA9KK123456",
    )
    assert b"NAAM11CA9KK123456" in agent.get(ok.headers["Location"]).data


def test_bad_asset_input_is_refused_next_to_the_field(data, page_as, db_session):
    customer = data.customer()
    other_site = data.site(data.customer())
    product = data.product()
    data.asset(data.customer(), product=product, serial_number="TAKEN-1")
    agent = page_as("agent")
    url = f"/console/customers/{customer.id}/assets"
    before = _count(db_session, Asset)
    cases = [
        ({"serial_number": "S-1"}, "product_id"),
        ({"product_id": str(product.id)}, "serial_number"),
        ({"product_id": str(product.id), "vin": "IOQ11CA9KK123456X"}, "vin"),
        ({"product_id": str(product.id), "vin": "SHORT"}, "vin"),
        (
            {"product_id": str(product.id), "serial_number": "S-2", "site_id": str(other_site.id)},
            "site_id",
        ),
    ]
    for fields, bad in cases:
        answer = agent.post(url, data={"csrf_token": agent.csrf, **fields})
        assert answer.status_code == 422, fields
        assert f'id="{bad}-error"'.encode() in answer.data, fields
    taken = agent.post(
        url,
        data={"csrf_token": agent.csrf, "product_id": str(product.id), "serial_number": "TAKEN-1"},
    )
    assert taken.status_code == 422 and b"TAKEN-1" in taken.data
    assert _count(db_session, Asset) == before


def test_roles_without_asset_rights_cannot_add_one(data, page_as):
    customer = data.customer()
    dispatcher = page_as("dispatcher")
    answer = dispatcher.post(
        f"/console/customers/{customer.id}/assets",
        data={"csrf_token": dispatcher.csrf, "serial_number": "X"},
    )
    assert answer.status_code == 403
