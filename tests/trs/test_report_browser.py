"""The HTML report opened from a file in a real headless Chromium: renders, offline, readable.

Skipped without ``/usr/bin/chromium`` unless ``SMARTCUSTOMS_REQUIRE_SERVICES=1``. The
screenshot goes to ``$SMARTCUSTOMS_SCREENSHOTS`` when set (``docs/screenshots`` refreshes the
one in the docs), else to the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from smartcustoms.synth import generate_timelines
from smartcustoms.trs import StudyParams, run_study
from smartcustoms.trs.html import render_html
from tests.portal.test_browser import CHROMIUM, FLAGS, _need_chromium


def test_the_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    chunks = list(generate_timelines(20_000, seed=11, days=21, chunk_size=20_000))
    study = run_study(
        pl.concat([c.events for c in chunks]),
        pl.concat([c.attributes for c in chunks]),
        StudyParams(timezone="Europe/Paris"),
    )
    report = tmp_path / "trs.html"
    report.write_text(render_html(study), encoding="utf-8")
    shots = Path(os.environ.get("SMARTCUSTOMS_SCREENSHOTS") or tmp_path)
    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 2000})
        page.on("request", lambda r: requested.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(report.as_uri())
        assert page.title() == "Time Release Study"
        charts = page.locator("svg[role=img]")
        assert charts.count() == 4
        for i in range(4):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 150
            name = charts.nth(i).evaluate(
                "el => el.getAttribute('aria-labelledby').split(' ')"
                ".map(id => document.getElementById(id).textContent).join(' | ')"
            )
            assert " | " in name and len(name) > 30
        headline = page.locator(".headline .figure").inner_text()
        mean = study.publication().mean_hours
        assert mean is not None and headline == f"{mean:.2f} h"
        # the first screenful: headline, release times, distribution, stages
        top = {"x": 0, "y": 0, "width": 1280, "height": 1900}
        page.screenshot(path=str(shots / "trs-report-en.png"), clip=top)
        page.locator("summary").first.click()
        assert page.locator("details[open] table").count() == 1
        browser.close()
    assert requested == [report.as_uri()]  # nothing fetched beyond the file itself
    assert errors == []
