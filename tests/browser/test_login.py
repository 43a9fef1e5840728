"""Signing in and out of the console in a real browser."""


def test_sign_in_shows_who_you_are_and_sign_out_ends_the_session(page, login):
    name = login("dispatcher")
    assert page.url.endswith("/console")
    assert name in page.content()
    with page.expect_navigation():
        page.click("text=Sign out")
    page.goto("/console")
    assert "/login" in page.url


def test_wrong_password_is_refused_with_a_message(page, app):
    from tests.conftest import make_user

    make_user(app, role="agent", username="browser-agent")
    page.goto("/login")
    page.fill("#username", "browser-agent")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").is_visible()
    assert "/login" in page.url
