"""/api/v1/assets and their meter readings."""

from datetime import UTC, datetime, timedelta

from fieldsvc.models import Asset, MeterReading

from .conftest import PROBLEM

VALID_VIN = "1M8GDM9AXKP042788"  # check digit X is right
WRONG_CHECK_VIN = "1M8GDM9A1KP042788"


def _asset(client, **kw):
    return client.post("/api/v1/assets", json=kw)


def test_create_asset_with_vin_normalized_and_check_digit_reported(client, make):
    site = make.site()
    product = make.product(kind="car", meter_unit="km")
    created = _asset(client, product_id=product.id, customer_id=site.customer_id,
                     site_id=site.id, vin=" " + VALID_VIN.lower() + " ",
                     install_date="2024-01-10", warranty_end="2027-01-09")
    assert created.status_code == 201, created.json
    body = created.json
    assert body["vin"] == VALID_VIN
    assert body["vin_check_digit_valid"] is True
    assert body["serial_number"] is None
    assert body["contract_ids"] == []
    other = _asset(client, product_id=product.id, customer_id=site.customer_id,
                   vin=WRONG_CHECK_VIN)
    assert other.status_code == 201
    assert other.json["vin_check_digit_valid"] is False
    serial_only = _asset(client, product_id=product.id, customer_id=site.customer_id,
                         serial_number="SN-1")
    assert serial_only.json["vin_check_digit_valid"] is None


def test_vin_format_and_identification_rules(client, make, count):
    customer, product = make.customer(), make.product()
    for vin in ["1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "IM8GDM9AXKP042788",
                "1M8GDM9AXKP04278O", "1M8GDM9AXKP04278Q", "1M8GDM9AXKP04278-"]:
        bad = _asset(client, product_id=product.id, customer_id=customer.id, vin=vin)
        assert bad.status_code == 422, vin
        assert "vin" in bad.json["errors"]
    neither = _asset(client, product_id=product.id, customer_id=customer.id)
    assert neither.status_code == 422 and "serial_number" in neither.json["errors"]
    nulls = _asset(client, product_id=product.id, customer_id=customer.id,
                   serial_number=None, vin=None)
    assert nulls.status_code == 422
    blank = _asset(client, product_id=product.id, customer_id=customer.id, serial_number="  ")
    assert blank.status_code == 422 and "serial_number" in blank.json["errors"]
    assert count(Asset) == 0


def test_duplicates_are_409_with_a_clear_detail(client, make, count):
    existing = make.asset(serial_number="SN-DUP", vin=VALID_VIN)
    customer, product = make.customer(), make.product()
    dup_serial = _asset(client, product_id=product.id, customer_id=customer.id,
                        serial_number="SN-DUP")
    assert dup_serial.status_code == 409 and dup_serial.mimetype == PROBLEM
    assert "SN-DUP" in dup_serial.json["detail"]
    assert dup_serial.json["existing_id"] == existing.id
    dup_vin = _asset(client, product_id=product.id, customer_id=customer.id,
                     vin=VALID_VIN.lower())
    assert dup_vin.status_code == 409 and VALID_VIN in dup_vin.json["detail"]
    assert count(Asset) == 1


def test_site_must_belong_to_customer_and_references_must_exist(client, make, count):
    product = make.product()
    mine, theirs = make.customer(), make.site()
    wrong = _asset(client, product_id=product.id, customer_id=mine.id, site_id=theirs.id,
                   serial_number="A")
    assert wrong.status_code == 422 and "site_id" in wrong.json["errors"]
    missing = _asset(client, product_id=999, customer_id=998, site_id=997, serial_number="A")
    assert missing.status_code == 422
    assert set(missing.json["errors"]) == {"product_id", "customer_id", "site_id"}
    assert count(Asset) == 0
    asset = make.asset(customer=mine, product=product)
    moved = client.patch(f"/api/v1/assets/{asset.id}", json={"site_id": theirs.id})
    assert moved.status_code == 422
    # Moving the asset to the site's customer together with the site is fine.
    both = client.patch(f"/api/v1/assets/{asset.id}",
                        json={"site_id": theirs.id, "customer_id": theirs.customer_id})
    assert both.status_code == 200 and both.json["site_id"] == theirs.id


def test_warranty_dates_and_under_warranty(client, make, today):
    customer = make.customer()
    product = make.product(warranty_months=12)
    backwards = _asset(client, product_id=product.id, customer_id=customer.id,
                       serial_number="W0", install_date="2024-05-01",
                       warranty_end="2024-04-30")
    assert backwards.status_code == 422 and "warranty_end" in backwards.json["errors"]
    derived = _asset(client, product_id=product.id, customer_id=customer.id,
                     serial_number="W1", install_date="2024-01-31")
    assert derived.json["warranty_end"] == "2025-01-31"
    assert derived.json["under_warranty"] is False
    fresh = _asset(client, product_id=product.id, customer_id=customer.id, serial_number="W2",
                   install_date=(today - timedelta(days=10)).isoformat())
    assert fresh.json["under_warranty"] is True
    under = client.get("/api/v1/assets?under_warranty=true").json["items"]
    assert [a["serial_number"] for a in under] == ["W2"]
    out = client.get("/api/v1/assets?under_warranty=false").json["items"]
    assert [a["serial_number"] for a in out] == ["W1"]
    # Moving the install date after the warranty end in a PATCH is refused.
    late = client.patch(f"/api/v1/assets/{derived.json['id']}",
                        json={"install_date": "2026-01-01"})
    assert late.status_code == 422
    assert client.get(f"/api/v1/assets/{derived.json['id']}").json["install_date"] == \
        "2024-01-31"
    assert client.post("/api/v1/assets", json={
        "product_id": product.id, "customer_id": customer.id, "serial_number": "W3",
        "install_date": "2024-02-30"}).status_code == 422


def test_patch_cannot_remove_the_last_identifier(client, make):
    asset = make.asset(serial_number="ONLY")
    gone = client.patch(f"/api/v1/assets/{asset.id}", json={"serial_number": None})
    assert gone.status_code == 422
    swapped = client.patch(f"/api/v1/assets/{asset.id}",
                           json={"serial_number": None, "vin": VALID_VIN})
    assert swapped.status_code == 200
    assert swapped.json["serial_number"] is None and swapped.json["vin"] == VALID_VIN


def test_asset_filters(client, make):
    site = make.site()
    product = make.product()
    a = make.asset(site=site, product=product, serial_number="F-1")
    make.asset(serial_number="F-2")
    b = make.asset(customer=site.customer, vin=VALID_VIN)

    def ids(query):
        response = client.get("/api/v1/assets?" + query)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids(f"customer_id={site.customer_id}") == [a.id, b.id]
    assert ids(f"site_id={site.id}") == [a.id]
    assert ids(f"product_id={product.id}") == [a.id]
    assert ids("serial_number=F-1") == [a.id]
    assert ids(f"vin={VALID_VIN.lower()}") == [b.id]
    assert ids("q=F-") == [a.id, a.id + 1]
    assert client.get("/api/v1/assets?vin=short").status_code == 422
    assert client.get("/api/v1/assets?under_warranty=maybe").status_code == 422


def test_asset_delete_and_references(client, make, count):
    asset = make.asset()
    contract = make.contract(asset.customer)
    client.patch(f"/api/v1/contracts/{contract.id}", json={"asset_ids": [asset.id]})
    assert client.get(f"/api/v1/assets/{asset.id}").json["contract_ids"] == [contract.id]
    blocked = client.delete(f"/api/v1/assets/{asset.id}")
    assert blocked.status_code == 409 and "contracts" in blocked.json["detail"]
    other_customer = make.customer()
    moved = client.patch(f"/api/v1/assets/{asset.id}", json={"customer_id": other_customer.id})
    assert moved.status_code == 409
    client.patch(f"/api/v1/contracts/{contract.id}", json={"asset_ids": []})
    client.post(f"/api/v1/assets/{asset.id}/meter-readings", json={"value": 5, "unit": "pages"})
    assert client.delete(f"/api/v1/assets/{asset.id}").status_code == 204
    assert count(Asset) == 0 and count(MeterReading) == 0


def test_meter_readings_only_go_up_unless_reset(client, make, app):
    product = make.product(meter_unit="pages")
    asset = make.asset(product=product)
    url = f"/api/v1/assets/{asset.id}/meter-readings"
    now = datetime.now(UTC)
    first = client.post(url, json={"value": 1000, "read_at": (now - timedelta(days=2))
                                   .isoformat()})
    assert first.status_code == 201, first.json
    assert first.json["unit"] == "pages" and first.json["asset_id"] == asset.id
    lower = client.post(url, json={"value": 900})
    assert lower.status_code == 422 and "value" in lower.json["errors"]
    assert lower.json["previous_reading_id"] == first.json["id"]
    # Another unit of the same asset has its own sequence.
    assert client.post(url, json={"value": 3, "unit": "hours"}).status_code == 201
    reset = client.post(url, json={"value": 10, "reset": True})
    assert reset.status_code == 201
    assert client.post(url, json={"value": 12}).status_code == 201
    listed = client.get(url).json
    assert listed["total"] == 4
    assert [r["value"] for r in listed["items"]][:2] == [12, 10]
    assert "reset" not in listed["items"][0]
    assert [r["value"] for r in client.get(url + "?unit=hours").json["items"]] == [3]


def test_bad_meter_readings_are_422_and_write_nothing(client, make, app, count):
    asset = make.asset(product=make.product(meter_unit=None))
    url = f"/api/v1/assets/{asset.id}/meter-readings"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    cases = [
        {"value": -1, "unit": "km"},
        {"value": "NaN", "unit": "km"},
        {"value": "abc", "unit": "km"},
        {"unit": "km"},
        {"value": 5},  # no unit and the product has none
        {"value": 5, "unit": "km", "read_at": "2024-01-01T10:00:00"},  # naive
        {"value": 5, "unit": "km", "read_at": future},
        {"value": 5, "unit": "k" * 21},
        {"value": 5, "unit": "km", "asset_id": 3},
    ]
    for body in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, (body, response.json)
        assert response.mimetype == PROBLEM
    assert client.post("/api/v1/assets/999/meter-readings",
                       json={"value": 1, "unit": "km"}).status_code == 404
    assert client.get("/api/v1/assets/999/meter-readings").status_code == 404
    assert count(MeterReading) == 0


def test_reading_list_refuses_sort_and_text_with_nul_is_refused(client, make):
    asset = make.asset()
    url = f"/api/v1/assets/{asset.id}/meter-readings"
    assert client.get(url + "?sort=value").status_code == 422
    assert client.get(url + "?page=2").json["items"] == []
    nul = client.post("/api/v1/assets", json={"product_id": asset.product_id,
                                              "customer_id": asset.customer_id,
                                              "serial_number": "A\u0000B"})
    assert nul.status_code == 422 and "serial_number" in nul.json["errors"]
    huge = client.get("/api/v1/assets?customer_id=99999999999999999999")
    assert 400 <= huge.status_code < 500 or huge.json["total"] == 0


def test_out_of_range_ids_are_4xx(client):
    for url in ["/api/v1/assets/99999999999999999999",
                "/api/v1/assets/99999999999999999999/meter-readings",
                "/api/v1/technicians/99999999999999999999/absences"]:
        response = client.get(url)
        assert 400 <= response.status_code < 500, url
