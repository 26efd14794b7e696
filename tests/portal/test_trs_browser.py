"""The release-time page in a real headless Chromium, in French, with synthetic timelines.

Skipped without ``/usr/bin/chromium`` unless ``SMARTCUSTOMS_REQUIRE_SERVICES=1``. The
screenshot goes to ``$SMARTCUSTOMS_SCREENSHOTS`` when set, else to the temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from smartcustoms.access import Role
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.events import EventRecords
from smartcustoms.synth import generate_timelines
from smartcustoms.testing import serve_in_thread
from tests.portal.test_browser import CHROMIUM, FLAGS, PASSWORD, _need_chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The service on a SQLite store holding three weeks of synthetic timelines."""
    _need_chromium()
    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'trs.db'}"))
    platform.access.add_user("lea", Role.ANALYST, password=PASSWORD, language="fr")
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    chunks = generate_timelines(
        6_000, seed=5, start=start - timedelta(days=24), days=21, chunk_size=6_000
    )
    EventRecords(platform.store).add(pl.concat([c.events for c in chunks]))
    yield from serve_in_thread(platform)


def test_the_release_time_page_in_french(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SMARTCUSTOMS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1800})
        page.goto(f"{server}/portal/login")
        page.get_by_label("User").fill("lea")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server}/portal/")
        assert page.get_by_role("heading", name="Délai moyen de mainlevée").is_visible()
        page.get_by_role("navigation").get_by_role("link", name="Délais de mainlevée").click()
        page.wait_for_url(f"{server}/portal/trs")
        assert page.locator(".headline .figure").inner_text().endswith(" h")
        charts = page.locator("svg[role=img]")
        assert charts.count() == 4
        for i in range(4):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 500
        legend = page.locator("svg[role=img] text").filter(has_text="Attente de la visite physique")
        assert legend.count() == 1 and legend.is_visible()
        page.screenshot(path=str(shots / "portal-trs-fr.png"), full_page=False)
        page.locator("select[name=lane]").select_option("red")
        page.get_by_role("button", name="Afficher").click()
        page.wait_for_load_state()
        assert "lane=red" in page.url
        browser.close()
