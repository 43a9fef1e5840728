"""The dealership portal pages: calendar, booking forms with CSRF, only its own rows."""

from __future__ import annotations

import contextvars
import re
from datetime import timedelta

from tests.conftest import TEST_PASSWORD, make_user
from tests.recall.conftest import today_local


def _csrf(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, html
    return match.group(1).decode()


class Browser:
    """A test client whose requests run outside the test's app context.

    The `make` fixture keeps an app context pushed; requests would share its `g` (and the
    CSRF token cached there) instead of getting their own, as a real browser's do.
    """

    def __init__(self, app) -> None:
        self._client = app.test_client()

    def get(self, *args, **kwargs):
        return contextvars.Context().run(self._client.get, *args, **kwargs)

    def post(self, *args, **kwargs):
        return contextvars.Context().run(self._client.post, *args, **kwargs)


def _sign_in(app, dealership_id: int | None, role: str = "dealership"):
    links = {"dealership_id": dealership_id} if dealership_id else {}
    username = f"portal-{role}-{dealership_id}"
    make_user(app, role, username=username, **links)
    browser = Browser(app)
    page = browser.get("/login")
    response = browser.post("/login", data={"csrf_token": _csrf(page.data),
                                            "username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return browser


def test_a_dealership_books_moves_and_cancels_from_its_portal(app, client, recall,
                                                              tomorrow):
    dealer = recall.dealership(places=1, name="Azadi Auto")
    campaign = recall.campaign(vins=2)
    first, second = recall.vins(campaign)
    browser = _sign_in(app, dealer.id)
    page = browser.get("/portal")
    assert page.status_code == 200
    assert b"Azadi Auto" in page.data and campaign.code.encode() in page.data
    token = _csrf(page.data)

    done = browser.post("/portal/appointments", data={
        "csrf_token": token, "campaign_id": str(campaign.id), "vin": first,
        "day": tomorrow.isoformat()}, follow_redirects=True)
    assert done.status_code == 200 and b"Saved." in done.data
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 1)

    full = browser.post("/portal/appointments", data={
        "csrf_token": token, "campaign_id": str(campaign.id), "vin": second,
        "day": tomorrow.isoformat()}, follow_redirects=True)
    assert b"no free place" in full.data
    assert len(recall.appointments()) == 1

    bad = browser.post("/portal/appointments", data={
        "csrf_token": token, "campaign_id": "abc", "vin": second, "day": "x"},
        follow_redirects=True)
    assert bad.status_code == 200 and b"Not a valid id" in bad.data

    no_token = browser.post("/portal/appointments", data={
        "campaign_id": str(campaign.id), "vin": second, "day": tomorrow.isoformat()})
    assert no_token.status_code == 400

    (appt_id,) = [int(m) for m in re.findall(rb'<tr data-id="(\d+)"', done.data)]
    later = tomorrow + timedelta(days=1)
    moved = browser.post(f"/portal/appointments/{appt_id}/reschedule", data={
        "csrf_token": token, "day": later.isoformat()}, follow_redirects=True)
    assert b"Saved." in moved.data
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 0)
    cancelled = browser.post(f"/portal/appointments/{appt_id}/cancel",
                             data={"csrf_token": token}, follow_redirects=True)
    assert b"Saved." in cancelled.data
    assert recall.appointments()[0][1] == "cancelled"

    progress = browser.get(f"/portal/campaigns/{campaign.id}/progress")
    assert progress.status_code == 200 and b"Completion rate" in progress.data


def test_the_portal_shows_an_owner_only_once_booked_with_it(app, client, recall, tomorrow):
    dealer = recall.dealership(places=2)
    campaign = recall.campaign()
    booked = recall.owner(campaign, name="Sara Karimi")
    proposed = recall.owner(campaign, name="Reza Ahmadi")
    for asset in (booked, proposed):
        client.post("/api/v1/recall-appointments", json={
            "campaign_id": campaign.id, "vin": asset.vin, "dealership_id": dealer.id,
            "day": tomorrow.isoformat()})
    appts = client.get("/api/v1/recall-appointments").json["items"]
    second = next(a for a in appts if a["vin"] == proposed.vin)
    client.post(f"/api/v1/recall-appointments/{second['id']}/cancel", json={})
    client.post(f"/api/v1/recall-appointments/{second['id']}/reinvite",
                json={"dealership_id": dealer.id, "day": tomorrow.isoformat()})
    page = _sign_in(app, dealer.id).get("/portal")
    assert b"Sara Karimi" in page.data
    assert proposed.vin.encode() in page.data and b"Reza Ahmadi" not in page.data


def test_the_portal_is_for_dealership_users_and_their_own_rows(app, client, recall, tomorrow):
    mine, theirs = recall.dealership(), recall.dealership()
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    other = client.post("/api/v1/recall-appointments", json={
        "campaign_id": campaign.id, "vin": v, "dealership_id": theirs.id,
        "day": today_local().isoformat()}).json
    browser = _sign_in(app, mine.id)
    token = _csrf(browser.get("/portal").data)
    for action in ("cancel", "complete", "no-show", "reschedule"):
        response = browser.post(f"/portal/appointments/{other['id']}/{action}",
                                data={"csrf_token": token})
        assert response.status_code == 404, action
    assert recall.appointments()[0][1] == "booked"
    assert Browser(app).get("/portal").status_code == 302  # sign in first
    agent = _sign_in(app, None, role="agent")
    assert agent.get("/portal").status_code == 403
