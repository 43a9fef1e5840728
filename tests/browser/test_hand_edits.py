"""Hand edits in a real browser, each in English and in Persian: a refused assignment with its
reasons, an overridden one in the audit log, an agent booking a slot for a new breakdown, a
dispatcher editing a work order that an agent may only read."""

from __future__ import annotations

import re
from datetime import datetime, time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldsvc.console.catalog_fa import FA
from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, WorkOrder, WorkOrderSkill
from tests.browser.test_dispatch_board import TEHRAN, _orders, demo_day  # noqa: F401
from tests.reports.conftest import DAY


def _pieces(lang: str, message: str) -> list[str]:
    """The fixed words of a console message in `lang`, around its placeholders."""
    text = FA[message] if lang == "fa" else message
    return [p.strip() for p in re.split(r"%\(\w+\)s", text) if p.strip()]


def _says(locator, lang: str, message: str) -> None:
    for piece in _pieces(lang, message):
        expect(locator).to_contain_text(piece)


LANGS = pytest.mark.parametrize("lang", ["en", "fa"])


def _pin(app, wo, tech, hour):
    from fieldsvc.context import SYSTEM
    from fieldsvc.dispatch.board import assign_and_pin

    with app.app_context():
        assign_and_pin(
            db.session,
            db.session.get(WorkOrder, wo.id),
            tech.id,
            datetime.combine(DAY, time(hour), tzinfo=TEHRAN),
            SYSTEM,
        )
        db.session.commit()
        db.session.remove()


def _assign(page, wo, tech, start, reason=""):
    page.select_option("#assign-wo", str(wo.id))
    page.select_option("#assign-tech", str(tech.id))
    page.fill("#assign-start", start)
    page.fill("#assign-override", reason)
    with page.expect_navigation():
        page.click("#assign-form button")


@LANGS
def test_refused_assignment_shows_why_and_an_override_is_audited(
    page, login, app, demo_day, lang  # noqa: F811
):
    techs, orders = demo_day
    sara = techs[1]
    _pin(app, orders[1], sara, 10)  # hvac, 60 minutes from 10:00
    login("dispatcher")
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran&lang={lang}")
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
    _assign(page, orders[3], sara, "10:15")
    flash = page.locator(".flash")
    _says(flash, lang, "Refused: this breaks the planning rules.")
    _says(flash, lang, "The visit overlaps the technician's other jobs.")
    assert _orders(app, [orders[3].id])[orders[3].id][0] == "new"
    # Overridden with a reason: assigned, and the audit log says who, why and what broke.
    _assign(page, orders[3], sara, "10:15", reason="Sara asked to take both at once")
    expect(page.locator(".flash")).to_contain_text(str(orders[3].id))
    status, tech, pinned, _ = _orders(app, [orders[3].id])[orders[3].id]
    assert (status, tech, pinned) == ("scheduled", sara.id, True)
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "assignment_override",
                AuditEntry.entity_id == str(orders[3].id),
            )
        ).one()
        assert entry.actor_name and entry.changes["reason"][1] == "Sara asked to take both at once"
        assert "The visit overlaps the technician's other jobs." in entry.changes["broken_rules"][1]
        db.session.remove()


@LANGS
def test_agent_books_a_slot_for_a_new_breakdown(
    page, login, app, make, demo_day, lang  # noqa: F811
):
    from fieldsvc.context import SYSTEM
    from fieldsvc.dispatch.publish import publish_run
    from fieldsvc.dispatch.runs import execute_run, request_run

    techs, orders = demo_day
    with app.app_context():
        run = request_run(db.session, SYSTEM, plan_date=DAY, territory="tehran", time_limit=1)
        db.session.commit()
        run = execute_run(db.session, run.id, app.config["DEFAULT_TIMEZONE"])
        publish_run(db.session, run, SYSTEM)
        db.session.commit()
        db.session.remove()
    hvac = orders[1].skills[0].skill_id
    new = make.work_order(
        site=make.site(latitude=35.75, longitude=51.41),
        estimated_minutes=45,
        summary="Boiler breakdown",
    )
    new.skills.append(WorkOrderSkill(skill_id=hvac, min_level=2))
    make.session.commit()
    login("agent")
    page.goto(f"/console/work-orders/{new.id}?lang={lang}")
    expect(page.locator("#slots-title")).to_have_text(_pieces(lang, "Find a slot")[0])
    page.fill("#slot-days", "4")
    with page.expect_navigation():
        page.click("#slot-form button")
    rows = page.locator("table.offers tbody tr")
    expect(rows.first).to_be_visible()
    if lang == "en":
        expect(rows.first).to_contain_text(DAY.isoformat())
    with page.expect_navigation():
        rows.first.locator("button").click()
    _says(page.locator(".flash"), lang,
          "Work order %(id)s booked with %(name)s on %(day)s at %(at)s.")
    status, tech, pinned, _ = _orders(app, [new.id])[new.id]
    assert status == "scheduled" and pinned and tech in {t.id for t in techs}


@LANGS
def test_dispatcher_edits_a_work_order_and_an_agent_cannot(
    page, login, app, demo_day, lang  # noqa: F811
):
    techs, orders = demo_day
    wo = orders[2]
    login("dispatcher")
    page.goto(f"/console/work-orders/{wo.id}?lang={lang}")
    expect(page.locator("#edit-title")).to_have_text(_pieces(lang, "Edit work order")[0])
    page.fill("#edit-summary", "Printer jams every morning")
    page.select_option("#edit-priority", "2")
    page.fill("#edit-checklist", "Clean rollers\n[x] Ask for the error code")
    with page.expect_navigation():
        page.click("#edit-form button")
    _says(page.locator(".flash"), lang, "Work order %(id)s saved.")
    expect(page.locator("h1")).to_contain_text("Printer jams every morning")
    page.select_option("#wo-assign-tech", str(techs[2].id))
    page.fill("#wo-assign-day", DAY.isoformat())
    page.fill("#wo-assign-start", "11:00")
    with page.expect_navigation():
        page.click("#wo-assign-form button")
    _says(page.locator(".flash"), lang,
          "Work order %(id)s assigned to %(name)s at %(at)s and pinned.")
    page.select_option("#status-to", "dispatched")
    with page.expect_navigation():
        page.click("#status-form button")
    _says(page.locator(".flash"), lang, "Work order %(id)s is now %(status)s.")
    assert _orders(app, [wo.id])[wo.id][:3] == ("dispatched", techs[2].id, True)
    page.context.clear_cookies()
    login("agent")
    page.goto(f"/console/work-orders/{orders[3].id}?lang={lang}")
    assert page.locator("#edit-form, #status-form, #wo-assign-form").count() == 0
    expect(page.locator("#slots-title")).to_have_text(_pieces(lang, "Find a slot")[0])
