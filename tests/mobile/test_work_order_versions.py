"""Changing a work order's windows, skills, parts or checklist is a change to the work
order: its version and updated_at move, the technician's change feed and day carry it, and
a write made against the version before it is refused with 412."""

from __future__ import annotations

from datetime import UTC

import pytest

import mobile_api.changes
from tests.mobile.conftest import local, today


def _windows():
    return {"time_windows": [{"starts_at": local(10).astimezone(UTC).isoformat(),
                              "ends_at": local(12).astimezone(UTC).isoformat()}]}


def _payload(kind, make, world):
    if kind == "windows":
        return _windows()
    if kind == "checklist":
        return {"checklist": [{"item": "Check fuser", "done": False}]}
    if kind == "skills":
        return {"skills": [{"skill_id": make.skill(code="printer-laser").id, "min_level": 2}]}
    return {"parts": [{"part_id": world.part.id, "quantity": 3}]}


@pytest.mark.parametrize("kind", ["windows", "skills", "parts", "checklist"])
def test_a_patch_of_child_rows_moves_the_version_and_reaches_the_technician(
        kind, make, client, tech_client, world, monkeypatch):
    monkeypatch.setattr(mobile_api.changes, "SETTLE_SECONDS", 0)
    job = world.jobs[1]  # the 13:00 preventive visit, no parts booked against it
    url = f"/api/v1/work-orders/{job.id}"
    day_url = f"/api/mobile/v1/day?date={today().isoformat()}"
    before = client.get(url)
    version = before.json["version"]
    assert before.headers["ETag"] == f'"{version}"'
    day = tech_client.get(day_url)
    cursor = day.json["cursor"]

    payload = _payload(kind, make, world)
    r = client.patch(url, json=payload, headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.json
    assert r.json["version"] == version + 1
    assert r.json["updated_at"] > before.json["updated_at"]
    assert r.headers["ETag"] == f'"{version + 1}"'
    assert client.get(url).json["version"] == version + 1

    # The change feed brings the job with the new rows and version.
    feed = tech_client.get(f"/api/mobile/v1/changes?cursor={cursor}").json
    got = {c["job_id"]: c for c in feed["changes"]}
    assert got[job.id]["kind"] == "updated"
    assert got[job.id]["job"]["version"] == version + 1
    if kind == "windows":
        assert [w["starts_at"] for w in got[job.id]["job"]["time_windows"]] == [
            local(10).astimezone(UTC).isoformat()]
    if kind == "parts":
        assert [(p["part_id"], p["quantity"]) for p in got[job.id]["job"]["parts"]] == [
            (world.part.id, 3)]
    if kind == "checklist":
        assert [i["item"] for i in got[job.id]["job"]["checklist"]] == ["Check fuser"]
    # The cached day is rendered again with the new version.
    again = tech_client.get(day_url, headers={"If-None-Match": day.headers["ETag"]})
    assert again.status_code == 200
    assert {j["id"]: j["version"] for j in again.json["jobs"]}[job.id] == version + 1

    # Writes made against the version before the change are refused and change nothing.
    stale = client.patch(url, json={"summary": "Stale"}, headers={"If-Match": f'"{version}"'})
    assert stale.status_code == 412, stale.json
    assert stale.json["current_version"] == version + 1
    assert stale.headers["ETag"] == f'"{version + 1}"'
    phone = tech_client.post(f"/api/mobile/v1/jobs/{job.id}/status",
                             json={"to": "en_route"}, headers={"If-Match": f'"{version}"'})
    assert phone.status_code == 412, phone.json
    after = client.get(url).json
    assert after["version"] == version + 1 and after["summary"] != "Stale"
    assert after["status"] == "dispatched"


def test_removing_every_window_is_a_change_too(client, world):
    job = world.jobs[1]
    url = f"/api/v1/work-orders/{job.id}"
    version = client.get(url).json["version"]
    r = client.patch(url, json={"time_windows": []})
    assert r.status_code == 200 and r.json["time_windows"] == []
    assert r.json["version"] == version + 1
    # Sending the same (empty) list again changes nothing and keeps the version.
    r = client.patch(url, json={"time_windows": []})
    assert r.json["version"] == version + 1


def test_if_match_bad_or_wildcard(client, world):
    job = world.jobs[1]
    url = f"/api/v1/work-orders/{job.id}"
    version = client.get(url).json["version"]
    r = client.patch(url, json={"summary": "Yearly service"}, headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json["version"] == version + 1
    r = client.patch(url, json={"summary": "Other"}, headers={"If-Match": '"abc"'})
    assert r.status_code == 412
    assert client.get(url).json["summary"] == "Yearly service"
