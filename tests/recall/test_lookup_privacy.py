"""The VIN lookup as a dealership: its own appointments only."""

URL = "/api/v1/recall-appointments"
LOOKUP = "/api/v1/recalls/lookup"


def test_a_dealership_does_not_see_another_dealerships_appointment(client, client_as, recall,
                                                                   tomorrow):
    mine, theirs = recall.dealership(), recall.dealership()
    campaign = recall.campaign(phases=[("Tehran", tomorrow)])
    booked_there, invited_there, booked_here = (recall.owner(campaign) for _ in range(3))
    day = tomorrow.isoformat()
    for owner, at in ((booked_there, theirs), (booked_here, mine)):
        r = client.post(URL, json={"campaign_id": campaign.id, "vin": owner.vin,
                                   "dealership_id": at.id, "day": day})
        assert r.status_code == 201, r.json
    invite = client.post(URL, json={"campaign_id": campaign.id, "vin": invited_there.vin,
                                    "dealership_id": theirs.id, "day": day}).json
    client.post(f"{URL}/{invite['id']}/cancel", json={})
    client.post(f"{URL}/{invite['id']}/reinvite", json={"dealership_id": theirs.id,
                                                        "day": day})
    dealer = client_as("dealership", dealership_id=mine.id)

    def state(owner, who=dealer):
        r = who.get(LOOKUP, query_string={"vin": owner.vin})
        assert r.status_code == 200, r.json
        (found,) = r.json["campaigns"]
        return found["appointment"], found["bookable"]

    # Elsewhere: neither id nor status nor place; only whether it can still be booked.
    assert state(booked_there) == (None, False)
    assert state(invited_there) == (None, True)
    own, bookable = state(booked_here)
    assert (own["status"], own["dealership_id"], own["day"], bookable) == (
        "booked", mine.id, day, False)
    # Staff still see every appointment.
    assert state(booked_there, client)[0]["dealership_id"] == theirs.id
