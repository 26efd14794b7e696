"""The portal in a real headless Chromium (Debian's ``chromium`` driven by Playwright).

Skipped when ``/usr/bin/chromium`` is absent, unless ``SMARTCUSTOMS_REQUIRE_SERVICES=1``
(CI), where ``.ci/run`` installs it and a missing browser fails the run. Screenshots go to
``$SMARTCUSTOMS_SCREENSHOTS`` when set (``SMARTCUSTOMS_SCREENSHOTS=docs/screenshots`` refreshes
the ones in the docs), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from smartcustoms.access import Role
from smartcustoms.api import create_app
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from tests.conftest import services_required

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The service on a loopback port, on a fresh SQLite store with an officer."""
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} required (SMARTCUSTOMS_REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed")
    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    platform.access.add_user(
        "ana", Role.OFFICER, offices=["FR000730"], password=PASSWORD, display_name="Ana"
    )
    port = _free_port()
    config = uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    platform.close()


def test_log_in_see_the_dashboard_and_switch_language(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SMARTCUSTOMS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server}/portal/")
        assert "/portal/login" in page.url
        page.get_by_label("User").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server}/portal/")
        assert page.get_by_role("heading", name="Consignments accepted").is_visible()
        page.screenshot(path=str(shots / "portal-dashboard-en.png"), full_page=True)
        # keyboard: the skip link is the first stop and moves focus to the content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.get_by_label("Language").select_option("fr")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.get_by_role("link", name="Tableau de bord").is_visible()
        page.screenshot(path=str(shots / "portal-dashboard-fr.png"), full_page=True)
        page.get_by_label("Langue").select_option("es")
        page.get_by_role("button", name="Changer").click()
        page.wait_for_load_state()
        assert page.get_by_role("link", name="Tablero").is_visible()
        page.get_by_role("button", name="Cerrar sesión").click()
        page.wait_for_url(f"{server}/portal/login")
        browser.close()
