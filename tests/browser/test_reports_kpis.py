"""A manager opens the KPI page and sees the service index and an SVG chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.models.enums import WorkOrderStatus


def test_manager_sees_index_and_chart(page, login, make):
    site = make.site()
    now = datetime.now(UTC)
    make.work_order(site=site, status=WorkOrderStatus.COMPLETED, first_time_fix=True,
                    created_at=now - timedelta(days=2, hours=3),
                    arrived_at=now - timedelta(days=2, hours=2),
                    completed_at=now - timedelta(days=2))
    login("manager")
    page.goto("/console/reports/kpis")
    assert page.locator("#service-index").is_visible()
    assert "100.0" in page.locator("#service-index").inner_text()
    assert page.locator("svg#kpi-bars rect").count() > 0
    assert page.locator("#weights-form").is_visible()
    assert page.locator("#kpi-csv").get_attribute("href").startswith("/console/reports/kpis.csv")


def test_kpi_page_at_phone_width(page, login):
    login("manager")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/console/reports/kpis")
    assert page.locator("svg#kpi-bars").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400


def test_voice_of_customer_page(page, login):
    login("manager")
    page.goto("/console/reports/voice-of-customer")
    assert page.locator("svg#voc-trend").is_visible()
    assert page.locator("#voc-csv").is_visible()


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_kpi_page_on_the_demo_shows_computed_values(page, login, runner, lang):
    """On the seeded demo, the visit KPIs come out of the history with real figures."""
    today = datetime.now(ZoneInfo("Asia/Tehran")).date()
    result = runner.invoke(args=["seed-demo", "--today", today.isoformat()])
    assert result.exit_code == 0, result.output
    login("manager")
    page.goto(f"/console/reports/kpis?lang={lang}")
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
    index = float(page.locator("#service-index").inner_text().split("/")[0].strip())
    assert 40 < index < 100
    for key in ("first_time_fix", "sla_response", "sla_resolution", "mean_time_to_respond",
                "mean_time_to_repair", "utilization", "repeat_visits", "overdue_pm"):
        value = page.locator(f"#kpi-{key} td").nth(1).inner_text().strip()
        assert value and value != "—", (key, value)
        denominator = page.locator(f"#kpi-{key} td").nth(3).inner_text().strip()
        assert float(denominator) > 50, (key, denominator)
