"""Capacity overrides, the VIN lookup, and what a dealership may see and do."""

from __future__ import annotations

from datetime import timedelta

from fieldsvc.recall.services import check_digit

URL = "/api/v1/recall-appointments"


def cap_url(dealer, day=None):
    base = f"/api/v1/dealerships/{dealer.id}/capacity"
    return base if day is None else f"{base}/{day}"


def test_override_a_day_and_return_to_the_formula(client, recall, tomorrow):
    dealer = recall.dealership(places=2)
    campaign = recall.campaign(vins=3)
    vins = recall.vins(campaign)
    day = tomorrow.isoformat()
    response = client.put(cap_url(dealer, day), json={"campaign_id": campaign.id,
                                                       "capacity": 1})
    assert response.status_code == 200
    (row,) = response.json["days"]
    assert (row["capacity"], row["booked"], row["free"], row["overridden"]) == (1, 0, 1, True)
    assert client.post(URL, json={"campaign_id": campaign.id, "vin": vins[0],
                                  "dealership_id": dealer.id, "day": day}).status_code == 201
    assert client.post(URL, json={"campaign_id": campaign.id, "vin": vins[1],
                                  "dealership_id": dealer.id, "day": day}).status_code == 409
    below = client.put(cap_url(dealer, day), json={"campaign_id": campaign.id, "capacity": 0})
    assert below.status_code == 409
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 1)
    back = client.put(cap_url(dealer, day), json={"campaign_id": campaign.id, "capacity": None})
    assert back.status_code == 200 and back.json["days"][0]["capacity"] == 2
    assert back.json["days"][0]["overridden"] is False


def test_capacity_input_is_validated(client, recall, tomorrow):
    dealer = recall.dealership()
    campaign = recall.campaign()
    day = tomorrow.isoformat()
    for path, body in [
        (cap_url(dealer, "2026-13-01"), {"campaign_id": campaign.id, "capacity": 1}),
        (cap_url(dealer, "today"), {"campaign_id": campaign.id, "capacity": 1}),
        (cap_url(dealer, day), {"campaign_id": campaign.id, "capacity": -1}),
        (cap_url(dealer, day), {"campaign_id": campaign.id, "capacity": "3"}),
        (cap_url(dealer, day), {"campaign_id": campaign.id}),
        (cap_url(dealer, day), {"campaign_id": campaign.id, "capacity": 3}),  # day has 2
        (cap_url(dealer, day), {"campaign_id": 999999, "capacity": 2}),
        (cap_url(dealer, day), {"campaign_id": campaign.id, "capacity": 2, "booked": 0}),
    ]:
        response = client.put(path, json=body)
        assert response.status_code == 422, (path, body, response.json)
    assert recall.ledger(dealer.id, campaign.id, tomorrow) is None
    assert client.put(cap_url(type("D", (), {"id": 999999}), day),
                      json={"campaign_id": campaign.id, "capacity": 1}).status_code == 404
    for query in [{"from": day}, {"to": day}, {"from": "x", "to": day},
                  {"from": day, "to": (tomorrow - timedelta(days=1)).isoformat()},
                  {"from": day, "to": (tomorrow + timedelta(days=400)).isoformat()},
                  {"from": day, "to": day, "campaign_id": 999999},
                  {"from": day, "to": day, "campaign_id": 2**70},
                  {"from": day, "to": day, "bogus": 1}]:
        response = client.get(cap_url(dealer), query_string=query)
        assert response.status_code == 422, (query, response.json)


def test_check_digit_follows_iso_3779():
    assert check_digit("1M8GDM9AXKP042788") == "X"  # the textbook example
    assert check_digit("11111111111111111") == "1"


def test_lookup_reports_open_campaigns_and_booking_state(client, recall, tomorrow):
    dealer = recall.dealership()
    campaign = recall.campaign(phases=[("Tehran", tomorrow)])
    closed = recall.campaign(status="closed")
    asset = recall.owner(campaign)
    recall.add_vin(closed, asset.vin)
    empty = client.get("/api/v1/recalls/lookup", query_string={"vin": asset.vin})
    assert empty.status_code == 200
    (found,) = empty.json["campaigns"]  # the closed one is not open
    assert found["code"] == campaign.code and found["bookable"] is True
    assert found["appointment"] is None and found["phases"][0]["region"] == "Tehran"
    assert empty.json["asset_id"] == asset.id
    client.post(URL, json={"campaign_id": campaign.id, "vin": asset.vin,
                           "dealership_id": dealer.id, "day": tomorrow.isoformat()})
    booked = client.get("/api/v1/recalls/lookup", query_string={"vin": f" {asset.vin.lower()} "})
    state = booked.json["campaigns"][0]["appointment"]
    assert (state["status"], state["dealership_id"]) == ("booked", dealer.id)
    assert booked.json["campaigns"][0]["bookable"] is False


def test_lookup_validates_format_and_the_north_american_check_digit(client):
    good = "1M8GDM9AXKP042788"
    ok = client.get("/api/v1/recalls/lookup", query_string={"vin": good})
    assert ok.status_code == 200 and ok.json["check_digit_applies"] is True
    assert ok.json["campaigns"] == []
    wrong = client.get("/api/v1/recalls/lookup", query_string={"vin": "1M8GDM9A1KP042788"})
    assert wrong.status_code == 422 and "check digit" in wrong.json["errors"]["vin"][0]
    # Outside North America position 9 is free: reported, not refused.
    foreign = client.get("/api/v1/recalls/lookup", query_string={"vin": "WVWZZZ1JZ3W386752"})
    assert foreign.status_code == 200
    assert foreign.json["check_digit_applies"] is False and foreign.json["warnings"]
    for bad in ["", "SHORT", "WVWZZZ1JZ3W38675I", "x" * 41, "WVWZZZ1JZ3W3867\x00"]:
        assert client.get("/api/v1/recalls/lookup", query_string={"vin": bad}).status_code \
            == 422, bad
    assert client.get("/api/v1/recalls/lookup").status_code == 422
    assert client.get("/api/v1/recalls/lookup",
                      query_string={"vin": good, "x": "1"}).status_code == 422


def test_a_dealership_sees_and_books_only_its_own(client, client_as, recall, tomorrow):
    mine, theirs = recall.dealership(places=3), recall.dealership(places=3)
    campaign = recall.campaign()
    owners = [recall.owner(campaign, name=f"Owner {n}", phone=f"+98 912 000 00{n:02d}")
              for n in range(3)]
    dealer = client_as("dealership", dealership_id=mine.id)
    day = tomorrow.isoformat()

    assert dealer.get(cap_url(mine), query_string={"from": day, "to": day}).status_code == 200
    assert dealer.get(cap_url(theirs), query_string={"from": day, "to": day}).status_code \
        == 404
    assert dealer.put(cap_url(theirs, day), json={"campaign_id": campaign.id,
                                                  "capacity": 9}).status_code == 404
    assert dealer.put(cap_url(mine, day), json={"campaign_id": campaign.id,
                                                "capacity": 2}).status_code == 200
    refused = dealer.post(URL, json={"campaign_id": campaign.id, "vin": owners[0].vin,
                                     "dealership_id": theirs.id, "day": day})
    assert refused.status_code == 403
    assert recall.appointments() == []

    own = dealer.post(URL, json={"campaign_id": campaign.id, "vin": owners[0].vin,
                                 "dealership_id": mine.id, "day": day})
    assert own.status_code == 201
    assert own.json["owner"]["name"] == "Owner 0"  # booked with it: it sees the owner
    other = client.post(URL, json={"campaign_id": campaign.id, "vin": owners[1].vin,
                                   "dealership_id": theirs.id, "day": day}).json
    assert dealer.get(f"{URL}/{other['id']}").status_code == 404
    assert dealer.post(f"{URL}/{other['id']}/cancel", json={}).status_code == 404
    assert dealer.get(f"{URL}/{other['id']}/ics").status_code == 404
    listed = dealer.get(URL).json
    assert [a["id"] for a in listed["items"]] == [own.json["id"]]
    # The VIN lookup does not show a dealership another's booking, only that it cannot
    # book the owner.
    seen = dealer.get("/api/v1/recalls/lookup", query_string={"vin": owners[1].vin}).json
    assert seen["campaigns"][0]["appointment"] is None
    assert seen["campaigns"][0]["bookable"] is False

    # An invitation proposed to it is visible, but not the owner until the owner books.
    invite = client.post(URL, json={"campaign_id": campaign.id, "vin": owners[2].vin,
                                    "dealership_id": mine.id, "day": day}).json
    client.post(f"{URL}/{invite['id']}/cancel", json={})
    client.post(f"{URL}/{invite['id']}/reinvite", json={"dealership_id": mine.id, "day": day})
    proposed = dealer.get(f"{URL}/{invite['id']}").json
    assert proposed["status"] == "invited"
    assert proposed["owner"] is None and proposed["customer_id"] is None
    accepted = dealer.post(f"{URL}/{invite['id']}/book", json={})
    assert accepted.status_code == 200 and accepted.json["owner"]["name"] == "Owner 2"

    progress = dealer.get(f"/api/v1/recall-campaigns/{campaign.id}/progress").json
    assert progress["dealership_id"] == mine.id and progress["by_region"] is None
    assert [d["dealership_id"] for d in progress["by_dealership"]] == [mine.id]
    assert dealer.post(f"/api/v1/recall-campaigns/{campaign.id}/allocate",
                       json={}).status_code == 403


def test_an_agent_books_for_a_caller_but_cannot_allocate(client_as, make, recall, tomorrow):
    dealer = recall.dealership()
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    agent = client_as("agent")
    made = agent.post(URL, json={"campaign_id": campaign.id, "vin": v,
                                 "dealership_id": dealer.id, "day": tomorrow.isoformat()})
    assert made.status_code == 201
    assert agent.post(f"/api/v1/recall-campaigns/{campaign.id}/allocate",
                      json={}).status_code == 403
    technician = client_as("technician", technician_id=make.technician().id)
    assert technician.get(f"{URL}/{made.json['id']}").status_code == 403
