"""/api/v1/products: catalog models."""

from fieldsvc.models import Product

from .conftest import PROBLEM


def test_product_crud_and_filters(client, count):
    created = client.post("/api/v1/products", json={
        "code": " LJ-4000 ", "name": "LaserJet 4000", "kind": "printer",
        "manufacturer": "HP", "warranty_months": 12, "meter_unit": "pages"})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["code"] == "LJ-4000"
    assert created.headers["Location"].endswith(f"/api/v1/products/{body['id']}")
    client.post("/api/v1/products", json={"code": "SAMAND", "name": "Samand LX", "kind": "car",
                                          "manufacturer": "IKCO", "meter_unit": "km"})
    cars = client.get("/api/v1/products?kind=car").json
    assert [p["code"] for p in cars["items"]] == ["SAMAND"]
    found = client.get("/api/v1/products?q=laserjet").json
    assert [p["code"] for p in found["items"]] == ["LJ-4000"]
    assert client.get("/api/v1/products?sort=-code").json["items"][0]["code"] == "SAMAND"
    changed = client.patch(f"/api/v1/products/{body['id']}", json={"warranty_months": 24})
    assert changed.status_code == 200 and changed.json["warranty_months"] == 24
    assert client.delete(f"/api/v1/products/{body['id']}").status_code == 204
    assert count(Product) == 1


def test_duplicate_code_is_409_and_writes_nothing(client, make, count):
    make.product(code="X1")
    dup = client.post("/api/v1/products", json={"code": "X1", "name": "Other", "kind": "other"})
    assert dup.status_code == 409 and dup.mimetype == PROBLEM
    assert "X1" in dup.json["detail"] and dup.json["field"] == "code"
    other = make.product(code="X2")
    renamed = client.patch(f"/api/v1/products/{other.id}", json={"code": "X1"})
    assert renamed.status_code == 409
    assert client.get(f"/api/v1/products/{other.id}").json["code"] == "X2"
    # Patching a product with its own code is not a conflict.
    assert client.patch(f"/api/v1/products/{other.id}", json={"code": "X2"}).status_code == 200
    assert count(Product) == 2


def test_bad_product_input_is_422(client, count):
    bad = client.post("/api/v1/products", json={
        "code": "has space", "name": "", "kind": "toaster", "warranty_months": -1,
        "meter_unit": "x" * 21, "manufacturer": 5, "colour": "red"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"code", "name", "kind", "warranty_months", "meter_unit",
                                       "manufacturer", "colour"}
    missing = client.post("/api/v1/products", json={})
    assert set(missing.json["errors"]) == {"code", "name", "kind"}
    blank = client.post("/api/v1/products", json={"code": "   ", "name": "N", "kind": "car"})
    assert blank.status_code == 422 and "code" in blank.json["errors"]
    as_string = client.post("/api/v1/products",
                            json={"code": "A", "name": "N", "kind": "car", "warranty_months": "12"})
    assert as_string.status_code == 422
    assert client.get("/api/v1/products?kind=toaster").status_code == 422
    assert client.get("/api/v1/products/999").status_code == 404
    assert count(Product) == 0


def test_product_with_assets_cannot_be_deleted(client, make):
    asset = make.asset()
    blocked = client.delete(f"/api/v1/products/{asset.product_id}")
    assert blocked.status_code == 409
    assert "1 assets" in blocked.json["detail"]
    assert client.get(f"/api/v1/products/{asset.product_id}").status_code == 200


def test_product_skills_round_trip_and_replace(client, make):
    car, brakes, electrical = make.skill("car"), make.skill("brakes"), make.skill("electrical")
    created = client.post("/api/v1/products", json={
        "code": "DENA", "name": "Dena+", "kind": "car",
        "skills": [{"skill_id": car.id, "min_level": 3}, {"skill_id": brakes.id}]})
    assert created.status_code == 201, created.json
    ident = created.json["id"]
    assert created.json["skills"] == [{"skill_id": car.id, "min_level": 3},
                                      {"skill_id": brakes.id, "min_level": 1}]
    listed = client.get("/api/v1/products?kind=car").json["items"]
    assert listed[0]["skills"] == created.json["skills"]
    # A PATCH without skills keeps them; with skills it replaces the whole list, and may
    # name a skill of the old list again.
    assert client.patch(f"/api/v1/products/{ident}",
                        json={"name": "Dena Plus"}).json["skills"] == created.json["skills"]
    replaced = client.patch(f"/api/v1/products/{ident}", json={
        "skills": [{"skill_id": car.id, "min_level": 5}, {"skill_id": electrical.id,
                                                          "min_level": 2}]})
    assert replaced.status_code == 200, replaced.json
    assert client.get(f"/api/v1/products/{ident}").json["skills"] == [
        {"skill_id": car.id, "min_level": 5}, {"skill_id": electrical.id, "min_level": 2}]
    cleared = client.patch(f"/api/v1/products/{ident}", json={"skills": []})
    assert cleared.json["skills"] == []
    # A skill a product declares cannot be deleted from under it.
    client.patch(f"/api/v1/products/{ident}", json={"skills": [{"skill_id": brakes.id}]})
    refused = client.delete(f"/api/v1/skills/{brakes.id}")
    assert refused.status_code == 409 and "products" in refused.json["detail"]
    # Deleting the product takes its skill list with it.
    assert client.delete(f"/api/v1/products/{ident}").status_code == 204
    assert client.delete(f"/api/v1/skills/{brakes.id}").status_code == 204


def test_bad_product_skills_are_422_and_change_nothing(client, make, count):
    car = make.skill("car")
    product = make.product(code="KEPT")
    make.product_skill(product, car, 2)
    cases = {
        "unknown skill": [{"skill_id": 999_999}],
        "level too high": [{"skill_id": car.id, "min_level": 6}],
        "level too low": [{"skill_id": car.id, "min_level": 0}],
        "listed twice": [{"skill_id": car.id}, {"skill_id": car.id, "min_level": 3}],
        "level as text": [{"skill_id": car.id, "min_level": "2"}],
        "unknown key": [{"skill_id": car.id, "level": 2}],
        "not a list": {"skill_id": car.id},
    }
    for label, skills in cases.items():
        new = client.post("/api/v1/products", json={"code": "NEW", "name": "N", "kind": "car",
                                                    "skills": skills})
        assert new.status_code == 422 and new.mimetype == PROBLEM, label
        assert "skills" in new.json["errors"], (label, new.json)
        patched = client.patch(f"/api/v1/products/{product.id}",
                               json={"name": "Changed", "skills": skills})
        assert patched.status_code == 422, label
    twice = client.post("/api/v1/products", json={
        "code": "NEW", "name": "N", "kind": "car",
        "skills": [{"skill_id": car.id}, {"skill_id": car.id}]}).json
    assert twice["errors"]["skills"] == {"1": {"skill_id": ["Listed twice."]}}
    unknown = client.post("/api/v1/products", json={
        "code": "NEW", "name": "N", "kind": "car", "skills": [{"skill_id": 999_999}]}).json
    assert unknown["errors"]["skills"] == {"0": {"skill_id": ["No skill with id 999999."]}}
    kept = client.get(f"/api/v1/products/{product.id}").json
    assert kept["name"] != "Changed" and kept["skills"] == [{"skill_id": car.id, "min_level": 2}]
    assert count(Product) == 1
