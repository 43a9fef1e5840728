"""The dispatch board in Persian: right to left, translated, with a left-to-right time axis."""

from __future__ import annotations

from tests.browser.test_dispatch_board import demo_day  # noqa: F401  (a fixture)
from tests.reports.conftest import DAY


def test_persian_board_reads_rtl_but_time_runs_left_to_right(page, login, demo_day):  # noqa: F811
    login("dispatcher")
    page.goto(f"/console/dispatch?date={DAY.isoformat()}&territory=tehran&lang=fa")
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("html", "dir") == "rtl"
    assert "تابلوی اعزام" in page.inner_text("h1")
    assert "اجرای بهینه‌ساز" in page.inner_text("#run-optimizer")
    assert "تخصیص‌نیافته" in page.inner_text("#queue-title")
    hours = page.locator(".lane.hours .hour")
    assert hours.count() >= 3
    xs = [hours.nth(i).bounding_box()["x"] for i in range(hours.count())]
    assert xs == sorted(xs)  # earlier hours further left, as in English
    # The technicians' names stay at the start of their lane (the left, as the axis runs).
    who = page.locator(".lane:not(.hours) .who").first.bounding_box()
    track = page.locator(".lane:not(.hours) .track").first.bounding_box()
    assert who["x"] < track["x"]
