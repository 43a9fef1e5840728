"""The dispatch board on a 390 px phone, in English and Persian: the working hours, the zoom
to the whole day, no sideways page scroll, and the SLA colour only on jobs that risk it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder
from fieldsvc.models.enums import WorkOrderStatus
from tests.browser.test_dispatch_board import TEHRAN, demo_day  # noqa: F401  (a fixture)
from tests.reports.conftest import DAY

PAGE_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _at(h: int, m: int = 0) -> datetime:
    return datetime.combine(DAY, time(h, m), tzinfo=TEHRAN)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_board_on_a_phone_shows_working_hours_zooms_and_colours_only_risky_jobs(
    page, login, app, demo_day, lang  # noqa: F811
):
    techs, orders = demo_day
    # On Ali's lane: one job ending after its resolution due time, one well inside its due
    # times (arriving half an hour before its response due time), one ending within the
    # hour before its resolution due time.
    plans = [
        (orders[0], _at(9), None, _at(9, 30)),
        (orders[1], _at(10, 30), _at(11), _at(20)),
        (orders[2], _at(13), None, _at(14, 30)),
    ]
    with app.app_context():
        for wo, start, response, resolution in plans:
            row = db.session.get(WorkOrder, wo.id)
            row.status = WorkOrderStatus.SCHEDULED
            row.technician_id = techs[0].id
            row.scheduled_start_at = start
            row.scheduled_end_at = start + timedelta(minutes=row.estimated_minutes)
            row.response_due_at, row.resolution_due_at = response, resolution
        db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": 390, "height": 844})
    login("dispatcher")
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran&lang={lang}")
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")

    hours = page.locator(".lane.hours .hour")
    assert hours.first.inner_text() == "07:00" and hours.last.inner_text() == "18:00"
    assert page.evaluate(PAGE_OVERFLOW) <= 0  # the page itself never scrolls sideways
    legend = page.locator(".legend").inner_text()
    assert ("SLA late" if lang == "en" else "SLA دیرشده") in legend

    colours = {
        wo.id: page.locator(f'.slot.job[data-work-order-id="{wo.id}"]').get_attribute("class")
        for wo, *_ in plans
    }
    assert "late" in colours[orders[0].id].split()
    assert not {"late", "at_risk"} & set(colours[orders[1].id].split())
    assert "at_risk" in colours[orders[2].id].split()

    with page.expect_navigation():
        page.click("#zoom-day")
    assert hours.first.inner_text() == "00:00" and hours.last.inner_text() == "24:00"
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
    assert page.evaluate(PAGE_OVERFLOW) <= 0
    # The lane area scrolls sideways instead, and the morning jobs are still drawn.
    scroller = page.locator(".timeline-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.locator(".slot.job").count() == 3
    with page.expect_navigation():
        page.click("#zoom-work")
    assert hours.first.inner_text() == "07:00"
