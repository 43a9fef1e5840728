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
    screen = agent.get(f"/console/customers/{customer.id}").get_data(as_text=True)
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
