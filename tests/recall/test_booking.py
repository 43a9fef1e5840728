"""Booking against dealership capacity: 201, 409 when full, refusals change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldsvc.models.enums import CampaignStatus
from tests.recall.conftest import today_local, vin

URL = "/api/v1/recall-appointments"


def book(client, campaign, dealership, day, vin_):
    return client.post(URL, json={"campaign_id": campaign.id, "vin": vin_,
                                  "dealership_id": dealership.id, "day": day.isoformat()})


def test_booking_takes_a_place_and_the_calendar_shows_it(client, recall, tomorrow):
    dealer = recall.dealership(places=2)
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    response = book(client, campaign, dealer, tomorrow, v.lower())
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["status"], body["vin"], body["day"]) == ("booked", v, tomorrow.isoformat())
    assert body["booked_at"] and response.headers["Location"].endswith(f"/{body['id']}")
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (2, 1)
    cal = client.get(f"/api/v1/dealerships/{dealer.id}/capacity",
                     query_string={"from": tomorrow.isoformat(), "to": tomorrow.isoformat(),
                                   "campaign_id": campaign.id})
    assert cal.status_code == 200
    (day,) = cal.json["days"]
    assert (day["capacity"], day["booked"], day["free"]) == (2, 1, 1)


def test_a_full_day_is_409_and_nothing_changes(client, recall, tomorrow):
    dealer = recall.dealership(places=1)
    campaign = recall.campaign(vins=2)
    first, second = recall.vins(campaign)
    assert book(client, campaign, dealer, tomorrow, first).status_code == 201
    response = book(client, campaign, dealer, tomorrow, second)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["type"].endswith("/day-full")
    assert response.json["capacity"] == 1
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 1)
    assert [a[0] for a in recall.appointments(campaign.id)] == [first]


def test_the_same_vin_cannot_be_booked_twice(client, recall, tomorrow):
    dealer = recall.dealership(places=3)
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    assert book(client, campaign, dealer, tomorrow, v).status_code == 201
    again = book(client, campaign, dealer, tomorrow + timedelta(days=1), v)
    assert again.status_code == 409 and again.json["type"].endswith("/already-booked")
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (3, 1)
    assert recall.ledger(dealer.id, campaign.id, tomorrow + timedelta(days=1)) is None


@pytest.mark.parametrize("change, slug", [
    ({"parts_available": False}, "remedy-unavailable"),
    ({"status": CampaignStatus.DRAFT}, "campaign-not-active"),
    ({"status": CampaignStatus.CLOSED}, "campaign-not-active"),
])
def test_no_booking_without_remedy_or_active_campaign(client, recall, tomorrow, change, slug):
    dealer = recall.dealership()
    campaign = recall.campaign(vins=1, **change)
    (v,) = recall.vins(campaign)
    response = book(client, campaign, dealer, tomorrow, v)
    assert response.status_code == 409 and response.json["type"].endswith(slug)
    assert recall.appointments() == []
    assert recall.ledger(dealer.id, campaign.id, tomorrow) is None


def test_bad_booking_input_is_422_and_writes_nothing(client, recall, tomorrow):
    dealer = recall.dealership()
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    good = {"campaign_id": campaign.id, "vin": v, "dealership_id": dealer.id,
            "day": tomorrow.isoformat()}
    cases = [
        ({**good, "vin": "TOO-SHORT"}, "vin"),
        ({**good, "vin": "JTDKB20U0O0000001"}, "vin"),  # O is not a VIN letter
        ({**good, "vin": vin()}, "vin"),  # well formed, not in the campaign
        ({**good, "vin": 12345}, "vin"),
        ({**good, "vin": "x" * 41}, "vin"),
        ({**good, "day": "2026-02-30"}, "day"),
        ({**good, "day": "tomorrow"}, "day"),
        ({**good, "day": (today_local() - timedelta(days=1)).isoformat()}, "day"),
        ({**good, "day": (today_local() + timedelta(days=400)).isoformat()}, "day"),
        ({**good, "campaign_id": 999999}, "campaign_id"),
        ({**good, "campaign_id": 2**70}, "campaign_id"),
        ({**good, "dealership_id": 999999}, "dealership_id"),
        ({**good, "dealership_id": "1"}, "dealership_id"),
        ({**good, "status": "completed"}, "status"),
        ({k: v for k, v in good.items() if k != "day"}, "day"),
        ({**good, "notes": "bad\x00note"}, "notes"),
    ]
    for body, field in cases:
        response = client.post(URL, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    assert client.post(URL, data="not json", content_type="application/json").status_code \
        in (400, 422)
    assert recall.appointments() == []
    assert recall.ledger(dealer.id, campaign.id, tomorrow) is None


def test_a_day_before_the_regions_phase_or_outside_it_is_refused(client, recall, tomorrow):
    dealer = recall.dealership(region="Isfahan")
    later = tomorrow + timedelta(days=10)
    campaign = recall.campaign(vins=1, phases=[("Tehran", tomorrow), ("Isfahan", later)])
    (v,) = recall.vins(campaign)
    early = book(client, campaign, dealer, tomorrow, v)
    assert early.status_code == 422 and "day" in early.json["errors"]
    assert book(client, campaign, dealer, later, v).status_code == 201
    elsewhere = recall.dealership(region="Shiraz")
    other = recall.campaign(vins=1, phases=[("Tehran", tomorrow)])
    (w,) = recall.vins(other)
    refused = book(client, other, elsewhere, later, w)
    assert refused.status_code == 422 and "dealership_id" in refused.json["errors"]


def test_holidays_and_closed_weekdays_have_no_places(client, recall, tomorrow):
    dealer = recall.dealership(places=2)
    client.post(f"/api/v1/dealerships/{dealer.id}/holidays",
                json={"day": tomorrow.isoformat(), "name": "Nowruz"})
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    response = book(client, campaign, dealer, tomorrow, v)
    assert response.status_code == 409
    cal = client.get(f"/api/v1/dealerships/{dealer.id}/capacity",
                     query_string={"from": tomorrow.isoformat(),
                                   "to": (tomorrow + timedelta(days=1)).isoformat()})
    holiday, next_day = cal.json["days"]
    assert holiday["holiday"] is True and holiday["holiday_name"] == "Nowruz"
    assert holiday["capacity"] == 0 and next_day["capacity"] == 2
    assert next_day["campaigns"][0]["campaign_id"] == campaign.id
