"""Allocation through the API and the CLI: invitations written, capacity held, reasons given."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tests.recall.conftest import today_local

URL = "/api/v1/recall-campaigns"


def _scenario(recall, tomorrow):
    today = today_local()
    # Two Tehran dealerships with 2 places a day; Isfahan's phase starts in ten days.
    west = recall.dealership(places=2, region="Tehran", latitude=35.70, longitude=51.30)
    east = recall.dealership(places=2, region="Tehran", latitude=35.70, longitude=51.50)
    recall.dealership(places=2, region="Isfahan", latitude=32.65, longitude=51.67)
    campaign = recall.campaign(phases=[("Tehran", today), ("Isfahan", today +
                                                            timedelta(days=10))])
    near_west = [recall.owner(campaign, "Tehran", 35.70, 51.31) for _ in range(3)]
    near_east = [recall.owner(campaign, "Tehran", 35.71, 51.49) for _ in range(2)]
    isfahan = recall.owner(campaign, "Isfahan", 32.66, 51.66)
    shiraz = recall.owner(campaign, "Shiraz", 29.6, 52.5)
    unknown = recall.add_vin(campaign)
    return campaign, west, east, near_west, near_east, isfahan, shiraz, unknown


def test_allocation_invites_the_active_phase_to_the_nearest_free_days(client, recall,
                                                                      tomorrow):
    campaign, west, east, near_west, near_east, isfahan, shiraz, unknown = \
        _scenario(recall, tomorrow)
    response = client.post(f"{URL}/{campaign.id}/allocate", json={"horizon_days": 1})
    assert response.status_code == 200, response.json
    report = response.json
    assert report["first_day"] == report["last_day"] == tomorrow.isoformat()
    # 5 Tehran owners for 4 places tomorrow: 4 invited, the farthest-off one left over.
    assert report["invited"] == 4 and report["waiting_for_phase"] == 1
    assert report["unplaced_by_reason"] == {"no-free-place": 1, "no-phase": 1,
                                            "unknown-owner": 1}
    reasons = {row["vin"]: row["code"] for row in report["unplaced_owners"]}
    assert reasons[shiraz.vin] == "no-phase" and reasons[unknown] == "unknown-owner"
    assert isfahan.vin not in reasons
    rows = recall.appointments(campaign.id)
    assert all(status == "invited" and day == tomorrow for _, status, _, day in rows)
    per_dealer = Counter(d for _, _, d, _ in rows)
    assert per_dealer == {west.id: 2, east.id: 2}
    assert {v for v, _, d, _ in rows if d == east.id} >= {a.vin for a in near_east}
    # Invitations hold their places: the ledger is full, a booking now is refused.
    assert recall.ledger(west.id, campaign.id, tomorrow) == (2, 2)
    assert recall.ledger(east.id, campaign.id, tomorrow) == (2, 2)
    left = next(v for v in (a.vin for a in near_west + near_east) if v in reasons)
    full = client.post("/api/v1/recall-appointments", json={
        "campaign_id": campaign.id, "vin": left, "dealership_id": west.id,
        "day": tomorrow.isoformat()})
    assert full.status_code == 409


def test_allocating_again_invites_only_those_still_without_a_place(client, recall, tomorrow):
    campaign, west, east, *_ = _scenario(recall, tomorrow)
    first = client.post(f"{URL}/{campaign.id}/allocate", json={"horizon_days": 1}).json
    second = client.post(f"{URL}/{campaign.id}/allocate", json={"horizon_days": 2}).json
    assert first["invited"] == 4 and second["invited"] == 1
    assert len(recall.appointments(campaign.id)) == 5
    third = client.post(f"{URL}/{campaign.id}/allocate", json={"horizon_days": 2}).json
    assert third["invited"] == 0 and len(recall.appointments(campaign.id)) == 5


def test_allocation_refusals(client, recall, tomorrow):
    blocked = recall.campaign(vins=1, parts_available=False)
    response = client.post(f"{URL}/{blocked.id}/allocate", json={})
    assert response.status_code == 409 and response.json["type"].endswith("remedy-unavailable")
    waiting = recall.campaign(vins=1, phases=[("Tehran", tomorrow + timedelta(days=3))])
    response = client.post(f"{URL}/{waiting.id}/allocate", json={})
    assert response.status_code == 409 and response.json["type"].endswith("no-active-phase")
    for body in ({"horizon_days": 0}, {"horizon_days": 500}, {"horizon_days": "3"},
                 {"days": 3}):
        assert client.post(f"{URL}/{waiting.id}/allocate", json=body).status_code == 422
    assert client.post(f"{URL}/999999/allocate", json={}).status_code == 404
    assert recall.appointments() == []


def test_cli_allocate_prints_the_outcome_and_commits(runner, recall, tomorrow):
    campaign, west, east, *_ = _scenario(recall, tomorrow)
    result = runner.invoke(args=["recall", "allocate", campaign.code, "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "invited 4 owners" in result.output and "no-free-place: 1" in result.output
    assert len(recall.appointments(campaign.id)) == 4
    missing = runner.invoke(args=["recall", "allocate", "NOPE"])
    assert missing.exit_code != 0 and "No recall campaign" in missing.output
    blocked = recall.campaign(vins=1, parts_available=False)
    refused = runner.invoke(args=["recall", "allocate", blocked.code])
    assert refused.exit_code != 0 and "not available" in refused.output


def test_progress_per_campaign_dealership_and_region(client, recall, tomorrow):
    campaign, west, east, near_west, *_ = _scenario(recall, tomorrow)
    client.post(f"{URL}/{campaign.id}/allocate", json={"horizon_days": 1})
    appts = client.get("/api/v1/recall-appointments",
                       query_string={"campaign_id": campaign.id}).json["items"]
    client.post(f"/api/v1/recall-appointments/{appts[0]['id']}/book", json={})
    client.post(f"/api/v1/recall-appointments/{appts[1]['id']}/cancel", json={})
    response = client.get(f"{URL}/{campaign.id}/progress")
    assert response.status_code == 200
    body = response.json
    totals = body["totals"]
    assert totals["involved"] == 8
    assert (totals["invited"], totals["booked"], totals["cancelled"]) == (2, 1, 1)
    assert totals["completed"] == 0 and totals["completion_rate"] == 0
    regions = {r["region"]: r for r in body["by_region"]}
    assert regions["Tehran"]["involved"] == 5 and regions["Isfahan"]["involved"] == 1
    assert regions["unknown"]["involved"] == 1
    (day,) = body["days"]
    assert day == {"day": tomorrow.isoformat(), "capacity": 4, "booked": 3,
                   "utilization": 0.75}
    dealers = {d["dealership_id"]: d for d in body["by_dealership"]}
    assert sum(d["places_taken"] for d in dealers.values()) == 3
    assert client.get(f"{URL}/999999/progress").status_code == 404


def test_a_reinvited_no_show_gets_a_new_place_from_the_next_allocation(client, recall,
                                                                       tomorrow):
    today = today_local()
    dealer = recall.dealership(places=2)
    campaign = recall.campaign()
    asset = recall.owner(campaign)
    appt = client.post("/api/v1/recall-appointments", json={
        "campaign_id": campaign.id, "vin": asset.vin, "dealership_id": dealer.id,
        "day": today.isoformat()}).json
    client.post(f"/api/v1/recall-appointments/{appt['id']}/no-show", json={})
    again = client.post(f"/api/v1/recall-appointments/{appt['id']}/reinvite", json={})
    assert again.status_code == 200 and again.json["dealership_id"] is None
    report = client.post(f"{URL}/{campaign.id}/allocate", json={"horizon_days": 3}).json
    assert report["invited"] == 1
    assert recall.appointments(campaign.id) == [(asset.vin, "invited", dealer.id, tomorrow)]
