"""Hand edits in a real browser: a refused assignment with its reasons (English and Persian),
an overridden one in the audit log, and an agent booking a slot for a new breakdown."""

from __future__ import annotations

from datetime import datetime, time

from playwright.sync_api import expect
from sqlalchemy import select

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, WorkOrder, WorkOrderSkill
from tests.browser.test_dispatch_board import TEHRAN, _orders, demo_day  # noqa: F401
from tests.reports.conftest import DAY


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


def test_refused_assignment_shows_why_and_an_override_is_audited(page, login, app, demo_day):  # noqa: F811
    techs, orders = demo_day
    sara = techs[1]
    _pin(app, orders[1], sara, 10)  # hvac, 60 minutes from 10:00
    login("dispatcher")
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran")
    _assign(page, orders[3], sara, "10:15")
    flash = page.locator(".flash")
    expect(flash).to_contain_text("Refused: this breaks the planning rules.")
    expect(flash).to_contain_text("The visit overlaps the technician's other jobs.")
    assert _orders(app, [orders[3].id])[orders[3].id][0] == "new"
    # The same refusal in Persian.
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran&lang=fa")
    _assign(page, orders[3], sara, "10:15")
    expect(page.locator(".flash")).to_contain_text("رد شد: این کار قواعد برنامه‌ریزی را می‌شکند.")
    expect(page.locator(".flash")).to_contain_text("مراجعه با کارهای دیگر تکنسین هم‌پوشانی دارد.")
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


def test_agent_books_a_slot_for_a_new_breakdown(page, login, app, make, demo_day):  # noqa: F811
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
    page.goto(f"/console/work-orders/{new.id}?lang=fa")
    expect(page.locator("#slots-title")).to_have_text("یافتن نوبت")
    page.goto(f"/console/work-orders/{new.id}?lang=en")
    page.fill("#slot-days", "4")
    with page.expect_navigation():
        page.click("#slot-form button")
    rows = page.locator("table.offers tbody tr")
    expect(rows.first).to_contain_text(DAY.isoformat())
    with page.expect_navigation():
        rows.first.locator("button").click()
    expect(page.locator(".flash")).to_contain_text(f"Work order {new.id} booked with")
    status, tech, pinned, _ = _orders(app, [new.id])[new.id]
    assert status == "scheduled" and pinned and tech in {t.id for t in techs}
