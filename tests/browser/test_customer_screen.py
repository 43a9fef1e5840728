"""The contact center in a real browser: caller found by phone, call logged, ticket opened;
the customer screen at phone width and by keyboard."""

from __future__ import annotations

from fieldsvc.extensions import db
from tests.factories import Factories


def _customer(app) -> int:
    with app.app_context():
        make = Factories(db.session)
        customer = make.customer(name="Sara Ahmadi", phone="0912 345 6789", region="Tehran")
        site = make.site(customer, name="Sara's office", address="12 Vali-e Asr Ave")
        make.asset(customer, site=site, serial_number="SN-LJ-4000-77")
        make.work_order(site, summary="Toner smears on every page")
        return customer.id


def test_agent_finds_caller_by_phone_logs_the_call_and_opens_a_ticket(page, login, app):
    app.config["WORKING_HOURS"] = "00:00-23:59"
    customer_id = _customer(app)
    login("agent")
    page.click("text=Customers")
    page.fill("#q", "+98 912 345 6789")
    page.click("#search-submit")
    page.wait_for_url(f"**/console/customers/{customer_id}")
    assert page.inner_text("#customer-name") == "Sara Ahmadi"
    page.fill("#subject", "Printer leaves streaks")
    page.fill("#notes", "Customer will send a photo")
    with page.expect_navigation():
        page.click("#log-call-submit")
    assert "Call logged." in page.content()
    assert "Printer leaves streaks" in page.inner_text("#interactions")
    page.click("text=Open a ticket")
    page.select_option("#category", "complaint")
    page.fill("#topic", "printer")
    page.fill("#subject", "Streaks after toner change")
    with page.expect_navigation():
        page.click("#ticket-submit")
    assert "Streaks after toner change" in page.inner_text("#ticket-title")
    with page.expect_navigation():
        page.click(f"a[href='/console/customers/{customer_id}']")
    assert "Streaks after toner change" in page.inner_text("#tickets")


def test_customer_screen_fits_a_phone_without_sideways_scrolling(page, login, app):
    customer_id = _customer(app)
    login("agent")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/console/customers/{customer_id}")
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.is_visible("#log-call-submit")


def test_keyboard_reaches_the_search_field_and_its_button(page, login, app):
    _customer(app)
    login("agent")
    page.goto("/console/customers")
    page.focus("a.skip")  # start from the top of the page, as a keyboard user does
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        if "search-submit" in reached:
            break
    assert "q" in reached and "search-submit" in reached
    assert reached.index("q") < reached.index("search-submit")
    page.focus("#q")
    page.keyboard.type("Sara")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "Sara Ahmadi" in page.content()
