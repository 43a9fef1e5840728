"""List pages (the API's filters, pagination, access) and the shell: navigation, locale."""

from __future__ import annotations

import pytest


def test_work_order_list_filters_and_paginates(data, page_as):
    site = data.site()
    for n in range(27):
        data.work_order(site, summary=f"Fix printer {n:02d}", priority=2)
    data.work_order(site, summary="Install server", type="installation", priority=4)
    dispatcher = page_as("dispatcher")
    first = dispatcher.get("/console/work-orders?priority=2&q=printer")
    assert first.status_code == 200 and b"27 found" in first.data
    assert b"Install server" not in first.data and b"Page 1 of 2" in first.data
    second = dispatcher.get("/console/work-orders?priority=2&q=printer&page=2")
    assert second.status_code == 200 and b"Fix printer" in second.data
    typed = dispatcher.get("/console/work-orders?type=installation")
    assert b"Install server" in typed.data and b"1 found" in typed.data


@pytest.mark.parametrize("url, field", [
    ("/console/work-orders?priority=9", "priority"),
    ("/console/work-orders?date=yesterday", "date"),
    ("/console/technicians?min_level=3", "min_level"),
    ("/console/assets?under_warranty=maybe", "under_warranty"),
    ("/console/stock?available_below=lots", "available_below"),
    ("/console/pm-plans?kind=weekly", "kind"),
])
def test_bad_filters_are_shown_next_to_the_filter(page_as, url, field):
    admin = page_as("admin")
    response = admin.get(url)
    assert response.status_code == 422
    assert f'id="f-{field}"'.encode() in response.data
    assert b'class="error"' in response.data


def test_every_list_page_renders_for_its_readers(data, page_as):
    data.technician()
    data.asset(data.customer())
    data.part()
    admin = page_as("admin")
    for url in ("/console/work-orders", "/console/technicians", "/console/assets",
                "/console/parts", "/console/stock", "/console/pm-plans", "/console/campaigns"):
        assert admin.get(url).status_code == 200, url


def test_list_access_follows_the_policy(data, page_as):
    tech = data.technician()
    technician = page_as("technician", technician_id=tech.id)
    agent = page_as("agent")
    for url in ("/console/work-orders", "/console/technicians", "/console/assets",
                "/console/stock", "/console/pm-plans", "/console/campaigns"):
        assert technician.get(url).status_code == 403, url
    dealer = page_as("dealership", dealership_id=data.dealership().id)
    sent = dealer.get("/console/work-orders")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/portal")
    assert dealer.post("/console/customers", data={"csrf_token": dealer.csrf}).status_code \
        == 403
    assert agent.get("/console/technicians").status_code == 403
    assert agent.get("/console/stock").status_code == 403
    assert agent.get("/console/assets").status_code == 200


def test_work_order_detail(data, page_as):
    job = data.work_order(summary="Replace drum")
    dispatcher = page_as("dispatcher")
    page = dispatcher.get(f"/console/work-orders/{job.id}")
    assert page.status_code == 200 and b"Replace drum" in page.data
    assert dispatcher.get("/console/work-orders/424242").status_code == 404


def test_navigation_links_by_role(page_as):
    agent = page_as("agent").get("/console").data
    assert b'href="/console/customers"' in agent and b'href="/console/tickets"' in agent
    assert b'href="/console/technicians"' not in agent
    manager = page_as("manager").get("/console").data
    assert b'href="/console/pm-plans"' in manager and b'href="/console/campaigns"' in manager
    assert b'href="/console/customers/"' not in manager
    dispatcher = page_as("dispatcher").get("/console").data
    assert b'href="/console/work-orders"' in dispatcher
    assert b'href="/console/technicians"' in dispatcher


def test_persian_locale_is_remembered_and_right_to_left(page_as, anon_client):
    agent = page_as("agent")
    page = agent.get("/console/customers?lang=fa").data.decode()
    assert '<html lang="fa" dir="rtl">' in page and "یافتن مشتری" in page
    later = agent.get("/console/tickets").data.decode()
    assert 'dir="rtl"' in later and "درخواست‌ها" in later
    back = agent.get("/console/tickets?lang=en").data.decode()
    assert '<html lang="en" dir="ltr">' in back
    assert agent.get("/console?lang=xx").status_code == 200  # unknown languages are ignored
    browser = anon_client.get("/login", headers={"Accept-Language": "fa-IR,fa;q=0.9"})
    assert 'dir="rtl"' in browser.data.decode()


def test_language_chosen_before_sign_in_survives_it(app, anon_client):
    from tests.conftest import TEST_PASSWORD, make_user
    from tests.console.conftest import csrf_from

    make_user(app, "agent", username="farsi")
    form = anon_client.get("/login?lang=fa")
    assert 'dir="rtl"' in form.data.decode()
    anon_client.post("/login", data={"csrf_token": csrf_from(form.data), "username": "farsi",
                                     "password": TEST_PASSWORD})
    assert 'dir="rtl"' in anon_client.get("/console").data.decode()


def test_every_persian_string_has_matching_placeholders():
    import re

    from fieldsvc.console.catalog_fa import FA

    for source, text in FA.items():
        assert set(re.findall(r"%\((\w+)\)s", source)) == \
            set(re.findall(r"%\((\w+)\)s", text)), source
