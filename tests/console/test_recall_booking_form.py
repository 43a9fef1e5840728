"""Booking an invited recall from the customer screen: booked, or the full day's 409 shown
next to the form with nothing changed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fieldsvc.extensions import db
from fieldsvc.models.enums import AppointmentStatus
from fieldsvc.recall.models import RecallAppointment
from tests.factories import Factories
from tests.recall.conftest import Recall, today_local


class Ids:
    """Plain ids and values of the rows built (no ORM objects cross into the requests)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.fixture
def invited(app):
    """A customer whose car a campaign affects, invited; a dealership with one place a day.

    Built in an app context of its own: the signed-in test clients must not share `g`
    (and its CSRF token) with the test."""
    with app.app_context():
        recall = Recall(Factories(db.session), app)
        dealer = recall.dealership(places=1, name="Pars Motors", region="Tehran")
        campaign = recall.campaign(code="RC-CONSOLE", title="Brake hose")
        asset = recall.owner(campaign, name="Reza Tehrani")
        other = recall.owner(campaign, name="Someone Else")
        appointment = RecallAppointment(campaign_id=campaign.id, vin=asset.vin,
                                        asset_id=asset.id, customer_id=asset.customer_id,
                                        status=AppointmentStatus.INVITED)
        db.session.add(appointment)
        db.session.commit()
        ids = Ids(dealer=dealer.id, campaign=campaign.id, customer=asset.customer_id,
                  vin=asset.vin, other_customer=other.customer_id, other_vin=other.vin,
                  appointment=appointment.id)
        db.session.remove()
    return recall, ids


def _state(app, ident):
    with app.app_context():
        a = db.session.get(RecallAppointment, ident)
        out = (a.status.value, a.dealership_id, a.day)
        db.session.remove()
        return out


def _book(client, ids, customer_id, vin, day):
    return client.post(f"/console/customers/{customer_id}/recall-bookings", data={
        "csrf_token": client.csrf, "campaign_id": str(ids.campaign), "vin": vin,
        "dealership_id": str(ids.dealer), "day": day.isoformat()})


def test_agent_books_an_invited_recall_from_the_customer_screen(app, page_as, invited):
    recall, ids = invited
    client = page_as("agent")
    screen = client.get(f"/console/customers/{ids.customer}").get_data(as_text=True)
    assert "RC-CONSOLE" in screen and "Book this recall" in screen
    assert re.search(rf'<option value="{ids.dealer}"[^>]*>Pars Motors', screen)
    day = today_local() + timedelta(days=2)
    response = _book(client, ids, ids.customer, ids.vin, day)
    assert response.status_code == 302, response.data[:2000]
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recall appointment booked." in after
    assert "booked" in after.split('id="recalls"')[1].split("</section>")[0]
    assert _state(app, ids.appointment) == ("booked", ids.dealer, day)
    assert recall.ledger(ids.dealer, ids.campaign, day) == (1, 1)


def test_a_full_day_shows_the_409_message_next_to_the_form(app, page_as, invited):
    recall, ids = invited
    day = today_local() + timedelta(days=2)
    client = page_as("agent")
    first = _book(client, ids, ids.other_customer, ids.other_vin, day)
    assert first.status_code == 302, first.data[:2000]
    response = _book(client, ids, ids.customer, ids.vin, day)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    recalls = html.split('id="recalls"')[1].split("</section>")[0]
    assert "Book this recall" in recalls  # the form is shown again...
    # ...with why it was refused inside that form, not only as a banner at the top.
    form = recalls.split("<form")[1].split("</form>")[0]
    assert re.search(r'<p class="error">Pars Motors has no free place for campaign RC-CONSOLE '
                     r'on [0-9-]+ \(1 of 1 taken\)\.</p>', form), form
    assert _state(app, ids.appointment) == ("invited", None, None)
    assert recall.ledger(ids.dealer, ids.campaign, day) == (1, 1)


def test_a_refusal_for_a_recall_not_on_the_screen_is_still_said(app, page_as, invited):
    recall, ids = invited
    client = page_as("agent")
    response = _book(client, ids, ids.customer, "JTDKB20U0ZZZZZZZZ", today_local())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="flash" role="status">[^<]*not affected by campaign RC-CONSOLE',
                     html), html
    assert _state(app, ids.appointment) == ("invited", None, None)


def test_an_affected_car_not_yet_invited_is_listed_and_booked_from_the_screen(app, page_as,
                                                                              invited):
    recall, ids = invited
    client = page_as("agent")
    screen = client.get(f"/console/customers/{ids.other_customer}").get_data(as_text=True)
    recalls = screen.split('id="recalls"')[1].split("</section>")[0]
    assert '<span class="count">1</span>' in recalls  # not "Open recalls 0"
    assert ids.other_vin in recalls and "affected, not booked yet" in recalls
    assert "Book this recall" in recalls
    day = today_local() + timedelta(days=3)
    response = _book(client, ids, ids.other_customer, ids.other_vin, day)
    assert response.status_code == 302, response.data[:2000]
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    recalls = after.split('id="recalls"')[1].split("</section>")[0]
    assert "affected, not booked yet" not in recalls and "booked" in recalls
    assert recall.ledger(ids.dealer, ids.campaign, day) == (1, 1)
    # The one place of that day is gone: the invited customer's booking there is refused.
    refused = _book(client, ids, ids.customer, ids.vin, day)
    assert refused.status_code == 422
    assert recall.ledger(ids.dealer, ids.campaign, day) == (1, 1)
