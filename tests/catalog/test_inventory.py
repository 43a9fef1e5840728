"""/api/v1/parts and /api/v1/warehouses (places only, no stock)."""

from fieldsvc.models import Part, StockLevel, Warehouse

from .conftest import PROBLEM


def test_part_crud_cost_as_decimal_string(client, count):
    created = client.post("/api/v1/parts", json={"sku": "TNR-12A", "name": "Toner 12A",
                                                 "unit_cost": "45.5", "serialized": False})
    assert created.status_code == 201, created.json
    assert created.json["unit_cost"] == "45.50"
    as_number = client.post("/api/v1/parts", json={"sku": "FUSER", "name": "Fuser unit",
                                                   "unit_cost": 120.25, "serialized": True})
    assert as_number.json["unit_cost"] == "120.25"
    assert client.get(f"/api/v1/parts/{as_number.json['id']}").json["unit_cost"] == "120.25"
    assert [p["sku"] for p in client.get("/api/v1/parts?q=toner").json["items"]] == ["TNR-12A"]
    assert [p["sku"] for p in client.get("/api/v1/parts?sort=-unit_cost").json["items"]] == [
        "FUSER", "TNR-12A"]
    free = client.patch(f"/api/v1/parts/{created.json['id']}", json={"unit_cost": None})
    assert free.status_code == 200 and free.json["unit_cost"] is None
    assert count(Part) == 2


def test_bad_part_input_is_422_and_duplicates_409(client, make, count):
    make.part(sku="DUP-1")
    for body, field in [({"sku": "A", "name": "N", "unit_cost": "-0.01"}, "unit_cost"),
                        ({"sku": "A", "name": "N", "unit_cost": "1.005"}, "unit_cost"),
                        ({"sku": "A", "name": "N", "unit_cost": "NaN"}, "unit_cost"),
                        ({"sku": "A", "name": "N", "unit_cost": "abc"}, "unit_cost"),
                        ({"sku": "A", "name": "N", "unit_cost": "1e12"}, "unit_cost"),
                        ({"sku": "", "name": "N"}, "sku"),
                        ({"sku": "A B", "name": "N"}, "sku"),
                        ({"sku": "A", "name": "N", "serialized": "sometimes"}, "serialized"),
                        ({"name": "N"}, "sku")]:
        response = client.post("/api/v1/parts", json=body)
        assert response.status_code == 422, body
        assert response.mimetype == PROBLEM and field in response.json["errors"], body
    dup = client.post("/api/v1/parts", json={"sku": "DUP-1", "name": "N"})
    assert dup.status_code == 409 and "DUP-1" in dup.json["detail"]
    assert count(Part) == 1


def test_part_with_stock_cannot_be_deleted(client, make):
    part, place = make.part(), make.warehouse()
    make.session.add(StockLevel(part_id=part.id, warehouse_id=place.id, on_hand=3))
    make.session.commit()
    blocked = client.delete(f"/api/v1/parts/{part.id}")
    assert blocked.status_code == 409 and "stock levels" in blocked.json["detail"]
    place_blocked = client.delete(f"/api/v1/warehouses/{place.id}")
    assert place_blocked.status_code == 409
    assert client.delete(f"/api/v1/parts/{make.part().id}").status_code == 204


def test_warehouse_crud_filters_and_no_stock_in_output(client, make, count):
    central = client.post("/api/v1/warehouses", json={
        "code": "WH-THR", "name": "Tehran central", "kind": "central", "region": "Tehran",
        "address": "Azadi St.", "latitude": 35.69, "longitude": 51.39})
    assert central.status_code == 201, central.json
    assert central.json["technician_id"] is None
    assert not {"stock", "stock_levels", "on_hand"} & set(central.json)
    client.post("/api/v1/warehouses", json={"code": "WH-ISF", "name": "Isfahan",
                                            "kind": "regional", "region": "Isfahan"})
    client.post("/api/v1/warehouses", json={"code": "Q-1", "name": "Quarantine",
                                            "kind": "quarantine", "region": "Tehran"})

    def codes(query):
        response = client.get("/api/v1/warehouses?" + query)
        assert response.status_code == 200, response.json
        return [w["code"] for w in response.json["items"]]

    assert codes("kind=regional") == ["WH-ISF"]
    assert codes("region=Tehran") == ["Q-1", "WH-THR"]
    assert codes("q=isfa") == ["WH-ISF"]
    assert client.get("/api/v1/warehouses?kind=garage").status_code == 422
    moved = client.patch(f"/api/v1/warehouses/{central.json['id']}", json={"region": "Alborz"})
    assert moved.status_code == 200 and moved.json["region"] == "Alborz"
    assert client.delete(f"/api/v1/warehouses/{central.json['id']}").status_code == 204
    assert count(Warehouse) == 2


def test_bad_warehouse_input(client, make, count):
    make.warehouse(code="TAKEN")
    for body, field in [
        ({"code": "A", "name": "N", "kind": "garage"}, "kind"),
        ({"code": "A", "name": "N", "kind": "central", "latitude": 95, "longitude": 0},
         "latitude"),
        ({"code": "A", "name": "N", "kind": "central", "latitude": 35.0}, "longitude"),
        ({"code": "A", "name": "", "kind": "central"}, "name"),
        ({"code": "x" * 41, "name": "N", "kind": "central"}, "code"),
        ({"code": "A", "name": "N", "kind": "central", "region": "r" * 81}, "region"),
        ({"code": "A", "name": "N", "kind": "central", "stock": []}, "stock"),
    ]:
        response = client.post("/api/v1/warehouses", json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    dup = client.post("/api/v1/warehouses", json={"code": "TAKEN", "name": "N", "kind": "van"})
    assert dup.status_code == 409
    placed = make.warehouse(latitude=35.0, longitude=51.0)
    half = client.patch(f"/api/v1/warehouses/{placed.id}", json={"latitude": None})
    assert half.status_code == 422
    assert count(Warehouse) == 2
