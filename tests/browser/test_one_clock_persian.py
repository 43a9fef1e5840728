"""In the browser: times labelled with their zone, Persian pages with Jalali days, and no
request of any page (the icon included) ending in a 404."""

from __future__ import annotations

from datetime import UTC, datetime


def _misses(page):
    misses: list[str] = []
    page.on("response", lambda r: misses.append(r.url) if r.status == 404 else None)
    return misses


def test_call_back_reads_midnight_tehran_and_every_page_has_its_icon(page, login, app):
    from fieldsvc.extensions import db
    from fieldsvc.models.enums import InteractionChannel
    from fieldsvc.models.interaction import Interaction
    from tests.factories import Factories

    with app.app_context():
        customer = Factories(db.session).customer(name="Night Owl")
        db.session.add(
            Interaction(
                customer_id=customer.id,
                channel=InteractionChannel.CALL,
                subject="Ring me",
                callback_due_at=datetime(2026, 12, 3, 20, 30, tzinfo=UTC),
            )
        )
        db.session.commit()
    misses = _misses(page)
    login("agent")
    page.goto("/console/callbacks?lang=en")
    assert "2026-12-04 00:00 (Asia/Tehran)" in page.inner_text("#callbacks")
    page.goto("/console/callbacks?lang=fa")
    assert page.get_attribute("html", "dir") == "rtl"
    assert "۱۴۰۵/۰۹/۱۳ ۰۰:۰۰ (2026-12-04, تهران)" in page.inner_text("#callbacks")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(icon).status == 200
    assert misses == []


def test_persian_board_names_zone_and_jalali_day(page, login):
    misses = _misses(page)
    login("dispatcher")
    page.goto("/console/dispatch?date=2026-12-04&lang=fa")
    heading = page.inner_text("h1")
    assert "جمعه ۱۳ آذر ۱۴۰۵" in heading and "2026-12-04" in heading
    assert "زمان‌ها به وقت تهران" in page.inner_text("#board-zone")
    assert misses == []
