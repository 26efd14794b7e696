"""Analyst pages: rulesets (check, upload, activate, retire), models with charts, drift."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from smartcustoms.access import Role
from smartcustoms.api.routers.analyst import evaluation_rows
from smartcustoms.portal.rendering import NAV_PAGES
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.store import tables as t
from smartcustoms.synth import TrafficConfig, write_traffic
from smartcustoms.testing import make_filing, write_jsonl
from tests.portal.conftest import PASSWORD, Portal
from tests.rulesets_text import MARKER_LISTS, MARKER_RULES

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

RULES = MARKER_RULES
LISTS = MARKER_LISTS.format(seller="SELLER-1")

BROKEN = """\
id = "broken"
version = "1"

[[rules]]
id = "no-action"
description = "forgets its action"
effective_from = 2026-01-01
when = { hs_code = { prefix = "61" } }

[[rules]]
id = "bad-field"
description = "tests a column that does not exist"
effective_from = 2026-01-01
lane = "red"
when = { colour = "red" }
"""


@pytest.fixture
def analyst(portal: Portal) -> Portal:
    """Logged in as an analyst who reads English."""
    portal.platform.access.add_user("alex", Role.ANALYST, password=PASSWORD, language="en")
    assert portal.login("alex").status_code == 303  # type: ignore[attr-defined]
    return portal


def _post_files(
    portal: Portal,
    rules: tuple[str, str] | None,
    lists: list[tuple[str, str]] = (),  # type: ignore[assignment]
    **fields: str,
) -> Any:
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("rules_file", (rules[0], rules[1].encode(), "text/plain"))
        if rules
        else ("rules_file", ("", b"", "application/octet-stream"))
    ]
    files += [("watchlist_files", (n, c.encode(), "text/plain")) for n, c in lists]
    data = {"csrf_token": portal.csrf("/portal/rules"), "intent": "upload", **fields}
    return portal.client.post("/portal/rules", data=data, files=files, follow_redirects=False)


def _upload(portal: Portal, version: str = "1") -> int:
    r = _post_files(portal, ("rules.toml", RULES.format(version=version)), [("marked.toml", LISTS)])
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/portal/rules/(\d+)\?done=uploaded", r.headers["location"])
    assert match, r.headers["location"]
    return int(match[1])


# ---------------------------------------------------------------- access


def test_analyst_pages_need_an_analyst_or_admin(portal: Portal) -> None:
    r = portal.client.get("/portal/rules", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    for user in ("ana", "shop"):  # an officer, a filer: 403 as from the API
        portal.login(user)
        for path in ("/portal/rules", "/portal/rules/1", "/portal/models", "/portal/drift"):
            page = portal.client.get(path)
            assert page.status_code == 403, (user, path)
            assert "auth.forbidden" in page.text and "text/html" in page.headers["content-type"]
        dashboard = portal.client.get("/portal/").text
        assert 'href="/portal/rules"' not in dashboard


def test_the_navigation_links_the_analyst_pages(analyst: Portal) -> None:
    dashboard = analyst.client.get("/portal/").text
    for path in ("/portal/rules", "/portal/models", "/portal/drift"):
        assert f'href="{path}"' in dashboard
    assert sum(1 for entry in NAV_PAGES if entry[0] == "/portal/rules") == 1


def test_unknown_and_malformed_ruleset_ids(analyst: Portal) -> None:
    page = analyst.client.get("/portal/rules/999")
    assert page.status_code == 404 and "ruleset.not_found" in page.text
    assert analyst.client.get("/portal/rules/0").status_code == 422


# ---------------------------------------------------------------- rules


def test_an_invalid_upload_lists_every_problem_and_stores_nothing(analyst: Portal) -> None:
    r = _post_files(analyst, ("mine.toml", BROKEN), note="trial")
    assert r.status_code == 422
    page = r.text
    assert 'role="alert"' in page and 'aria-live="polite"' in page
    rows = re.findall(r'<span class="path">([^<]+)</span></th>\s*<td><code>([^<]+)</code>', page)
    codes = {code for _, code in rows}
    assert {"rules.missing_action", "rules.unknown_field"} <= codes
    assert all(path.startswith("mine.toml:") for path, _ in rows)
    assert "unknown field &#39;colour&#39;" in page or "unknown field 'colour'" in page
    assert 'value="trial"' in page  # the form keeps what was typed
    assert analyst.platform.rulesets.rulesets() == []


def test_check_only_reports_and_stores_nothing(analyst: Portal) -> None:
    data = {
        "csrf_token": analyst.csrf("/portal/rules"),
        "intent": "check",
        "rules_name": "pasted.toml",
        "rules_text": RULES.format(version="1"),
        "watchlist_name": "marked.toml",
        "watchlist_text": LISTS,
    }
    empty = ("", b"", "application/octet-stream")
    files = [("rules_file", empty), ("watchlist_files", empty)]
    r = analyst.client.post("/portal/rules", data=data, files=files)
    assert r.status_code == 200, r.text
    assert "The files load without a problem." in r.text
    assert analyst.platform.rulesets.rulesets() == []


def test_uploads_need_the_csrf_token_and_a_file(analyst: Portal) -> None:
    files = [("rules_file", ("rules.toml", RULES.format(version="1").encode(), "text/plain"))]
    r = analyst.client.post("/portal/rules", data={"intent": "upload"}, files=files)
    assert r.status_code == 403 and "auth.forbidden" in r.text
    r = _post_files(analyst, None)
    assert r.status_code == 422 and "choose a rules file or paste one" in r.text
    r = _post_files(analyst, ("my rules.toml", RULES.format(version="1")))
    assert r.status_code == 422 and "a file name is 1-100 letters" in r.text
    bad = analyst.client.post(
        "/portal/rules",
        data={"csrf_token": analyst.csrf("/portal/rules"), "intent": "upload"},
        files=[("rules_file", ("latin.toml", 'id = "é"'.encode("latin-1"), "text/plain"))],
    )
    assert bad.status_code == 422 and "not UTF-8 text" in bad.text


def test_upload_show_activate_and_the_next_clearance_uses_it(
    analyst: Portal, tmp_path: Path
) -> None:
    platform = analyst.platform
    ruleset = _upload(analyst)
    page = analyst.client.get(f"/portal/rules/{ruleset}?done=uploaded")
    assert page.status_code == 200
    assert "Stored as a draft." in page.text and "status-draft" in page.text
    assert "marked-sellers" in page.text and "Seller under a fresh alert" in page.text

    listing = analyst.client.get("/portal/rules").text
    assert "The rules of the settings: example-eu-ecommerce" in listing
    no_token = analyst.client.post(f"/portal/rules/{ruleset}/activate", data={})
    assert no_token.status_code == 403 and platform.rulesets.active() is None

    token = analyst.csrf("/portal/rules")
    r = analyst.client.post(
        f"/portal/rules/{ruleset}/activate", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal/rules?done=activated"
    listing = analyst.client.get("/portal/rules?done=activated").text
    assert "Ruleset activated" in listing and 'class="is-active"' in listing
    assert "Uploaded ruleset analyst-set, version 1 (1 rules)" in listing
    audit = platform.store.audit_entries()
    assert any(e["action"] == "ruleset.activate" and e["actor"] == "alex" for e in audit)

    platform.clear([write_jsonl(tmp_path / "f.jsonl", [make_filing("AFTER")])])
    decision = platform.risk_records.decision("AFTER-C1")
    assert decision is not None and decision["lane"] == "red"
    detail = analyst.client.get(f"/portal/rules/{ruleset}").text
    hits = re.search(
        r"<code>marked-seller</code></th>.*?<td class=\"num\">(\d+)</td>", detail, re.S
    )
    assert hits and hits[1] == "1"

    token = analyst.csrf(f"/portal/rules/{ruleset}")
    r = analyst.client.post(f"/portal/rules/{ruleset}/retire", data={"csrf_token": token})
    assert r.status_code == 200 and "Ruleset retired." in r.text
    assert platform.rulesets.active() is None


def test_the_same_files_again_and_a_reused_version(analyst: Portal) -> None:
    ruleset = _upload(analyst)
    again = _post_files(
        analyst, ("rules.toml", RULES.format(version="1")), [("marked.toml", LISTS)]
    )
    assert again.headers["location"] == f"/portal/rules/{ruleset}?done=unchanged"
    other = _post_files(
        analyst,
        ("rules.toml", RULES.format(version="1")),
        [("marked.toml", MARKER_LISTS.format(seller="SELLER-2"))],
    )
    assert other.status_code == 409 and "give the new text its own version" in other.text


# ---------------------------------------------------------------- models and drift


def test_without_labels_the_models_and_drift_pages_say_so(analyst: Portal) -> None:
    models = analyst.client.get("/portal/models")
    assert models.status_code == 200 and "Not enough inspection results" in models.text
    assert "No model trained yet" in models.text and "<svg" not in models.text
    drift = analyst.client.get("/portal/drift")
    assert drift.status_code == 200 and "No model is trained yet" in drift.text


def _svg(page: str, chart: str) -> str:
    match = re.search(
        rf'<svg[^>]*aria-labelledby="{chart}-title {chart}-desc".*?</svg>', page, re.S
    )
    assert match, chart
    svg = match[0]
    assert f'<title id="{chart}-title">' in svg and f'<desc id="{chart}-desc">' in svg
    assert 'role="img"' in svg
    return svg


def test_models_and_drift_pages_draw_charts_with_the_numbers_in_tables(
    analyst: Portal, tmp_path: Path
) -> None:
    platform = analyst.platform
    filings, labels = tmp_path / "day.jsonl", tmp_path / "labels.parquet"
    write_traffic(
        TrafficConfig(consignments=400, seed=5, start=START, days=1.0), filings, labels=labels
    )
    platform.clear([filings])
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
    model = platform.targeting.train(seed=3)

    page = analyst.client.get("/portal/models?test_share=0.3")
    assert page.status_code == 200, page.text
    assert model.version in page.text
    precision = _svg(page.text, "chart-precision")
    assert precision.count("<rect") == sum(
        cut.precision is not None for row in evaluation_rows(platform) for cut in row.cuts
    )
    _svg(page.text, "chart-revenue")
    table = page.text[page.text.index("<caption>Ranking quality") :]
    for row in evaluation_rows(platform, test_share=0.3):
        for cut in row.cuts:
            if cut.precision is not None:
                assert f"{cut.precision * 100:.1f} %" in table
    assert 'scope="rowgroup"' in table and "smartcustoms model" in table

    later = tmp_path / "later.jsonl"
    end = model.window_end
    assert end is not None
    write_traffic(TrafficConfig(consignments=150, seed=9, start=end, days=0.5), later)
    platform.clear([later])
    drift = analyst.client.get("/portal/drift")
    assert drift.status_code == 200, drift.text
    assert "below 0.1: stable" in drift.text and "0.25" in drift.text
    svg = _svg(drift.text, "chart-features")
    assert 0 < svg.count("<rect") <= 20 and 'class="mark"' in svg
    pipeline = RiskPipeline.from_bytes(platform.risk_records.model().artifact or b"")
    assert drift.text.count('<th scope="row"><code>') == len(pipeline.builder_.schema_.names)


def test_the_rules_page_stays_usable_when_the_rules_in_force_do_not_load(
    analyst: Portal,
) -> None:
    """A ruleset stored by an older release that no longer loads: the page says so."""
    platform = analyst.platform
    ruleset = _upload(analyst)
    with platform.store.engine.begin() as conn:
        conn.execute(
            t.rulesets.update()
            .where(t.rulesets.c.id == ruleset)
            .values(rules=BROKEN, sha256="0" * 64, status="active")
        )
    page = analyst.client.get("/portal/rules")
    assert page.status_code == 200
    assert "The rules in force do not load" in page.text and "rules.unknown_field" in page.text
