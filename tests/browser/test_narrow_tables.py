"""At phone width (390×844) stacked table rows keep their column names, and nothing scrolls
sideways: the customer screen, the work-order list and the ticket list."""

from __future__ import annotations

import pytest

from fieldsvc.extensions import db
from tests.factories import Factories


@pytest.fixture
def customer_id(app):
    with app.app_context():
        make = Factories(db.session)
        customer = make.customer(name="Sara Ahmadi", phone="0912 345 6789", region="Tehran")
        site = make.site(customer, name="Sara's office")
        make.asset(customer, site=site, serial_number="SN-LJ-4000-77")
        make.work_order(site, summary="Toner smears on every page")
        make.ticket(customer=customer, subject="Printer leaves streaks")
        return customer.id


def _label_of_first_cell(page, selector):
    """The text the ::before pseudo-element shows in the first cell of `selector`."""
    return page.evaluate(
        "(sel) => { const td = document.querySelector(sel);"
        " return getComputedStyle(td, '::before').content; }", selector)


def _headings_shown(page, table):
    """Each cell of the first row shows its column's heading before its value."""
    heads = page.eval_on_selector_all(f"#{table} thead th", "ths => ths.map(t => t.innerText)")
    shown = page.eval_on_selector_all(
        f"#{table} tbody tr:first-child td",
        "tds => tds.map(td => getComputedStyle(td, '::before').content)")
    assert len(heads) == len(shown) > 1
    for head, content in zip(heads, shown, strict=True):
        assert head.strip() in content, (head, content)
    return heads


def _narrow(page, url):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1


@pytest.mark.parametrize("lang,status", [("en", "Status"), ("fa", "وضعیت")])
def test_stacked_rows_show_column_names(page, login, customer_id, lang, status):
    login("dispatcher")
    _narrow(page, f"/console/customers/{customer_id}?lang={lang}")
    box = page.locator("#open-work-orders thead").bounding_box()
    assert box["x"] + box["width"] < 0 or box["x"] > 390  # the header row is off screen
    assert status in _headings_shown(page, "open-work-orders")
    for table in ("assets", "tickets"):
        _headings_shown(page, table)
    assert page.locator("#open-work-orders tbody td:nth-child(2)").is_visible()

    _narrow(page, "/console/work-orders")
    assert status in _headings_shown(page, "list")

    _narrow(page, "/console/tickets")
    assert status in _headings_shown(page, "ticket-list")
    assert "Printer leaves streaks" in page.inner_text("#ticket-list")


def test_wide_screen_keeps_plain_tables(page, login, customer_id):
    login("dispatcher")
    page.goto("/console/tickets")
    page.wait_for_load_state("networkidle")
    assert _label_of_first_cell(page, "#ticket-list tbody td:nth-child(6)") in ("none", "normal")
