"""The home page and shell: a dealership user finds its portal, every page has an icon."""

from __future__ import annotations


def test_dealership_user_gets_a_link_to_its_portal(data, page_as):
    dealership = data.dealership(name="Azadi Motors")
    client = page_as("dealership", dealership_id=dealership.id)
    home = client.get("/console?lang=en").get_data(as_text=True)
    assert 'id="portal-link"' in home and 'href="/portal' in home
    assert client.get("/portal").status_code == 200
    persian = client.get("/console?lang=fa").get_data(as_text=True)
    assert "درگاه نمایندگی" in persian and "The REST API" not in persian


def test_other_roles_get_no_portal_link(page_as):
    home = page_as("agent").get("/console").get_data(as_text=True)
    assert 'id="portal-link"' not in home


def test_every_page_links_an_icon_that_exists(client, page_as):
    login = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in login
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data
    fallback = client.get("/favicon.ico")
    assert fallback.status_code == 301 and fallback.location.endswith("/static/favicon.svg")
    assert 'rel="icon"' in client.get("/api/docs").get_data(as_text=True)
