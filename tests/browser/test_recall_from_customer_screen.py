"""A recall booked from the customer screen in a real browser, in English and in Persian:
the car on an active recall is listed although its owner was never invited, and booking
it takes a place of the dealership's day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldsvc.extensions import db
from tests.factories import Factories
from tests.recall.conftest import Recall, today_local

TEXTS = {
    "en": ("Recall appointment booked.", "affected, not booked yet"),
    "fa": ("نوبت فراخوان رزرو شد.", "مشمول، هنوز نوبت نگرفته"),
}


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_agent_books_a_recall_from_the_customer_screen(page, login, app, lang):
    done, affected = TEXTS[lang]
    with app.app_context():
        recall = Recall(Factories(db.session), app)
        dealer = recall.dealership(places=1, name="Pars Motors", region="Tehran")
        campaign = recall.campaign(code="RC-SCREEN", title="Brake hose")
        asset = recall.owner(campaign, name="Reza Tehrani")
        ids = (dealer.id, campaign.id, asset.customer_id, asset.vin)
        db.session.remove()
    dealer_id, campaign_id, customer_id, vin = ids
    login("agent")
    page.goto(f"/console/customers/{customer_id}?lang={lang}")
    section = page.locator("#recalls")
    assert affected in section.inner_text() and vin in section.inner_text()
    form = page.locator(f"#book-affected-{campaign_id}-{vin}")
    form.locator("select[name=dealership_id]").select_option(str(dealer_id))
    day = today_local() + timedelta(days=2)
    form.locator("input[name=day]").fill(day.isoformat())
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    flash = page.locator("p.flash").first.inner_text()
    assert done in flash
    assert affected not in page.inner_text("#recalls")
    assert recall.ledger(dealer_id, campaign_id, day) == (1, 1)
