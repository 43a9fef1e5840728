"""A caller number in any form the switches deliver finds its customer."""

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from fieldsvc import create_app
from fieldsvc.extensions import db

FORMS = ["98 912 345 6789", "989123456789", "+98 912 345 6789", "0098 912 345 6789",
         "0912 345 6789", "912-345-6789"]


@pytest.mark.parametrize("stored", ["+98 912 345 6789", "98 912 345 6789", "09123456789"])
def test_every_form_of_the_number_finds_the_customer(client, make, stored):
    customer = make.customer(name="Caller", mobile=stored)
    make.customer(name="Someone else", mobile="+98 935 123 4567")
    for number in FORMS:
        found = client.get("/api/v1/customers", query_string={"phone": number})
        assert [c["id"] for c in found.json["items"]] == [customer.id], number
        logged = client.post("/api/v1/interactions",
                             json={"channel": "call", "calling_number": number})
        assert logged.status_code == 201 and logged.json["customer_id"] == customer.id


def test_a_national_number_that_happens_to_start_with_98_is_not_cut(client, make):
    customer = make.customer(name="Short", phone="98 12 34 56")
    found = client.get("/api/v1/customers", query_string={"phone": "98123456"})
    assert [c["id"] for c in found.json["items"]] == [customer.id]


def test_upgrade_rekeys_numbers_stored_with_a_bare_country_code(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
                      "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade(revision="0015_mobile_day_version")
        with db.engine.begin() as conn:
            for n, (phone_key, mobile_key) in enumerate(
                    [("989123456789", "982155550001"), ("9123456789", None),
                     ("98123456", "98000912345678")], start=1):
                conn.execute(text(
                    "INSERT INTO customer (id, name, tier, phone_key, mobile_key, "
                    "consent_marketing, created_at, updated_at) VALUES (:id, 'c', 'standard', "
                    ":p, :m, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": n, "p": phone_key, "m": mobile_key})
        upgrade(revision="0017_phone_keys_country_code")
        with db.engine.begin() as conn:
            rows = conn.execute(text(
                "SELECT phone_key, mobile_key FROM customer ORDER BY id")).all()
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [("9123456789", "2155550001"), ("9123456789", None),
                                        ("98123456", "912345678")]
