"""Officer pages: the work queue, the consignment page and its forms, quarantine."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smartcustoms.access import Role
from smartcustoms.testing import make_filing
from tests.portal.conftest import BE, FR, PASSWORD, Portal

FILER_ID = "GB123456789000"  # the conftest filer "shop"


def _decided(portal: Portal, office: str, lane: str | None = None) -> str:
    """A consignment decided at ``office`` (in ``lane`` when given)."""
    rows, _ = portal.platform.risk_records.queue(
        offices=[office], lanes=[lane] if lane else None, limit=1
    )
    return str(rows[0]["consignment_id"])


def _listed(page: str) -> list[str]:
    """The consignment ids a queue page links to, in order."""
    return re.findall(r'<th scope="row"><a href="/portal/consignments/([^"]+)"', page)


def _total(page: str) -> int:
    """The count a queue page announces."""
    match = re.search(r'id="queue-count" data-total="(\d+)"', page)
    assert match, page[:300]
    return int(match.group(1))


def _codes(page: str, summary: str) -> list[str]:
    """The problem codes listed in the error summary ``summary`` of a form."""
    match = re.search(rf'<div class="summary" id="{summary}".*?</div>', page, re.S)
    assert match, f"no summary {summary!r}"
    return sorted(re.findall(r"<code>([a-z_.]+)</code>", match.group(0)))


def _audit(portal: Portal, action: str) -> list[dict[str, Any]]:
    return [e for e in portal.platform.store.audit_entries(limit=2000) if e["action"] == action]


def _post(portal: Portal, path: str, data: dict[str, str], *, token: bool = True) -> Any:
    """Submit a form of ``path``'s page (with the session's CSRF token unless told not to)."""
    if token:
        data = {**data, "csrf_token": portal.csrf("/portal/")}
    return portal.client.post(path, data=data, follow_redirects=False)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


# ---------------------------------------------------------------- queue


def test_the_queue_lists_the_officers_offices_red_first_with_a_count(cleared: Portal) -> None:
    cleared.login("ana")
    r = cleared.client.get("/portal/queue")
    assert r.status_code == 200, r.text
    rows, total = cleared.platform.risk_records.queue(offices=[FR], limit=50)
    assert _listed(r.text) == [row["consignment_id"] for row in rows]
    assert f"Consignments 1 to 50 of {total}" in r.text
    assert "Page 1 of" in r.text and 'rel="next"' in r.text
    read = _audit(cleared, "queue.read")
    assert read[0]["actor"] == "ana"
    assert json.loads(read[0]["details"])["consignments"] == _listed(r.text)
    second = cleared.client.get("/portal/queue?page=2")
    rows2, _ = cleared.platform.risk_records.queue(offices=[FR], limit=50, offset=50)
    assert _listed(second.text) == [row["consignment_id"] for row in rows2]


def test_queue_filters_narrow_by_lane_day_and_status(cleared: Portal) -> None:
    cleared.login("ana")
    red = cleared.client.get("/portal/queue?lane=red&lane=yellow")
    expected, total = cleared.platform.risk_records.queue(
        offices=[FR], lanes=["red", "yellow"], limit=50
    )
    assert _listed(red.text) == [row["consignment_id"] for row in expected]
    assert _total(red.text) == total and 'value="red" checked' in red.text
    full, _ = cleared.platform.risk_records.queue(offices=[FR], limit=500)
    today = [
        row["consignment_id"] for row in full if row["filed_at"].date().isoformat() == _today()
    ]
    page = cleared.client.get(f"/portal/queue?day={_today()}").text
    assert _total(page) == len(today) and _listed(page) == today[:50]
    long_ago = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
    assert "No consignment matches" in cleared.client.get(f"/portal/queue?day={long_ago}").text

    inspected = _decided(cleared, FR, "red")
    cleared.platform.targeting.record_inspections(
        [{"consignment_id": inspected, "result": "noncompliant", "officer": "ana"}], actor="ana"
    )
    for status, present in (
        ("inspected", True),
        ("noncompliant", True),
        ("compliant", False),
        ("not_inspected", False),
    ):
        page = cleared.client.get(f"/portal/queue?status={status}&lane=red").text
        assert (inspected in _listed(page)) is present, status
    only = cleared.client.get("/portal/queue?status=inspected").text
    assert _listed(only) == [inspected] and _total(only) == 1


def test_queue_statuses_end_with_the_inspection_results() -> None:
    from smartcustoms.store.risk import QUEUE_STATUSES
    from smartcustoms.targeting.feedback import RESULTS

    assert ("not_inspected", "inspected", *RESULTS) == QUEUE_STATUSES


def test_the_extra_filters_keep_the_queue_order(cleared: Portal) -> None:
    """Not inspected + inspected is the whole queue, and so are the days; the order is kept."""
    platform = cleared.platform
    cid = _decided(cleared, FR, "yellow")
    platform.targeting.record_inspections(
        [{"consignment_id": cid, "result": "compliant", "officer": "ana"}], actor="ana"
    )
    full, total = platform.risk_records.queue(offices=[FR], limit=500)
    days = sorted({row["filed_at"].date() for row in full})
    assert len(days) > 1  # the traffic starts the day before
    for day in days:  # the selection day is the filing day (UTC)
        by_day, n = platform.risk_records.queue(offices=[FR], day=day, limit=500)
        assert by_day == [row for row in full if row["filed_at"].date() == day]
        assert n == len(by_day)
    open_, n_open = platform.risk_records.queue(offices=[FR], status="not_inspected", limit=500)
    done, n_done = platform.risk_records.queue(offices=[FR], status="inspected", limit=500)
    assert n_open + n_done == total and [r["consignment_id"] for r in done] == [cid]
    assert [r for r in full if r["consignment_id"] != cid] == open_


def test_bad_queue_filters_are_shown_next_to_their_fields(cleared: Portal) -> None:
    cleared.login("ana")
    r = cleared.client.get("/portal/queue?day=31/12/2026&lane=purple&status=maybe")
    assert r.status_code == 422
    assert r.text.count('class="field-error"') == 3
    assert 'role="alert"' in r.text and "Problems found: 3" in r.text
    assert 'value="31/12/2026"' in r.text  # the input is kept


def test_another_offices_queue_is_forbidden_and_filers_have_no_queue(cleared: Portal) -> None:
    cleared.login("ana")
    r = cleared.client.get(f"/portal/queue?office={BE}")
    assert r.status_code == 403 and "auth.forbidden" in r.text
    assert "text/html" in r.headers["content-type"]
    cleared.login("shop")
    cid = _decided(cleared, FR)
    for path in ("/portal/queue", f"/portal/consignments/{cid}"):
        assert cleared.client.get(path).status_code == 403
    nav = cleared.client.get("/portal/").text
    assert 'href="/portal/queue"' not in nav and 'href="/portal/quarantine"' in nav


def test_admins_see_every_office(cleared: Portal) -> None:
    cleared.login("boss")
    r = cleared.client.get(f"/portal/queue?office={BE}")
    assert r.status_code == 200 and _listed(r.text)
    assert 'href="/portal/queue"' in r.text and 'href="/portal/quarantine"' in r.text
    _, total = cleared.platform.risk_records.queue(offices=None, limit=1)
    assert _total(cleared.client.get("/portal/queue").text) == total


def test_pages_need_a_login(cleared: Portal) -> None:
    r = cleared.client.get("/portal/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal/login?next=/portal/queue"


# ---------------------------------------------------------------- consignment page


def test_the_consignment_page_has_goods_duties_explanation_and_history(cleared: Portal) -> None:
    rows, _ = cleared.platform.risk_records.queue(offices=[FR], lanes=["red"], limit=50)
    cid = next(r["consignment_id"] for r in rows if r["rule_hits"])
    cleared.login("ana")
    r = cleared.client.get(f"/portal/consignments/{cid}")
    assert r.status_code == 200, r.text
    page = html.unescape(r.text)
    explained = cleared.platform.targeting.explain(cid)
    for reason in explained["reasons"]:
        assert reason["text"] in page  # the explanation, in plain words
    for hit in explained["rule_hits"]:
        assert hit["rule_id"] in page
    case = cleared.platform.store.consignment(cid)
    assert case is not None
    for item in case["items"]:
        assert item["description"] in page and item["hs_code"] in page
    assert f"{case['assessment']['total_payable']:,.2f}" in page
    assert "Lodgement" in page and "Acceptance" in page  # lifecycle events
    assert 'id="inspection-form"' in page and 'id="reroute-form"' in page
    assert [e["subject_id"] for e in _audit(cleared, "consignment.read")] == [cid]
    assert [e["actor"] for e in _audit(cleared, "consignment.explain")] == ["ana"]


def test_another_offices_consignment_is_not_found_like_an_unknown_id(cleared: Portal) -> None:
    cid = _decided(cleared, BE)
    cleared.login("ana")
    hidden = cleared.client.get(f"/portal/consignments/{cid}")
    unknown = cleared.client.get("/portal/consignments/NOPE123")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text.replace(cid, "X") == unknown.text.replace("NOPE123", "X")
    assert "consignment.not_found" in hidden.text
    assert [e["actor"] for e in _audit(cleared, "consignment.denied")] == ["ana"]
    assert not _audit(cleared, "consignment.read")
    cleared.login("bea")
    assert cleared.client.get(f"/portal/consignments/{cid}").status_code == 200


def test_analysts_read_the_page_but_get_no_forms(cleared: Portal) -> None:
    cid = _decided(cleared, FR, "green")
    cleared.login("ines")
    page = cleared.client.get(f"/portal/consignments/{cid}")
    assert page.status_code == 200 and 'lang="es"' in page.text
    assert "inspection-form" not in page.text and "reroute-form" not in page.text
    r = _post(cleared, f"/portal/consignments/{cid}/inspections", {"result": "compliant"})
    assert r.status_code == 403
    assert cleared.platform.risk_records.inspections(cid) == []


# ---------------------------------------------------------------- inspection form


def test_an_inspection_is_recorded_and_shown_on_the_page(cleared: Portal) -> None:
    cid = _decided(cleared, FR, "red")
    cleared.login("ana")
    r = _post(
        cleared,
        f"/portal/consignments/{cid}/inspections",
        {
            "result": "noncompliant",
            "finding": "cotton T-shirts declared as samples",
            "revenue_recovered": "12.40",
            "currency": "EUR",
            "corrected_hs_code": "610910",
            "corrected_value": "",
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/portal/consignments/{cid}?done=inspection"
    (recorded,) = cleared.platform.risk_records.inspections(cid)
    assert recorded["officer"] == "ana" and recorded["result"] == "noncompliant"
    assert str(recorded["revenue_recovered"]).startswith("12.4")
    assert recorded["corrected_value"] is None
    page = cleared.client.get(r.headers["location"]).text
    assert "Inspection recorded: " in page and "cotton T-shirts declared as samples" in page
    queue = cleared.client.get("/portal/queue?status=noncompliant").text
    assert _listed(queue) == [cid]
    audit = _audit(cleared, "risk.inspect")
    assert [(e["actor"], e["subject_id"]) for e in audit] == [("ana", cid)]


def test_a_bad_inspection_lists_every_problem_and_keeps_the_input(cleared: Portal) -> None:
    cid = _decided(cleared, FR)
    cleared.login("ana")
    r = _post(
        cleared,
        f"/portal/consignments/{cid}/inspections",
        {
            "finding": "kept <as typed>",
            "revenue_recovered": "-3",
            "corrected_value": "NaN",
            "currency": "EURO",
            "corrected_hs_code": "00001A",
        },
    )
    assert r.status_code == 422
    assert _codes(r.text, "inspection") == [
        "hs.unknown",
        "inspection.amount",
        "inspection.amount",
        "inspection.result",
        "request.string_pattern_mismatch",
    ]
    for field in (
        "result",
        "revenue_recovered",
        "corrected_value",
        "currency",
        "corrected_hs_code",
    ):
        assert f'id="inspection-{field}-error"' in r.text, field
    assert r.text.count('aria-invalid="true"') == 4  # the radio group is described instead
    assert "kept &lt;as typed&gt;</textarea>" in r.text
    assert 'value="-3"' in r.text and 'value="EURO"' in r.text and 'value="00001A"' in r.text
    assert "Choose compliant or noncompliant." in r.text
    assert cleared.platform.risk_records.inspections(cid) == []
    # an inconsistent result is a problem too (the domain's rule, as in the API)
    r = _post(
        cleared,
        f"/portal/consignments/{cid}/inspections",
        {"result": "compliant", "revenue_recovered": "5", "currency": "EUR"},
    )
    assert r.status_code == 422 and "inspection.inconsistent" in r.text
    assert 'value="compliant" checked' in r.text


def test_switching_language_after_a_form_error_returns_to_the_page(cleared: Portal) -> None:
    cid = _decided(cleared, FR)
    cleared.login("ana")
    r = _post(cleared, f"/portal/consignments/{cid}/lane", {"lane": "red"})
    assert r.status_code == 422
    token = cleared.csrf("/portal/")
    back = f"/portal/consignments/{cid}/lane"  # what the page's language form sends back
    r = cleared.client.post(
        "/portal/language", data={"lang": "fr", "csrf_token": token, "back": back}
    )
    assert r.status_code == 200 and r.url.path == f"/portal/consignments/{cid}"
    assert '<html lang="fr">' in r.text


def test_forms_without_the_csrf_token_are_refused(cleared: Portal) -> None:
    cid = _decided(cleared, FR, "green")
    cleared.login("ana")
    for path, data in (
        (f"/portal/consignments/{cid}/inspections", {"result": "compliant"}),
        (f"/portal/consignments/{cid}/lane", {"lane": "red", "justification": "a good reason"}),
        ("/portal/quarantine/q0/resubmit", {"corrected": "{}"}),
    ):
        r = _post(cleared, path, data, token=False)
        assert r.status_code == 403 and "auth.forbidden" in r.text, path
        r = _post(cleared, path, {**data, "csrf_token": "forged"}, token=False)
        assert r.status_code == 403, path
    assert cleared.platform.risk_records.inspections(cid) == []
    assert cleared.platform.risk_records.lane_changes(cid) == []


def test_an_officer_cannot_act_on_another_offices_consignment(cleared: Portal) -> None:
    cid = _decided(cleared, BE)
    cleared.login("ana")
    r = _post(cleared, f"/portal/consignments/{cid}/inspections", {"result": "compliant"})
    assert r.status_code == 404 and "consignment.not_found" in r.text
    r = _post(cleared, f"/portal/consignments/{cid}/lane", {"lane": "red", "justification": "x"})
    assert r.status_code == 404
    assert cleared.platform.risk_records.inspections(cid) == []


def test_nul_characters_are_a_form_problem(cleared: Portal) -> None:
    cid = _decided(cleared, FR)
    cleared.login("ana")
    r = _post(
        cleared,
        f"/portal/consignments/{cid}/inspections",
        {"result": "compliant", "finding": "bad\x00text"},
    )
    assert r.status_code == 422 and "request.nul" in r.text
    assert cleared.platform.risk_records.inspections(cid) == []


# ---------------------------------------------------------------- re-routing


def test_re_routing_needs_a_justification_and_another_lane(cleared: Portal) -> None:
    cid = _decided(cleared, FR, "green")
    cleared.login("ana")
    url = f"/portal/consignments/{cid}/lane"
    r = _post(cleared, url, {"lane": "red", "justification": "short"})
    assert r.status_code == 422
    assert _codes(r.text, "lane") == ["lane.justification"]
    assert "at least 10 characters" in r.text and ">short</textarea>" in r.text
    assert 'value="red" checked' in r.text
    r = _post(cleared, url, {"lane": "green", "justification": "   "})
    assert _codes(r.text, "lane") == [
        "lane.justification",
        "lane.unchanged",
    ]
    r = _post(cleared, url, {"justification": "no lane chosen here"})
    assert r.status_code == 422 and _codes(r.text, "lane") == ["request.missing"]
    assert "Choose one of the values offered." in r.text
    r = _post(cleared, url, {"lane": "purple", "justification": "tiny"})
    assert _codes(r.text, "lane") == ["lane.justification", "request.enum"]
    assert cleared.platform.risk_records.lane_changes(cid) == []
    assert cleared.platform.risk_records.decision(cid)["lane"] == "green"  # type: ignore[index]


def test_re_routing_changes_the_lane_and_shows_in_the_history(cleared: Portal) -> None:
    cid = _decided(cleared, FR, "green")
    cleared.login("ana")
    why = "seller named in this morning's seizure report"
    r = _post(cleared, f"/portal/consignments/{cid}/lane", {"lane": "red", "justification": why})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=lane")
    (change,) = cleared.platform.risk_records.lane_changes(cid)
    assert (change["from_lane"], change["to_lane"], change["officer"]) == ("green", "red", "ana")
    page = html.unescape(cleared.client.get(r.headers["location"]).text)
    assert "Lane changed." in page and why in page
    audit = _audit(cleared, "consignment.lane_change")
    assert [(e["actor"], e["subject_id"]) for e in audit] == [("ana", cid)]


# ---------------------------------------------------------------- quarantine


def _bad_filing(filing_id: str = "BAD-1") -> dict[str, Any]:
    """A filing of the conftest filer with an unknown HS code and an unknown currency."""
    filing = make_filing(filing_id)
    filing["filer"]["id"] = FILER_ID
    filing["consignments"][0]["items"][0]["hs_code"] = "610950"
    filing["consignments"][0]["currency"] = "XYZ"
    return filing


def _quarantined(portal: Portal, filing: dict[str, Any]) -> str:
    """Submit ``filing`` as the filer through the API; the quarantine id of its rejection."""
    token = portal.platform.access.issue_key("shop").token
    r = portal.client.post(
        "/api/v1/filings", json=filing, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 422, r.text
    return str(r.json()["quarantine_id"])


def test_a_filer_corrects_and_resubmits_a_quarantined_filing(portal: Portal) -> None:
    qid = _quarantined(portal, _bad_filing())
    portal.login("shop")
    listed = portal.client.get("/portal/quarantine")
    assert listed.status_code == 200 and f'href="/portal/quarantine/{qid}"' in listed.text
    shown = portal.client.get(f"/portal/quarantine/{qid}")
    assert shown.status_code == 200
    entry = portal.platform.store.quarantine_entry(qid)
    for problem in entry.problems:  # every problem with its path and message
        assert problem.path in shown.text and html.escape(problem.message) in shown.text
    payload = shown.text.split('<pre class="payload"')[1].split("</pre>")[0]
    assert '"hs_code":"610950"' in html.unescape(payload)  # the record as received

    still_bad = make_filing("BAD-1")
    still_bad["filer"]["id"] = FILER_ID
    still_bad["consignments"][0]["items"][0]["hs_code"] = "610950"
    url = f"/portal/quarantine/{qid}/resubmit"
    r = _post(portal, url, {"corrected": json.dumps(still_bad, indent=2)})
    assert r.status_code == 422
    assert _codes(r.text, "resubmit-problems") == ["hs.unknown"]
    assert "610950" in r.text.split("<textarea")[1]  # the text as typed is kept
    assert portal.platform.store.quarantine_entry(qid).status == "open"

    fixed = make_filing("BAD-1")
    fixed["filer"]["id"] = FILER_ID
    r = _post(portal, url, {"corrected": json.dumps(fixed, indent=2).replace("\n", "\r\n")})
    assert r.status_code == 303, r.text
    entry = portal.platform.store.quarantine_entry(qid)
    assert entry.status == "resolved" and entry.resolved_filing_id == "BAD-1"
    page = portal.client.get(r.headers["location"]).text
    assert "Accepted as filing BAD-1." in page and "BAD-1-C1" in page
    assert "resubmit-form" not in page
    audit = [e for e in _audit(portal, "quarantine.resubmit") if e["actor"] == "shop"]
    assert [json.loads(e["details"])["accepted"] for e in audit] == [True, False]  # newest first
    assert {e["action"] for e in portal.platform.store.audit_entries() if e["actor"] == "shop"} >= {
        "quarantine.list",
        "quarantine.read",
    }


def test_quarantine_is_for_filers_and_admins_only(portal: Portal) -> None:
    qid = _quarantined(portal, _bad_filing())
    portal.login("ana")  # officers may not use the quarantine routes of the API either
    assert portal.client.get("/portal/quarantine").status_code == 403
    assert portal.client.get(f"/portal/quarantine/{qid}").status_code == 403
    portal.platform.access.add_user(
        "other", Role.FILER, filer_id="FR987654321000", password=PASSWORD
    )
    portal.login("other")
    assert qid not in portal.client.get("/portal/quarantine").text
    hidden = portal.client.get(f"/portal/quarantine/{qid}")
    unknown = portal.client.get("/portal/quarantine/q" + "0" * 31)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text.replace(qid, "X") == unknown.text.replace("q" + "0" * 31, "X")
    r = _post(portal, f"/portal/quarantine/{qid}/resubmit", {"corrected": ""})
    assert r.status_code == 404
    assert portal.platform.store.quarantine_entry(qid).attempts == 1
    portal.platform.access.add_user("boss", Role.ADMIN, password=PASSWORD)
    portal.login("boss")
    assert portal.client.get(f"/portal/quarantine/{qid}").status_code == 200


# ---------------------------------------------------------------- languages


@pytest.mark.parametrize(("lang", "word"), [("fr", "Langue"), ("es", "Idioma")])
def test_the_officer_pages_follow_the_language(cleared: Portal, lang: str, word: str) -> None:
    cid = _decided(cleared, FR, "red")
    cleared.login("ana")
    token = cleared.csrf("/portal/")
    cleared.client.post("/portal/language", data={"lang": lang, "csrf_token": token})
    for path in ("/portal/queue", f"/portal/consignments/{cid}"):
        page = cleared.client.get(path).text
        assert f'<html lang="{lang}">' in page and f">{word}</label>" in page
