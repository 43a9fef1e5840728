"""A P1 born in the contact center, in a real browser, in English and in Persian: a new
caller rings, the agent registers them, adds their site and the unit, opens a P1
breakdown with a window and the product's skill; the dispatcher's board shows its
emergency offer at once, highlighted, and accepting it schedules the job."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from fieldsvc.extensions import db
from fieldsvc.models import Asset, InsertionProposal, WorkOrder
from fieldsvc.models.enums import WorkOrderStatus
from tests.browser.test_dispatch_board import _artifact
from tests.dispatch.test_release_insertion_api import DAY, _published, _world


def _earlier_job_on_the_product(make, skill):
    """Products say what they need through the jobs done on them: one earlier chiller job
    asked for hvac at level 2."""
    chiller = make.product(code="CHILLER-X1", name="Chiller X1")
    other = make.customer(name="Earlier owner")
    site = make.site(customer=other, latitude=35.80, longitude=51.45)
    unit = make.asset(other, product=chiller, site=site, serial_number="CH-EARLIER")
    earlier = make.work_order(site=site, asset_id=unit.id, status=WorkOrderStatus.COMPLETED)
    make.work_order_skill(earlier, skill, 2)
    return chiller


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_new_caller_p1_breakdown_reaches_the_board_with_its_offer(
    page, login, app, make, client_as, lang
):
    skill, techs, _ = _world(make)
    chiller = _earlier_job_on_the_product(make, skill)
    _published(client_as("dispatcher"), app)
    number = "0935 111 2222"

    login("agent", username=f"cc-agent-{lang}")
    page.goto(f"/console/calls/incoming?number={number}&lang={lang}")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    page.fill("#name", "Parisa Sadeghi")
    with page.expect_navigation():
        page.click("#customer-form button[type=submit]")
    assert page.inner_text("#customer-name") == "Parisa Sadeghi"

    page.click("#add-site summary")
    page.fill("#site-form #name", "Data centre")
    page.fill("#site-form #address", "7 Azadi St")
    page.fill("#site-form #city", "Tehran")
    page.fill("#site-form #territory", "tehran")
    page.fill("#site-form #timezone", "Asia/Tehran")
    page.fill("#site-form #latitude", "35.7290")
    page.fill("#site-form #longitude", "51.4050")
    with page.expect_navigation():
        page.click("#add-site-submit")
    assert "Data centre" in page.inner_text("#sites")

    page.click("#add-asset summary")
    page.select_option("#asset-form #product_id", str(chiller.id))
    page.select_option("#asset-form #site_id", label="Data centre")
    page.fill("#asset-form #serial_number", f"CH-{lang.upper()}-0042")
    with page.expect_navigation():
        page.click("#add-asset-submit")
    assert f"CH-{lang.upper()}-0042" in page.inner_text("#assets")

    with app.app_context():
        asset_id = db.session.scalar(
            select(Asset.id).where(Asset.serial_number == f"CH-{lang.upper()}-0042")
        )
        db.session.remove()
    page.click("a[href*='breakdown=1']")
    page.fill("#subject", "Chiller stopped, servers overheating")
    with page.expect_navigation():
        page.click("#ticket-submit")

    form = page.locator("#work-order-form")
    form.locator("#asset_id").select_option(str(asset_id))
    # The product's skill is filled in from the asset (and stays editable).
    assert form.locator("#skills").input_value() == f"{skill.code}:2"
    form.locator("#priority").select_option("1")
    form.locator("#estimated_minutes").fill("45")
    form.locator("#day").fill(DAY.isoformat())
    form.locator("#window1_from").fill("09:00")
    form.locator("#window1_to").fill("17:00")
    with page.expect_navigation():
        page.click("#open-work-order")
    with app.app_context():
        wo = db.session.scalar(select(WorkOrder).where(WorkOrder.asset_id == asset_id))
        proposal = db.session.scalar(
            select(InsertionProposal).where(InsertionProposal.work_order_id == wo.id)
        )
        wo_id, proposal_id, plan_date = wo.id, proposal.id, proposal.plan_date
        assert [(s.skill_id, s.min_level) for s in wo.skills] == [(skill.id, 2)]
        db.session.remove()
    assert plan_date == DAY  # the offer aims at the job's window, not today
    said = " ".join(page.locator(".flash").all_inner_texts())
    # The agent is told of the offer: its number and the ETA on the window's day.
    assert re.search(rf"\b{proposal_id}\b", said) and DAY.isoformat() in said, said

    page.context.clear_cookies()
    login("dispatcher", username=f"cc-dispatcher-{lang}")
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran&lang={lang}")
    card = page.locator(f"#p1-offer-{wo_id}")
    assert card.is_visible()
    assert "Chiller stopped, servers overheating" in card.inner_text()
    assert "Data centre" in card.inner_text()
    # Highlighted: the emergency panel comes before the plan and is drawn in red.
    color = page.evaluate("getComputedStyle(document.getElementById('p1-offers')).borderTopColor")
    assert color == "rgb(179, 38, 30)"
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(_artifact(f"p1_offer_on_board_{lang}")), full_page=True)
    with page.expect_navigation():
        card.locator("button[type=submit]").click()
    assert page.locator(f"#p1-offer-{wo_id}").count() == 0
    with app.app_context():
        done = db.session.get(WorkOrder, wo_id)
        assert done.status.value == "scheduled"
        assert done.technician_id in {t.id for t in techs}
        db.session.remove()
