"""/api/v1/skills and /api/v1/technicians with absences and certifications."""

from datetime import timedelta

from fieldsvc.models import (
    Absence,
    Certification,
    Shift,
    Skill,
    Technician,
    TechnicianSkill,
    Warehouse,
    WorkOrderSkill,
)

from .conftest import PROBLEM


def _tech(**kw):
    body = {"code": "T1", "name": "Reza", "home_latitude": 35.7, "home_longitude": 51.4}
    body.update(kw)
    return body


def test_skill_codes_are_unique_slugs(client, count):
    created = client.post("/api/v1/skills", json={"code": "hvac-2", "name": "HVAC level 2"})
    assert created.status_code == 201
    dup = client.post("/api/v1/skills", json={"code": "hvac-2", "name": "Again"})
    assert dup.status_code == 409 and "hvac-2" in dup.json["detail"]
    for code in ["HVAC", "has space", "-lead", "a--b", "", "x" * 61]:
        bad = client.post("/api/v1/skills", json={"code": code, "name": "N"})
        assert bad.status_code == 422 and "code" in bad.json["errors"], code
    assert client.get("/api/v1/skills?q=hvac").json["total"] == 1
    assert count(Skill) == 1


def test_skill_in_use_cannot_be_deleted(client, make):
    used_by_tech, used_by_job, free = make.skill("a"), make.skill("b"), make.skill("c")
    make.technician(skills={used_by_tech: 3})
    order = make.work_order()
    client_url = "/api/v1/skills/{}"
    make.session.add(WorkOrderSkill(work_order_id=order.id, skill_id=used_by_job.id,
                                    min_level=2))
    make.session.commit()
    tech_block = client.delete(client_url.format(used_by_tech.id))
    assert tech_block.status_code == 409 and "technicians" in tech_block.json["detail"]
    job_block = client.delete(client_url.format(used_by_job.id))
    assert job_block.status_code == 409 and "work orders" in job_block.json["detail"]
    assert client.delete(client_url.format(free.id)).status_code == 204


def test_create_technician_with_skills_shifts_and_a_new_van(client, make, count):
    electrical, hvac = make.skill("electrical"), make.skill("hvac")
    created = client.post("/api/v1/technicians", json=_tech(
        email="reza@example.com", territory="tehran-north", timezone="Asia/Tehran",
        skills=[{"skill_id": electrical.id, "level": 4}, {"skill_id": hvac.id, "level": 2}],
        shifts=[{"weekday": 5, "start_time": "08:00", "end_time": "16:00"},
                {"weekday": 0, "start_time": "09:00", "end_time": "17:30"}]))
    assert created.status_code == 201, created.json
    body = created.json
    assert sorted((s["code"], s["level"]) for s in body["skills"]) == [
        ("electrical", 4), ("hvac", 2)]
    assert [s["weekday"] for s in body["shifts"]] == [0, 5]
    assert body["shifts"][0]["end_time"].startswith("17:30")
    van = client.get(f"/api/v1/warehouses/{body['van_warehouse_id']}").json
    assert van["code"] == "VAN-T1" and van["kind"] == "van"
    assert van["technician_id"] == body["id"]
    assert body["break_minutes"] == 30 and body["max_work_minutes"] == 480
    assert count(Warehouse) == 1


def test_technician_takes_a_given_unused_van(client, make, count):
    van = make.warehouse(kind="van", code="VAN-SPARE")
    central = make.warehouse(kind="central")
    created = client.post("/api/v1/technicians", json=_tech(van_warehouse_id=van.id))
    assert created.status_code == 201 and created.json["van_warehouse_id"] == van.id
    taken = client.post("/api/v1/technicians", json=_tech(code="T2", van_warehouse_id=van.id))
    assert taken.status_code == 409 and "VAN-SPARE" in taken.json["detail"]
    not_a_van = client.post("/api/v1/technicians",
                            json=_tech(code="T3", van_warehouse_id=central.id))
    assert not_a_van.status_code == 422 and "van_warehouse_id" in not_a_van.json["errors"]
    missing = client.post("/api/v1/technicians", json=_tech(code="T4", van_warehouse_id=999))
    assert missing.status_code == 422
    assert count(Technician) == 1 and count(Warehouse) == 2
    # A van may not stop being a van while a technician drives it.
    assert client.patch(f"/api/v1/warehouses/{van.id}", json={"kind": "central"}).status_code \
        == 409


def test_bad_technician_input_is_422_and_writes_nothing(client, make, count):
    skill = make.skill("s")
    cases = {
        "home_latitude": _tech(home_latitude=91),
        "home_longitude": _tech(home_longitude=-181),
        "timezone": _tech(timezone="Tehran"),
        "skills": _tech(skills=[{"skill_id": skill.id, "level": 6}]),
        "shifts": _tech(shifts=[{"weekday": 7, "start_time": "08:00", "end_time": "17:00"}]),
        "break_window_end": _tech(break_window_start="14:00", break_window_end="12:00"),
        "break_minutes": _tech(break_minutes=180),  # longer than the 12–14 window
        "max_work_minutes": _tech(max_work_minutes=0),
        "overtime_limit_minutes": _tech(overtime_limit_minutes=-5),
        "email": _tech(email="not-an-email"),
        "code": _tech(code="T 1"),
    }
    for field, body in cases.items():
        response = client.post("/api/v1/technicians", json=body)
        assert response.status_code == 422, (field, response.json)
        assert response.mimetype == PROBLEM
        assert field in response.json["errors"], (field, response.json)
    required = client.post("/api/v1/technicians", json={"code": "T9", "name": "N"})
    assert set(required.json["errors"]) == {"home_latitude", "home_longitude"}
    for skills in ([{"skill_id": skill.id, "level": 1}, {"skill_id": skill.id, "level": 2}],
                   [{"skill_id": 999, "level": 1}], [{"level": 1}]):
        response = client.post("/api/v1/technicians", json=_tech(skills=skills))
        assert response.status_code == 422 and "skills" in response.json["errors"], skills
    for shifts in ([{"weekday": 1, "start_time": "08:00", "end_time": "12:00"},
                    {"weekday": 1, "start_time": "13:00", "end_time": "17:00"}],
                   [{"weekday": 1, "start_time": "17:00", "end_time": "08:00"}],
                   [{"weekday": 1, "start_time": "25:00", "end_time": "26:00"}]):
        response = client.post("/api/v1/technicians", json=_tech(shifts=shifts))
        assert response.status_code == 422 and "shifts" in response.json["errors"], shifts
    one_sided = client.post("/api/v1/technicians", json=_tech(break_window_start=None))
    assert one_sided.status_code == 422
    no_window = client.post("/api/v1/technicians", json=_tech(
        code="NW", break_window_start=None, break_window_end=None))
    assert no_window.status_code == 201
    assert count(Technician) == 1 and count(TechnicianSkill) == 0 and count(Warehouse) == 1


def test_duplicate_technician_code_is_409(client, make, count):
    make.technician(code="DUP")
    response = client.post("/api/v1/technicians", json=_tech(code="DUP"))
    assert response.status_code == 409 and "DUP" in response.json["detail"]
    assert count(Technician) == 1


def test_patch_replaces_skills_and_shifts_only_when_given(client, make, count):
    a, b = make.skill("a"), make.skill("b")
    tech = make.technician(skills={a: 2})
    url = f"/api/v1/technicians/{tech.id}"
    renamed = client.patch(url, json={"name": "New name"}).json
    assert [s["code"] for s in renamed["skills"]] == ["a"] and len(renamed["shifts"]) == 7
    swapped = client.patch(url, json={"skills": [{"skill_id": a.id, "level": 5},
                                                 {"skill_id": b.id, "level": 1}],
                                      "shifts": [{"weekday": 2, "start_time": "10:00",
                                                  "end_time": "14:00"}]})
    assert swapped.status_code == 200, swapped.json
    assert sorted((s["code"], s["level"]) for s in swapped.json["skills"]) == [
        ("a", 5), ("b", 1)]
    assert [s["weekday"] for s in swapped.json["shifts"]] == [2]
    assert count(TechnicianSkill) == 2 and count(Shift) == 1
    incomplete = client.patch(url, json={"shifts": [{"weekday": 3}]})
    assert incomplete.status_code == 422
    assert client.patch(url, json={"break_minutes": 500}).status_code == 422
    assert client.patch(url, json={"van_warehouse_id": None}).status_code == 422
    assert count(Shift) == 1


def test_technician_filters(client, make):
    elec = make.skill("electrical")
    t1 = make.technician(code="A1", territory="north", skills={elec: 4})
    t2 = make.technician(code="A2", territory="north", skills={elec: 2})
    t3 = make.technician(code="B1", territory="south", active=False)

    def codes(query):
        response = client.get("/api/v1/technicians?" + query)
        assert response.status_code == 200, response.json
        return [t["code"] for t in response.json["items"]]

    assert codes("territory=north") == ["A1", "A2"]
    assert codes("skill=electrical") == ["A1", "A2"]
    assert codes("skill=electrical&min_level=3") == ["A1"]
    assert codes("active=false") == ["B1"]
    assert codes("q=b1") == ["B1"]
    assert codes("skill=unknown") == []
    assert client.get("/api/v1/technicians?min_level=3").status_code == 422
    assert client.get("/api/v1/technicians?skill=electrical&min_level=9").status_code == 422
    assert client.get(f"/api/v1/technicians/{t1.id}").json["territory"] == "north"
    assert t2.id != t3.id


def test_technician_delete_rules(client, make, count):
    busy = make.technician()
    make.work_order(technician_id=busy.id)
    blocked = client.delete(f"/api/v1/technicians/{busy.id}")
    assert blocked.status_code == 409 and "work orders" in blocked.json["detail"]
    created = client.post("/api/v1/technicians", json=_tech(code="GONE")).json
    client.post(f"/api/v1/technicians/{created['id']}/absences", json={
        "starts_at": "2025-03-01T08:00:00+03:30", "ends_at": "2025-03-02T08:00:00+03:30"})
    assert client.delete(f"/api/v1/technicians/{created['id']}").status_code == 204
    assert count(Absence) == 0
    # The van stays (it may hold stock) and is taken over when the code comes back.
    again = client.post("/api/v1/technicians", json=_tech(code="GONE"))
    assert again.status_code == 201
    assert again.json["van_warehouse_id"] == created["van_warehouse_id"]


def test_absences_must_not_overlap(client, make, count):
    tech = make.technician()
    url = f"/api/v1/technicians/{tech.id}/absences"
    first = client.post(url, json={"starts_at": "2025-03-01T08:00:00Z",
                                   "ends_at": "2025-03-03T08:00:00Z", "reason": "Training"})
    assert first.status_code == 201, first.json
    overlap = client.post(url, json={"starts_at": "2025-03-02T12:00:00+03:30",
                                     "ends_at": "2025-03-05T08:00:00+03:30"})
    assert overlap.status_code == 409
    assert overlap.json["overlapping_absence_id"] == first.json["id"]
    touching = client.post(url, json={"starts_at": "2025-03-03T08:00:00Z",
                                      "ends_at": "2025-03-04T08:00:00Z"})
    assert touching.status_code == 201
    # Another technician's absences do not matter.
    other = make.technician()
    assert client.post(f"/api/v1/technicians/{other.id}/absences", json={
        "starts_at": "2025-03-01T08:00:00Z", "ends_at": "2025-03-03T08:00:00Z"}).status_code \
        == 201
    listed = client.get(url).json
    assert listed["total"] == 2 and listed["items"][0]["reason"] == "Training"
    for body in [{"starts_at": "2025-04-01T08:00:00", "ends_at": "2025-04-02T08:00:00"},
                 {"starts_at": "2025-04-02T08:00:00Z", "ends_at": "2025-04-01T08:00:00Z"},
                 {"starts_at": "2025-04-02T08:00:00Z", "ends_at": "2025-04-02T08:00:00Z"},
                 {"starts_at": "2025-04-01T08:00:00Z"},
                 {"starts_at": "soon", "ends_at": "2025-04-02T08:00:00Z"},
                 {"starts_at": "2025-04-01T08:00:00Z", "ends_at": "2025-04-02T08:00:00Z",
                  "reason": "x" * 201}]:
        assert client.post(url, json=body).status_code == 422, body
    assert count(Absence) == 3
    wrong_owner = client.delete(f"{url}/{listed['items'][0]['id'] + 2}")
    assert wrong_owner.status_code == 404
    assert client.delete(f"{url}/{listed['items'][0]['id']}").status_code == 204
    assert count(Absence) == 2
    assert client.get("/api/v1/technicians/999/absences").status_code == 404


def test_certifications_report_expiry(client, make, count, today):
    tech = make.technician()
    skill = make.skill("gas")
    url = f"/api/v1/technicians/{tech.id}/certifications"
    old = client.post(url, json={"name": "Gas safe", "skill_id": skill.id,
                                 "issued_on": "2020-01-01",
                                 "expires_on": (today - timedelta(days=1)).isoformat()})
    assert old.status_code == 201 and old.json["expired"] is True
    current = client.post(url, json={"name": "Gas safe", "skill_id": skill.id,
                                     "issued_on": today.isoformat(),
                                     "expires_on": today.isoformat()})
    assert current.json["expired"] is False
    forever = client.post(url, json={"name": "First aid", "issued_on": "2021-05-05"})
    assert forever.json["expired"] is False and forever.json["expires_on"] is None
    assert client.get(url).json["total"] == 3
    backwards = client.post(url, json={"name": "X", "issued_on": "2022-01-02",
                                       "expires_on": "2022-01-01"})
    assert backwards.status_code == 422 and "expires_on" in backwards.json["errors"]
    unknown = client.post(url, json={"name": "X", "issued_on": "2022-01-01", "skill_id": 999})
    assert unknown.status_code == 422 and "skill_id" in unknown.json["errors"]
    assert client.post(url, json={"issued_on": "2022-01-01"}).status_code == 422
    assert count(Certification) == 3
    assert client.delete(f"{url}/{old.json['id']}").status_code == 204
    assert client.delete(f"{url}/{old.json['id']}").status_code == 404
