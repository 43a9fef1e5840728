"""One clock for local days: the warranty an asset shows and the RMA entitlement agree
around midnight, whatever the server's own zone."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from fieldsvc.dates import add_months, local_today, today_in
from fieldsvc.recall.booking import local_today as dealership_today

TEHRAN = "Asia/Tehran"


def test_today_in_tehran_just_after_midnight():
    # 00:30 in Tehran (UTC+03:30) is 21:00 UTC on the day before.
    now = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)
    assert now.date() == date(2026, 3, 9)
    assert today_in(TEHRAN, now) == date(2026, 3, 10)


def test_local_today_follows_the_configured_zone(app):
    now = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)
    with app.app_context():
        app.config["DEFAULT_TIMEZONE"] = TEHRAN
        assert local_today(now) == date(2026, 3, 10)
        app.config["DEFAULT_TIMEZONE"] = "UTC"
        assert local_today(now) == date(2026, 3, 9)


def test_a_dealership_day_is_in_its_own_zone(make):
    dealership = make.dealership(timezone="America/New_York")
    assert dealership_today(dealership, datetime(2026, 3, 10, 2, 0, tzinfo=UTC)) \
        == date(2026, 3, 9)


@pytest.mark.parametrize("day, months, expected", [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2025, 11, 15), 3, date(2026, 2, 15)),
    (date(2025, 5, 31), 0, date(2025, 5, 31)),
])
def test_add_months_clamps_to_the_end_of_the_month(day, months, expected):
    assert add_months(day, months) == expected


@pytest.fixture
def server_zone_on_another_day(monkeypatch):
    """Put the process (the 'server OS') in a zone whose date differs from Tehran's now.

    UTC-12 is behind Tehran's date from 00:00 to 15:30 Tehran time, UTC+14 ahead of it
    from 13:30 on: one of them always disagrees, as the UTC date does from 00:00 to 03:30.
    """
    tehran = today_in(TEHRAN)
    for posix_zone, iana in (("<-12>12", "Etc/GMT+12"), ("<+14>-14", "Etc/GMT-14")):
        if today_in(iana) != tehran:
            monkeypatch.setenv("TZ", posix_zone)
            time.tzset()
            break
    assert date.today() != tehran
    yield
    monkeypatch.undo()
    time.tzset()


def test_warranty_and_rma_entitlement_agree_when_dates_differ(app, client, make,
                                                              server_zone_on_another_day):
    app.config["DEFAULT_TIMEZONE"] = TEHRAN
    tehran, server = today_in(TEHRAN), date.today()
    # The warranty ends on the earlier of the two days: one clock says it still covers
    # today, the other that it has ended.
    asset = make.asset(warranty_end=min(tehran, server))
    shown = client.get(f"/api/v1/assets/{asset.id}")
    assert shown.status_code == 200
    rma = client.post("/api/v1/rmas", json={
        "type": "repair_and_return", "customer_id": asset.customer_id, "asset_id": asset.id,
        "failure_description": "Does not start", "failure_code": "E-1"})
    assert rma.status_code == 201, rma.json
    expected = "warranty" if shown.json["under_warranty"] else "chargeable"
    assert rma.json["entitlement"] == expected
    assert shown.json["under_warranty"] is (tehran <= min(tehran, server))
