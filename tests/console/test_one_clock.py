"""One clock: every moment a console page shows is read in the zone of the place it
concerns and labelled with that zone, never raw UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from fieldsvc.models.enums import InteractionChannel
from fieldsvc.models.interaction import Interaction


def test_call_back_due_at_midnight_in_tehran_reads_midnight_tehran(app, data, page_as, db_session):
    app.config["DEFAULT_TIMEZONE"] = "Asia/Tehran"
    customer = data.customer(name="Midnight Caller")
    due = datetime(2026, 12, 3, 20, 30, tzinfo=UTC)  # 00:00 on 4 December in Tehran

    def log(session):
        session.add(
            Interaction(
                customer_id=customer.id,
                channel=InteractionChannel.CALL,
                subject="Call me back",
                callback_due_at=due,
                occurred_at=due,
            )
        )
        session.commit()

    db_session(log)
    agent = page_as("agent")
    queue = agent.get("/console/callbacks").get_data(as_text=True)
    assert "2026-12-04 00:00 (Asia/Tehran)" in queue
    assert "20:30" not in queue
    persian = agent.get("/console/callbacks?lang=fa").get_data(as_text=True)
    assert "۱۴۰۵/۰۹/۱۳ ۰۰:۰۰ (2026-12-04, تهران)" in persian  # Jalali, Persian digits
    screen = agent.get(f"/console/customers/{customer.id}?lang=en").get_data(as_text=True)
    assert "2026-12-04 00:00 (Asia/Tehran)" in screen and "20:30" not in screen


def test_work_order_times_read_in_the_sites_zone(app, data, page_as):
    app.config["DEFAULT_TIMEZONE"] = "Asia/Tehran"
    site = data.site(timezone="Europe/Berlin")
    job = data.work_order(
        site=site, summary="Boiler", response_due_at=datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    )
    page = page_as("dispatcher").get(f"/console/work-orders/{job.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2026-12-04 10:00 (Europe/Berlin)" in text  # 09:00 UTC is 10:00 in Berlin
    assert "12:30" not in text  # not the deployment's (Tehran) reading either


def test_jalali_dates_match_the_iranian_calendar():
    from datetime import date

    from fieldsvc.dates import jalali, persian_day

    assert jalali(date(2024, 3, 20)) == (1403, 1, 1)  # Nowruz 1403
    assert jalali(date(2025, 3, 20)) == (1403, 12, 30)  # 1403 is a leap year
    assert jalali(date(2025, 3, 21)) == (1404, 1, 1)
    assert jalali(date(2000, 1, 1)) == (1378, 10, 11)
    assert persian_day(date(2026, 12, 4)) == "جمعه ۱۳ آذر ۱۴۰۵ (2026-12-04)"


def test_the_board_names_its_zone_and_shows_jalali_days_in_persian(page_as):
    dispatcher = page_as("dispatcher")
    english = dispatcher.get("/console/dispatch?date=2026-12-04&lang=en").get_data(as_text=True)
    assert "times in Asia/Tehran" in english and "Fri 04 Dec 2026" in english
    persian = dispatcher.get("/console/dispatch?date=2026-12-04&lang=fa").get_data(as_text=True)
    assert "زمان‌ها به وقت تهران" in persian and "جمعه ۱۳ آذر ۱۴۰۵ (2026-12-04)" in persian
