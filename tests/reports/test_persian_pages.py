"""The dispatch board, map and report pages in Persian: right-to-left, translated labels,
and the board's time axis still left-to-right (drag-and-drop times are read off it)."""

from __future__ import annotations

import re

from tests.reports.conftest import DAY


def _get(console, url, **args):
    res = console().get(url, query_string={"lang": "fa", **args})
    assert res.status_code == 200, res.data[:300]
    return res.get_data(as_text=True)


def test_board_in_persian_is_rtl_with_an_ltr_time_axis(console, day_world):
    html = _get(console, "/console/dispatch", date=DAY.isoformat(), territory="tehran")
    assert re.search(r'<html[^>]*dir="rtl"', html)
    for text in ("تابلوی اعزام", "همه حوزه‌ها", "اجرای بهینه‌ساز", "تخصیص و سنجاق",
                 "اضطراری", "روز بعد", "Ali Rahimi"):
        assert text in html, text
    assert "Run the optimizer" not in html and "Assign and pin" not in html
    assert re.search(r'<div class="timeline" dir="ltr"', html)


def test_board_in_english_is_unchanged(console, day_world):
    html = console().get("/console/dispatch", query_string={
        "lang": "en", "date": DAY.isoformat(), "territory": "tehran"}).get_data(as_text=True)
    assert re.search(r'<html[^>]*dir="ltr"', html)
    assert "Run the optimizer" in html and "Nothing is waiting." not in html


def test_map_in_persian(console, day_world):
    html = _get(console, "/console/dispatch/map", date=DAY.isoformat(), territory="tehran")
    assert re.search(r'<html[^>]*dir="rtl"', html)
    assert "مسیرها" in html and "تابلو" in html


def test_flash_and_errors_of_the_board_are_translated(console, day_world):
    c = console()
    c.get("/console/dispatch", query_string={"lang": "fa"})
    res = c.post("/console/dispatch/assign", data={
        "date": DAY.isoformat(), "territory": "tehran", "work_order_id": "x",
        "technician_id": "1", "start": "09:00"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "فرم فیلدهای نامعتبر دارد." in html and "یکی را برگزینید." in html


def test_kpi_and_voice_pages_in_persian(console):
    c = console("manager")
    html = c.get("/console/reports/kpis", query_string={
        "lang": "fa", "from": "2021-03-01", "to": "2021-03-07"}).get_data(as_text=True)
    assert re.search(r'<html[^>]*dir="rtl"', html)
    for text in ("شاخص خدمت", "وزن‌های شاخص خدمت", "نرخ رفع در اولین مراجعه", "ذخیره وزن‌ها"):
        assert text in html, text
    html = c.get("/console/reports/voice-of-customer", query_string={
        "from": "2021-03-01", "to": "2021-03-07"}).get_data(as_text=True)
    assert "گروه‌بندی (به این ترتیب)" in html and "منطقه" in html
