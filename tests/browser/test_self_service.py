"""Customer self-service in a real browser at phone size (390×844), English and Persian:
booking a recall from the VIN and phone digits, and following a visit from its link. No
console errors and no horizontal scrolling on any screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldsvc.models.enums import WorkOrderStatus
from tests.selfservice.conftest import link_for, recall, tomorrow  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(page):
    """The tab at 390×844, recording console errors and uncaught page errors."""
    page.set_viewport_size({"width": 390, "height": 844})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def _fits(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
    assert page.errors == []


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_an_owner_books_a_recall_on_a_phone(phone, make, recall, tomorrow, lang):  # noqa: F811
    recall.dealership(places=2, name="Azadi Auto", address="Azadi Square, west side, Tehran")
    recall.dealership(places=2, name="Vanak Motors", latitude=35.76, longitude=51.41)
    campaign = recall.campaign(
        title="Driver airbag inflator may rupture in a crash",
        description="Replace the driver airbag inflator.",
    )
    vin = recall.owner(campaign, phone="+98 912 345 6789").vin
    phone.goto(f"/self-service?lang={lang}")
    assert phone.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
    _fits(phone)
    phone.fill("#vin", vin)
    phone.fill("#digits", "6789")
    with phone.expect_navigation():
        phone.click("#lookup-form button[type=submit]")
    assert campaign.code in phone.text_content(".ss-campaign h2")
    assert "Azadi Auto" in phone.text_content(".ss-campaign")
    _fits(phone)
    with phone.expect_navigation():
        phone.click(".ss-campaign form.ss-book button[type=submit] >> nth=0")
    assert phone.get_attribute(".ss-state", "data-state") == "booked"
    assert tomorrow.isoformat() in phone.text_content(".ss-state")
    assert phone.is_visible("a.ss-ics")
    _fits(phone)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_customer_follows_and_confirms_a_visit_on_a_phone(
    phone,
    make,
    link_for,  # noqa: F811
    lang,
):
    tech = make.technician(name="Reza Ahmadi")
    site = make.site(make.customer(), latitude=35.70, longitude=51.40)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)
    wo = make.work_order(
        site=site,
        status=WorkOrderStatus.SCHEDULED,
        technician_id=tech.id,
        scheduled_start_at=start,
        scheduled_end_at=start + timedelta(hours=1),
        summary="Boiler does not start",
    )
    path = link_for(work_order=wo)
    phone.goto(f"{path}?lang={lang}")
    assert phone.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
    assert phone.text_content("#technician") == "Reza"
    assert phone.is_visible("#eta") and phone.is_visible("#map")
    _fits(phone)
    with phone.expect_navigation():
        phone.click("#confirm")
    assert phone.is_visible("#confirmed")
    _fits(phone)
    with phone.expect_navigation():
        phone.click("#reschedule")
    assert phone.is_visible("#no-windows")  # no plan published for the coming days
    _fits(phone)
    phone.go_back()
    with phone.expect_navigation():
        phone.click("#cancel")
    assert phone.get_attribute("#visit", "data-status") == "cancelled"
    _fits(phone)


def test_a_tampered_link_shows_a_clear_page(phone, make, link_for):  # noqa: F811
    site = make.site()
    wo = make.work_order(site=site)
    path = link_for(work_order=wo)
    response = phone.goto(path[:-2] + ("xx" if not path.endswith("xx") else "yy"))
    assert response.status == 403
    assert phone.is_visible("#refused")
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
