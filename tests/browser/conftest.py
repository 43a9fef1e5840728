"""Console tests in a real headless browser: Debian's chromium driven by Playwright.

The app under test is the same real app and database as the other tests, served on a free
loopback port from a thread. Each test's last screen is saved under test-artifacts/.
`.ci/run` installs chromium when it is missing; elsewhere the tests skip without it.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("FIELDSVC_CHROMIUM") or shutil.which("chromium") or ""
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def _browser():
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run should have installed it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The test app served on 127.0.0.1:<free port>; yields its base URL."""
    app.config["WTF_CSRF_SSL_STRICT"] = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(_browser, live_server, request):
    """A fresh browser tab (own cookies) on the live server; screenshot kept after the test."""
    context = _browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    try:
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def login(page, app):
    """login(role="dispatcher", **links) → signs the tab in through the real login form."""
    from tests.conftest import TEST_PASSWORD, make_user

    def _login(role: str = "admin", username: str | None = None, **links):
        username = username or f"browser-{role}"
        make_user(app, role=role, username=username, **links)
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", TEST_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        return username

    return _login
