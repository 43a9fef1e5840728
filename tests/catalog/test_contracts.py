"""/api/v1/contracts: period, coverage, SLA targets, covered assets."""

from datetime import date, timedelta

from fieldsvc.models import AssetContract, ServiceContract, SlaTarget

from .conftest import PROBLEM


def _body(customer_id, **kw):
    body = {"number": "C-100", "customer_id": customer_id, "name": "Gold",
            "starts_on": "2025-01-01", "ends_on": "2025-12-31"}
    body.update(kw)
    return body


def test_create_contract_with_targets_coverage_and_assets(client, make, count):
    customer = make.customer()
    a1, a2 = make.asset(customer=customer), make.asset(customer=customer)
    created = client.post("/api/v1/contracts", json=_body(
        customer.id, coverage_days="43210", coverage_start="07:30", coverage_end="18:00",
        timezone="Europe/Berlin", pm_included=True, asset_ids=[a2.id, a1.id],
        sla_targets=[{"priority": 2, "response_minutes": 240, "resolution_minutes": 960},
                     {"priority": 1, "response_minutes": 60, "resolution_minutes": 240}]))
    assert created.status_code == 201, created.json
    body = created.json
    assert body["coverage_days"] == "43210"
    assert body["coverage_start"].startswith("07:30") and body["coverage_end"].startswith("18:00")
    assert body["timezone"] == "Europe/Berlin" and body["pm_included"] is True
    assert [t["priority"] for t in body["sla_targets"]] == [1, 2]
    assert body["asset_ids"] == sorted([a1.id, a2.id])
    assert body["active"] is False
    assert client.get(f"/api/v1/assets/{a1.id}").json["contract_ids"] == [body["id"]]
    assert count(AssetContract) == 2 and count(SlaTarget) == 2
    defaults = client.post("/api/v1/contracts", json=_body(customer.id, number="C-101"))
    assert defaults.json["coverage_24x7"] is False
    assert defaults.json["coverage_days"] == "012345"
    assert defaults.json["sla_targets"] == [] and defaults.json["asset_ids"] == []


def test_patch_replaces_targets_and_assets_as_a_whole(client, make, count):
    customer = make.customer()
    a1, a2 = make.asset(customer=customer), make.asset(customer=customer)
    contract = make.contract(customer, targets={1: (60, 120), 2: (120, 480)})
    url = f"/api/v1/contracts/{contract.id}"
    replaced = client.patch(url, json={"sla_targets": [
        {"priority": 1, "response_minutes": 30, "resolution_minutes": 90}]})
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["sla_targets"] == [
        {"priority": 1, "response_minutes": 30, "resolution_minutes": 90}]
    assert count(SlaTarget) == 1
    assert client.patch(url, json={"asset_ids": [a1.id, a2.id]}).json["asset_ids"] == \
        sorted([a1.id, a2.id])
    assert client.patch(url, json={"asset_ids": [a2.id]}).json["asset_ids"] == [a2.id]
    assert count(AssetContract) == 1
    # A PATCH that names neither keeps both.
    kept = client.patch(url, json={"name": "Platinum"}).json
    assert kept["asset_ids"] == [a2.id] and len(kept["sla_targets"]) == 1
    # Partial target items are refused even inside a PATCH.
    partial = client.patch(url, json={"sla_targets": [{"priority": 1}]})
    assert partial.status_code == 422
    assert count(SlaTarget) == 1


def test_bad_contract_input_is_422_and_writes_nothing(client, make, count):
    customer = make.customer()
    stranger_asset = make.asset()
    cases = {
        "ends_on": _body(customer.id, ends_on="2024-12-31"),
        "coverage_end": _body(customer.id, coverage_start="18:00", coverage_end="08:00"),
        "coverage_days": _body(customer.id, coverage_days="0178"),
        "timezone": _body(customer.id, timezone="Mars/Olympus"),
        "sla_targets": _body(customer.id, sla_targets=[
            {"priority": 1, "response_minutes": 60, "resolution_minutes": 120},
            {"priority": 1, "response_minutes": 30, "resolution_minutes": 60}]),
        "asset_ids": _body(customer.id, asset_ids=[stranger_asset.id]),
        "customer_id": _body(999),
        "starts_on": _body(customer.id, starts_on="2025-13-01"),
        "number": _body(customer.id, number=""),
        "pm_included": _body(customer.id, pm_included="perhaps"),
    }
    for field, body in cases.items():
        response = client.post("/api/v1/contracts", json=body)
        assert response.status_code == 422, (field, response.json)
        assert response.mimetype == PROBLEM
        assert field in response.json["errors"], (field, response.json)
    for target in [{"priority": 5, "response_minutes": 1, "resolution_minutes": 1},
                   {"priority": 1, "response_minutes": 0, "resolution_minutes": 1},
                   {"priority": 1, "response_minutes": 60, "resolution_minutes": 30},
                   {"priority": 1, "response_minutes": 60}]:
        response = client.post("/api/v1/contracts", json=_body(customer.id, sla_targets=[target]))
        assert response.status_code == 422, target
        assert "sla_targets" in response.json["errors"]
    assert client.post("/api/v1/contracts", json=_body(
        customer.id, coverage_days="00")).status_code == 422
    assert client.post("/api/v1/contracts", json=_body(
        customer.id, asset_ids=[1, 1])).status_code == 422
    assert client.post("/api/v1/contracts", json=_body(
        customer.id, asset_ids=[12345])).json["errors"]["asset_ids"] == ["No asset with id 12345."]
    # Round-the-clock coverage does not care about the hours.
    allday = client.post("/api/v1/contracts", json=_body(
        customer.id, coverage_24x7=True, coverage_start="18:00", coverage_end="08:00"))
    assert allday.status_code == 201
    assert count(ServiceContract) == 1 and count(AssetContract) == 0


def test_patch_keeps_the_contract_coherent(client, make):
    customer = make.customer()
    asset = make.asset(customer=customer)
    contract = make.contract(customer)
    url = f"/api/v1/contracts/{contract.id}"
    client.patch(url, json={"asset_ids": [asset.id]})
    before = client.get(url).json
    assert client.patch(url, json={"ends_on": "2000-01-01"}).status_code == 422
    # The covered asset belongs to the old customer: changing customer alone is refused.
    assert client.patch(url, json={"customer_id": make.customer().id}).status_code == 422
    assert client.get(url).json == before


def test_unique_number_and_delete_rules(client, make, count):
    customer = make.customer()
    make.contract(customer, number="C-1")
    dup = client.post("/api/v1/contracts", json=_body(customer.id, number="C-1"))
    assert dup.status_code == 409 and "C-1" in dup.json["detail"]
    asset = make.asset(customer=customer)
    contract = make.contract(customer, number="C-2")
    client.patch(f"/api/v1/contracts/{contract.id}", json={"asset_ids": [asset.id]})
    make.work_order(site=make.site(customer=customer), contract_id=contract.id)
    blocked = client.delete(f"/api/v1/contracts/{contract.id}")
    assert blocked.status_code == 409 and "work orders" in blocked.json["detail"]
    free = make.contract(customer, number="C-3")
    client.patch(f"/api/v1/contracts/{free.id}", json={"asset_ids": [asset.id]})
    assert client.delete(f"/api/v1/contracts/{free.id}").status_code == 204
    assert count(ServiceContract) == 2 and count(AssetContract) == 1
    assert client.get(f"/api/v1/assets/{asset.id}").json["contract_ids"] == [contract.id]


def test_contract_filters(client, make):
    today = date.today()
    c1, c2 = make.customer(), make.customer()
    current = make.contract(c1, number="NOW")
    make.contract(c1, number="OLD", starts_on=date(2020, 1, 1), ends_on=date(2020, 12, 31))
    make.contract(c2, number="OTHER")

    def numbers(query):
        response = client.get("/api/v1/contracts?" + query)
        assert response.status_code == 200, response.json
        return sorted(c["number"] for c in response.json["items"])

    assert numbers(f"customer_id={c1.id}") == ["NOW", "OLD"]
    assert numbers("active_on=2020-06-01") == ["OLD"]
    assert numbers(f"active_on={today.isoformat()}&customer_id={c1.id}") == ["NOW"]
    assert numbers(f"active_on={(today + timedelta(days=3650)).isoformat()}") == []
    assert numbers("q=oth") == ["OTHER"]
    assert client.get(f"/api/v1/contracts/{current.id}").json["active"] is True
    assert client.get("/api/v1/contracts?active_on=yesterday").status_code == 422
    assert client.get("/api/v1/contracts?active_on=2024-02-30").status_code == 422
