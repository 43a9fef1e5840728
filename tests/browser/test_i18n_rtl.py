"""The Persian console reads right to left, navigation on the right."""

from __future__ import annotations


def test_persian_locale_renders_right_to_left_with_navigation_on_the_right(page, login):
    login("dispatcher")
    page.goto("/console/work-orders?lang=fa")
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "fa"
    width = page.viewport_size["width"]
    brand = page.locator(".brand").bounding_box()
    links = page.locator("#nav a")
    first, second = links.nth(0).bounding_box(), links.nth(1).bounding_box()
    assert brand["x"] > width / 2  # the brand starts the bar on the right
    assert first["x"] > second["x"]  # links run from right to left
    assert "دستورکارها" in page.inner_text("h1")
    with page.expect_navigation():
        page.click("#lang-switch >> text=English")
    assert page.get_attribute("html", "dir") == "ltr"
    page.goto("/console/work-orders?lang=fa")
    page.wait_for_load_state("networkidle")
