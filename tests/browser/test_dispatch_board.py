"""The dispatch board in a real browser: run, watch, review, publish, drag and assign."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldsvc.dispatch.queue import get_queue
from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder, WorkOrderSkill
from tests.reports.conftest import DAY

TEHRAN = ZoneInfo("Asia/Tehran")
# Districts of Tehran, as in the demo data.
PLACES = [(35.8050, 51.4260), (35.7575, 51.4100), (35.7800, 51.3700), (35.7450, 51.5050),
          (35.6920, 51.4800), (35.7010, 51.3910), (35.6700, 51.3800), (35.7290, 51.4050)]


@pytest.fixture
def demo_day(make):
    """Three technicians and eight jobs around Tehran, one of them due early (SLA risk)."""
    hvac, printer = make.skill("hvac"), make.skill("printer")
    techs = [make.technician(skills={hvac: 3, printer: 2}, name="Ali Rahimi",
                             home_latitude=35.73, home_longitude=51.42),
             make.technician(skills={hvac: 2}, name="Sara Karimi",
                             home_latitude=35.76, home_longitude=51.38),
             make.technician(skills={printer: 4}, name="Reza Moradi",
                             home_latitude=35.70, home_longitude=51.45)]
    orders = []
    for i, (lat, lon) in enumerate(PLACES):
        customer = make.customer(name=f"Customer {i} Co.")
        site = make.site(customer=customer, latitude=lat, longitude=lon, name=f"Office {i}")
        skill = hvac if i % 2 else printer
        wo = make.work_order(site=site, estimated_minutes=45 + 15 * (i % 3),
                             priority=1 + i % 4, summary=f"{skill.code} visit {i}")
        wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
        if i == 0:
            wo.response_due_at = datetime.combine(DAY, time(8, 30), tzinfo=TEHRAN)
        orders.append(wo)
    make.session.commit()
    return techs, orders


def _orders(app, ids):
    with app.app_context():
        rows = {w.id: w for w in db.session.scalars(select(WorkOrder).where(
            WorkOrder.id.in_(ids)))}
        out = {i: (w.status.value, w.technician_id, w.pinned, w.scheduled_start_at)
               for i, w in rows.items()}
        db.session.remove()
        return out


def _open_board(page):
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran")


def test_run_watch_review_and_publish(page, login, app, demo_day):
    techs, orders = demo_day
    login("dispatcher")
    _open_board(page)
    assert page.locator(".queue-item").count() == len(orders)
    assert page.locator(".queue-item.late, .queue-item.at_risk").count() >= 1
    page.fill("#time-limit", "2")
    page.click("#run-optimizer")
    # The poller follows the run until it reaches 100 % and offers the review.
    page.locator("#run-percent").filter(has_text="100 %").wait_for(timeout=60_000)
    assert page.locator("#run-status").inner_text() == "finished"
    with page.expect_navigation():
        page.click("#run-review")
    summary = page.locator("#diff-summary").inner_text()
    assert "newly scheduled" in summary and "0 unchanged" in summary
    assert page.locator("table.diff tr.new").count() >= 1
    page.screenshot(path=str(_artifact("dispatch_review")), full_page=True)
    with page.expect_navigation():
        page.click("#publish")
    assert "is being published" in page.locator(".flash").inner_text()
    get_queue(app).wait(timeout=60)
    # The run's page reloads itself while the publication runs, then shows what it did.
    expect(page.locator("#review-publish")).to_contain_text("done", timeout=30_000)
    expect(page.locator("#review-publish")).to_contain_text("scheduled")
    _open_board(page)
    rows = _orders(app, [o.id for o in orders])
    scheduled = [i for i, r in rows.items() if r[0] == "scheduled"]
    assert len(scheduled) >= 6
    assert page.locator(".slot.job").count() == len(scheduled)
    assert page.locator(".slot.travel").count() >= 1
    get_queue(app).wait(timeout=30)


def test_drag_a_job_onto_a_technician_and_assign_another_with_the_keyboard(page, login, app,
                                                                           demo_day):
    techs, orders = demo_day
    login("dispatcher")
    _open_board(page)
    first, second = orders[1], orders[2]
    page.locator(f"#queue-{first.id}").drag_to(page.locator(f"#lane-{techs[1].id} .dropzone"))
    # expect() waits for the new page; networkidle may return before the navigation lands.
    expect(page.locator(".flash")).to_contain_text(
        f"Work order {first.id} assigned to Sara Karimi")
    status, tech, pinned, start = _orders(app, [first.id])[first.id]
    assert (status, tech, pinned) == ("scheduled", techs[1].id, True)
    assert start.astimezone(TEHRAN).minute % 15 == 0
    expect(page.locator(f"#lane-{techs[1].id} .slot.job.pinned")).to_have_count(1)

    # The same without a mouse: tab into the form, choose, type the time, press Enter.
    page.focus("#assign-wo")
    page.select_option("#assign-wo", str(second.id))
    page.keyboard.press("Tab")
    page.select_option("#assign-tech", str(techs[2].id))
    page.keyboard.press("Tab")
    page.keyboard.type("1415")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text(f"Work order {second.id} assigned")
    assert "at 14:15 and pinned" in page.locator(".flash").inner_text()
    status, tech, pinned, start = _orders(app, [second.id])[second.id]
    assert (status, tech, pinned) == ("scheduled", techs[2].id, True)
    assert start.astimezone(TEHRAN).time() == time(14, 15)


def test_the_board_and_map_are_readable_at_phone_width(page, login, app, demo_day):
    techs, orders = demo_day
    login("dispatcher")
    with app.app_context():
        from fieldsvc.context import SYSTEM
        from fieldsvc.dispatch.board import assign_and_pin

        for n, wo in enumerate(orders[:4]):
            assign_and_pin(db.session, db.session.get(WorkOrder, wo.id), techs[n % 3].id,
                           datetime.combine(DAY, time(9 + 2 * n), tzinfo=TEHRAN), SYSTEM)
        db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": 390, "height": 844})
    _open_board(page)
    # The page itself does not scroll sideways; only the timeline does, inside its box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert page.locator(".slot.job").count() == 4
    assert page.locator("#assign-form button").is_visible()
    page.screenshot(path=str(_artifact("dispatch_board_phone")), full_page=True)
    page.goto(f"/console/dispatch/map?date={DAY.isoformat()}&territory=tehran")
    svg = page.locator("svg#route-map")
    assert svg.get_attribute("data-projection") == "equirectangular"
    assert page.locator("svg#route-map .route").count() == 3
    assert page.locator("svg#route-map .waiting").count() == 4
    assert page.locator("svg#route-map .places text", has_text="Vanak").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(_artifact("dispatch_map")), full_page=True)


def _artifact(name):
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_emergency_insertion_shows_whose_eta_changes(page, login, app, make, demo_day):
    techs, orders = demo_day
    login("dispatcher")
    _open_board(page)
    page.fill("#time-limit", "1")
    page.click("#run-optimizer")
    page.locator("#run-percent").filter(has_text="100 %").wait_for(timeout=60_000)
    page.click("#run-review")
    with page.expect_navigation():
        page.click("#publish")
    get_queue(app).wait(timeout=30)
    urgent = make.work_order(site=make.site(latitude=35.75, longitude=51.41),
                             estimated_minutes=30, priority=1, summary="Gas leak")
    _open_board(page)
    page.select_option("#emergency-wo", str(urgent.id))
    with page.expect_navigation():
        page.click("#emergency-form button")
    details = page.locator("#proposal").inner_text()
    assert f"for work order #{urgent.id}" in details
    # Start and ETA read on the board's labelled clock, never a clipped ISO string.
    assert re.search(r"start \d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Tehran\), ETA", details)
    page.locator("#proposal").scroll_into_view_if_needed()
    page.screenshot(path=str(_artifact("dispatch_emergency")), full_page=True)
    with page.expect_navigation():
        page.click("#proposal button")
    assert f"Emergency work order {urgent.id} inserted" in page.locator(".flash").inner_text()
    assert _orders(app, [urgent.id])[urgent.id][0] == "scheduled"
