"""The portal in a real headless Chromium (Debian's ``chromium`` driven by Playwright).

Skipped when ``/usr/bin/chromium`` is absent, unless ``SMARTCUSTOMS_REQUIRE_SERVICES=1``
(CI), where ``.ci/run`` installs it and a missing browser fails the run. Screenshots go to
``$SMARTCUSTOMS_SCREENSHOTS`` when set (``SMARTCUSTOMS_SCREENSHOTS=docs/screenshots`` refreshes
the ones in the docs), else to the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smartcustoms.access import Role
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.testing import serve_in_thread
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


def _need_chromium() -> None:
    """Skip without Chromium, except in CI (``SMARTCUSTOMS_REQUIRE_SERVICES=1``): fail there."""
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} required (SMARTCUSTOMS_REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed")


@pytest.fixture
def server(tmp_path: Path, traffic: Path) -> Iterator[str]:
    """The service on a loopback port, on a fresh SQLite store with traffic and an officer."""
    _need_chromium()
    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    platform.access.add_user(
        "ana", Role.OFFICER, offices=["FR000730"], password=PASSWORD, display_name="Ana"
    )
    platform.clear([traffic])
    yield from serve_in_thread(platform)


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


def test_work_the_queue_and_record_a_finding_in_three_languages(
    server: str, tmp_path: Path
) -> None:
    """Log in, filter the queue, open a consignment, record a finding, read it in FR and ES."""
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("SMARTCUSTOMS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server}/portal/queue")
        page.get_by_label("User").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server}/portal/queue")
        assert page.get_by_role("heading", name="Work queue", level=1).is_visible()

        # filter: red lane, not inspected yet (keyboard-operable controls with labels)
        page.get_by_role("group", name="Lanes").get_by_role("checkbox").first.check()
        page.get_by_label("Inspection").select_option("not_inspected")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**/portal/queue?*lane=red*")
        expect(page.locator("#queue-count")).to_contain_text("Consignments 1 to")
        lanes = page.locator("table.queue tbody td .lane").all_inner_texts()
        assert lanes and set(lanes) == {"red"}
        page.screenshot(path=str(shots / "portal-queue-en.png"))

        first = page.locator("table.queue tbody th a").first
        cid = first.inner_text()
        first.click()
        page.wait_for_url(f"**/portal/consignments/{cid}")
        assert page.get_by_role("heading", name="Why this lane").is_visible()
        assert page.locator(".reasons li").count() >= 1
        page.screenshot(path=str(shots / "portal-consignment-en.png"))

        # a form with problems: every one is listed and the input is kept
        page.get_by_label("Findings").fill("cotton T-shirts declared as samples")
        page.get_by_label("Revenue recovered").fill("-3")
        page.get_by_role("button", name="Record the inspection").click()
        page.wait_for_load_state()
        summary = page.locator("#inspection")
        expect(summary).to_contain_text("Problems found: 2")
        assert page.get_by_label("Findings").input_value() == "cotton T-shirts declared as samples"
        page.screenshot(path=str(shots / "portal-inspection-errors-en.png"))

        # correct it with the keyboard only: the radio group, then the amount
        page.get_by_role("radio", name="noncompliant").focus()
        page.keyboard.press("Space")
        page.get_by_label("Revenue recovered").fill("12.40")
        page.get_by_label("Revenue recovered").press("Enter")
        page.wait_for_url(f"**/portal/consignments/{cid}?done=inspection*")
        expect(
            page.get_by_role("status").filter(has_text="Inspection recorded: noncompliant")
        ).to_be_visible()
        history = page.locator("section[aria-labelledby=history-title]")
        expect(history).to_contain_text("cotton T-shirts declared as samples")
        page.evaluate("document.getElementById('history-title').scrollIntoView()")
        page.screenshot(path=str(shots / "portal-inspection-en.png"))

        page.get_by_label("Language").select_option("fr")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.get_by_label("Langue").is_visible()
        assert page.url.endswith(f"/portal/consignments/{cid}")  # the same page, in French
        page.screenshot(path=str(shots / "portal-consignment-fr.png"))

        page.get_by_label("Langue").select_option("es")
        page.get_by_role("button", name="Changer").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.get_by_label("Idioma").is_visible()
        page.get_by_role("button", name="Cerrar sesión").click()
        page.wait_for_url(f"{server}/portal/login")
        browser.close()


@pytest.fixture
def full_server(tmp_path: Path) -> Iterator[str]:
    """The service with labelled history and a trained model, an analyst, a filer whose
    filing was rejected, and an administrator."""
    _need_chromium()
    import orjson
    import polars as pl

    from smartcustoms.clearance.batcher import DecisionBatcher
    from smartcustoms.synth import TrafficConfig, write_traffic
    from smartcustoms.testing import make_filing

    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'full.db'}"))
    access = platform.access
    access.add_user("ines", Role.ANALYST, password=PASSWORD, display_name="Inés", language="en")
    access.add_user("shop", Role.FILER, filer_id="GB123456789000", password=PASSWORD)
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history, labels = tmp_path / "history.jsonl", tmp_path / "labels.parquet"
    write_traffic(
        TrafficConfig(consignments=600, seed=21, start=start - timedelta(days=2), days=1.5),
        history,
        labels=labels,
    )
    platform.clear([history])
    platform.targeting.record_inspections(
        [
            {
                "consignment_id": r["consignment_id"],
                "result": "noncompliant" if r["is_noncompliant"] else "compliant",
                "revenue_recovered": r["revenue_at_stake"] if r["is_noncompliant"] else None,
                "officer": "inspector",
            }
            for r in pl.read_parquet(labels).iter_rows(named=True)
        ]
    )
    platform.targeting.train(seed=3)
    today = tmp_path / "today.jsonl"
    write_traffic(TrafficConfig(consignments=200, seed=22, start=start, days=0.5), today)
    platform.clear([today])
    bad = make_filing("SHOP-0042", filed_at=start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    bad["filer"]["id"] = "GB123456789000"
    bad["consignments"][0]["items"][0]["hs_code"] = "610950"
    bad["consignments"][0]["currency"] = "XYZ"
    batcher = DecisionBatcher(lambda: platform.clearance(actor="api"))
    rejected = batcher.submit(
        orjson.dumps(bad), fmt="json", tenant="GB123456789000", actor="shop"
    ).result(60)
    batcher.close()
    assert rejected.results["status"].to_list() == ["quarantined"]
    yield from serve_in_thread(platform)


def _log_in(page: object, server: str, user: str, path: str) -> None:
    page.goto(f"{server}{path}")  # type: ignore[attr-defined]
    page.get_by_label("User").fill(user)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}{path}")  # type: ignore[attr-defined]


def test_an_analyst_reads_rules_models_and_drift_and_a_filer_fixes_a_rejected_filing(
    full_server: str, tmp_path: Path
) -> None:
    """The analyst pages with their charts, in English and Spanish; the filer's quarantine."""
    from playwright.sync_api import expect, sync_playwright

    server = full_server
    shots = Path(os.environ.get("SMARTCUSTOMS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        analyst = browser.new_page(viewport={"width": 1280, "height": 800})
        _log_in(analyst, server, "ines", "/portal/models")
        expect(analyst.get_by_role("heading", name="Risk models", level=1)).to_be_visible()
        chart = analyst.locator("svg[aria-labelledby^='chart-precision']")
        assert chart.locator("rect").count() > 0
        expect(chart.locator("title").first).to_have_text("Precision at inspection budget")
        analyst.screenshot(path=str(shots / "portal-models-en.png"), full_page=True)
        analyst.get_by_role("link", name="Drift").click()
        expect(analyst.get_by_role("heading", name="Drift of the active model")).to_be_visible()
        analyst.screenshot(path=str(shots / "portal-drift-en.png"))
        analyst.get_by_role("link", name="Rules").click()
        expect(analyst.get_by_role("heading", name="Targeting rules", level=1)).to_be_visible()
        analyst.screenshot(path=str(shots / "portal-rules-en.png"))
        analyst.get_by_label("Language").select_option("es")
        analyst.get_by_role("button", name="Switch").click()
        analyst.wait_for_load_state()
        assert analyst.locator("html").get_attribute("lang") == "es"
        expect(analyst.locator("h1")).not_to_have_text("Targeting rules")
        analyst.screenshot(path=str(shots / "portal-rules-es.png"))

        filer = browser.new_page(viewport={"width": 1280, "height": 800})
        _log_in(filer, server, "shop", "/portal/quarantine")
        assert filer.get_by_role("link", name="Work queue").count() == 0  # not a filer's page
        entry = filer.locator("table tbody a").first
        entry.click()
        filer.wait_for_url("**/portal/quarantine/*")
        problems = filer.locator("section[aria-labelledby=problems-title]")
        expect(problems).to_contain_text("currency")
        expect(problems).to_contain_text("hs_code")
        filer.screenshot(path=str(shots / "portal-quarantine-en.png"))
        record = filer.get_by_label("Corrected record")
        fixed = record.input_value().replace('"610950"', '"610910"').replace('"XYZ"', '"EUR"')
        record.fill(fixed)
        filer.get_by_role("button", name="Resubmit").click()
        filer.wait_for_load_state()
        expect(filer.get_by_role("heading", name="Resolved")).to_be_visible()
        filer.screenshot(path=str(shots / "portal-quarantine-resolved-en.png"))
        browser.close()
