"""A list page in a real browser: filter, then the second page."""

from __future__ import annotations

from fieldsvc.extensions import db
from tests.factories import Factories


def test_work_order_list_filter_and_second_page(page, login, app):
    with app.app_context():
        make = Factories(db.session)
        site = make.site()
        for n in range(30):
            make.work_order(site, summary=f"Fix copier {n:02d}", priority=1)
        make.work_order(site, summary="Annual inspection", priority=4)
    login("dispatcher")
    page.click("nav >> text=Work orders")
    page.select_option("#f-priority", "1")
    with page.expect_navigation():
        page.click("#filter-submit")
    assert "30 found" in page.inner_text("#total")
    assert "Annual inspection" not in page.content()
    with page.expect_navigation():
        page.click("a[rel=next]")
    assert "page=2" in page.url and "priority=1" in page.url
    assert page.locator("#list tbody tr").count() == 5
