"""Officer routes: queues scoped to offices, case files, inspections, re-routing, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from smartcustoms.access import Role
from smartcustoms.synth import TrafficConfig, write_traffic
from tests.api.conftest import Api

V1 = "/api/v1"
FR, BE = "FR000730", "BE212000"  # the conftest officer works FR; BE is in the traffic too
START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day of synthetic traffic at two offices (written once per module)."""
    path = tmp_path_factory.mktemp("traffic") / "day.jsonl"
    write_traffic(
        TrafficConfig(consignments=300, seed=11, start=START, days=1.0, offices=(FR, BE)), path
    )
    return path


@pytest.fixture
def cleared(api: Api, traffic: Path) -> Api:
    """The API on a store holding the cleared traffic, and a user working the BE office."""
    api.platform.clear([traffic])
    api.platform.access.add_user("be_officer", Role.OFFICER, offices=[BE])
    token = api.platform.access.issue_key("be_officer").token
    api.headers["be_officer"] = {"Authorization": f"Bearer {token}"}
    return api


def _decided(api: Api, office: str, lane: str | None = None) -> str:
    """A consignment decided at ``office`` (in ``lane`` when given)."""
    rows, _ = api.platform.risk_records.queue(
        offices=[office], lanes=[lane] if lane else None, limit=1
    )
    return str(rows[0]["consignment_id"])


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is a problem-details document with ``status`` and ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"/problems/{code}" and body["instance"] == response.request.url.path
    return body


def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    return [e for e in api.platform.store.audit_entries(limit=1000) if e["action"] == action]


# ---------------------------------------------------------------- queue


def test_the_queue_shows_only_the_officers_offices_red_first(cleared: Api) -> None:
    r = cleared.client.get(f"{V1}/queue?limit=500", headers=cleared.headers["officer"])
    assert r.status_code == 200, r.text
    page = r.json()
    rows = page["items"]
    assert rows and {row["office"] for row in rows} == {FR}
    assert page["offices"] == [FR] and page["total"] == len(rows)
    order = ["red", "yellow", "blue", "green"]
    ranks = [order.index(row["lane"]) for row in rows]
    assert ranks == sorted(ranks)
    assert any(row["rule_hits"] for row in rows)
    assert all(row["inspection_result"] is None for row in rows)
    audit = _audit(cleared, "queue.read")[0]
    assert audit["actor"] == "officer"
    assert json.loads(audit["details"])["consignments"] == [row["consignment_id"] for row in rows]


def test_analysts_see_every_office_and_filters_narrow_the_queue(cleared: Api) -> None:
    everything = cleared.client.get(f"{V1}/queue?limit=1", headers=cleared.headers["analyst"])
    assert everything.status_code == 200 and everything.json()["offices"] is None
    fr = cleared.client.get(f"{V1}/queue?limit=1", headers=cleared.headers["officer"]).json()
    be = cleared.client.get(f"{V1}/queue?limit=1", headers=cleared.headers["be_officer"]).json()
    assert everything.json()["total"] == fr["total"] + be["total"] == 300
    red_yellow = cleared.client.get(
        f"{V1}/queue?office={FR}&lane=red&lane=yellow&limit=500",
        headers=cleared.headers["admin"],
    ).json()
    assert red_yellow["lanes"] == ["red", "yellow"]
    assert red_yellow["items"] and {r["lane"] for r in red_yellow["items"]} <= {"red", "yellow"}
    second = cleared.client.get(
        f"{V1}/queue?office={FR}&lane=red&lane=yellow&limit=1&offset=1",
        headers=cleared.headers["admin"],
    ).json()
    assert second["items"][0] == red_yellow["items"][1]


def test_the_queue_filters_on_day_and_inspection_status(cleared: Api) -> None:
    officer = cleared.headers["officer"]
    whole = cleared.client.get(f"{V1}/queue?limit=500", headers=officer).json()
    first = whole["items"][0]["consignment_id"]
    r = cleared.client.post(
        f"{V1}/consignments/{first}/inspections",
        json={"result": "noncompliant", "finding": "undervalued"},
        headers=officer,
    )
    assert r.status_code in (200, 201), r.text
    done = cleared.client.get(f"{V1}/queue?status=noncompliant", headers=officer).json()
    assert [row["consignment_id"] for row in done["items"]] == [first]
    todo = cleared.client.get(f"{V1}/queue?status=not_inspected&limit=500", headers=officer)
    assert todo.json()["total"] == whole["total"] - 1
    days = sorted({row["filed_at"][:10] for row in whole["items"]})
    per_day = [
        cleared.client.get(f"{V1}/queue?day={d}&limit=1", headers=officer).json()["total"]
        for d in days
    ]
    assert sum(per_day) == whole["total"]
    bad = cleared.client.get(f"{V1}/queue?status=maybe&day=yesterday", headers=officer)
    assert len(_assert_problem(bad, 422, "request.invalid")["problems"]) == 2


def test_another_offices_queue_is_forbidden(cleared: Api) -> None:
    r = cleared.client.get(f"{V1}/queue?office={BE}", headers=cleared.headers["officer"])
    _assert_problem(r, 403, "auth.forbidden")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "offset=-1", "offset=9223372036854775808", "lane=purple"]
)
def test_bad_queue_parameters_are_request_problems(cleared: Api, query: str) -> None:
    r = cleared.client.get(f"{V1}/queue?{query}", headers=cleared.headers["officer"])
    body = _assert_problem(r, 422, "request.invalid")
    assert body["problems"]


# ---------------------------------------------------------------- detail and explanation


def test_the_case_file_has_goods_duties_decision_reasons_and_events(cleared: Api) -> None:
    cid = _decided(cleared, FR, "yellow")
    r = cleared.client.get(f"{V1}/consignments/{cid}", headers=cleared.headers["officer"])
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["consignment"]["consignment_id"] == cid
    assert case["consignment"]["office_of_arrival"] == FR
    assert case["consignment"]["items"] and case["consignment"]["items"][0]["item_no"] == 1
    assert case["filing"]["filing_id"] and case["filing"]["filer"]["id"]
    assert 0 <= case["data_quality"]["score"] <= 100
    assert case["assessment"]["details"]["items"]
    decision = case["decision"]
    assert decision["lane"] == "yellow"
    kinds = {reason["kind"] for reason in decision["reasons"]}
    assert {"lane", "no_model"} <= kinds
    assert [h["rule_id"] for h in decision["rule_hits"]] == [
        r["rule_id"] for r in decision["reasons"] if r["kind"] == "rule"
    ]
    assert all(isinstance(n, int) for h in decision["rule_hits"] for n in h["item_nos"])
    assert {e["event_type"] for e in case["events"]} >= {"lodgement", "acceptance"}
    assert case["lane_changes"] == [] and case["inspections"] == []
    read = _audit(cleared, "consignment.read")
    assert read[0]["actor"] == "officer" and read[0]["subject_id"] == cid


def test_another_offices_consignment_is_not_found_like_an_unknown_id(cleared: Api) -> None:
    cid = _decided(cleared, BE)
    headers = cleared.headers["officer"]
    for suffix in ("", "/explanation"):
        hidden = _assert_problem(
            cleared.client.get(f"{V1}/consignments/{cid}{suffix}", headers=headers),
            404,
            "consignment.not_found",
        )
        unknown = _assert_problem(
            cleared.client.get(f"{V1}/consignments/NOPE123{suffix}", headers=headers),
            404,
            "consignment.not_found",
        )
        assert hidden["detail"].replace(cid, "X") == unknown["detail"].replace("NOPE123", "X")
    denied = _audit(cleared, "consignment.denied")
    assert len(denied) == 2 and denied[0]["actor"] == "officer"
    assert not _audit(cleared, "consignment.read")
    assert (
        cleared.client.get(
            f"{V1}/consignments/{cid}", headers=cleared.headers["be_officer"]
        ).status_code
        == 200
    )


def test_the_explanation_gives_the_reasons_and_is_audited(cleared: Api) -> None:
    cid = _decided(cleared, FR, "red")
    r = cleared.client.get(
        f"{V1}/consignments/{cid}/explanation", headers=cleared.headers["analyst"]
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["consignment_id"] == cid and body["lane"] == "red"
    assert any(reason["kind"] == "lane" for reason in body["reasons"])
    assert body["inspections"] == [] and body["lane_changes"] == []
    assert _audit(cleared, "consignment.explain")[0]["actor"] == "analyst"


# ---------------------------------------------------------------- inspections


def test_an_inspection_is_recorded_under_the_caller_and_shows_everywhere(cleared: Api) -> None:
    cid = _decided(cleared, FR, "red")
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/inspections",
        headers=cleared.headers["officer"],
        json={
            "result": "noncompliant",
            "corrected_hs_code": "610910",
            "revenue_recovered": "12.40",
            "currency": "EUR",
            "finding": "cotton T-shirts declared as samples",
        },
    )
    assert r.status_code == 201, r.text
    recorded = r.json()
    assert recorded["officer"] == "officer" and recorded["result"] == "noncompliant"
    assert Decimal(recorded["revenue_recovered"]) == Decimal("12.40")
    case = cleared.client.get(f"{V1}/consignments/{cid}", headers=cleared.headers["officer"]).json()
    assert [i["id"] for i in case["inspections"]] == [recorded["id"]]
    queue = cleared.client.get(
        f"{V1}/queue?lane=red&limit=500", headers=cleared.headers["officer"]
    ).json()
    assert {r["consignment_id"]: r["inspection_result"] for r in queue["items"]}[cid] == (
        "noncompliant"
    )
    audit = _audit(cleared, "risk.inspect")[0]
    assert audit["actor"] == "officer" and audit["subject_id"] == cid


def test_a_bad_inspection_lists_every_problem_and_records_nothing(cleared: Api) -> None:
    cid = _decided(cleared, FR)
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/inspections",
        headers=cleared.headers["officer"],
        json={"result": "maybe", "corrected_hs_code": "00001A", "revenue_recovered": "-3"},
    )
    body = _assert_problem(r, 422, "inspection.invalid")
    assert {p["code"] for p in body["problems"]} == {
        "inspection.result",
        "hs.unknown",
        "inspection.amount",
    }
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/inspections",
        headers=cleared.headers["officer"],
        json={"result": "compliant", "revenue_recovered": "5", "corrected_hs_code": "610910"},
    )
    body = _assert_problem(r, 422, "inspection.invalid")
    assert [p["code"] for p in body["problems"]] == ["inspection.inconsistent"] * 2
    assert cleared.platform.risk_records.inspections(cid) == []


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1e20", "abc"])
def test_amounts_that_are_no_money_are_inspection_problems(cleared: Api, amount: str) -> None:
    cid = _decided(cleared, FR)
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/inspections",
        headers=cleared.headers["officer"],
        json={"result": "noncompliant", "revenue_recovered": amount, "corrected_value": amount},
    )
    body = _assert_problem(r, 422, "inspection.invalid")
    assert [p["code"] for p in body["problems"]] == ["inspection.amount"] * 2


def test_the_officer_cannot_be_named_in_the_body(cleared: Api) -> None:
    cid = _decided(cleared, FR)
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/inspections",
        headers=cleared.headers["officer"],
        json={"result": "compliant", "officer": "someone-else", "currency": "EURO"},
    )
    body = _assert_problem(r, 422, "request.invalid")
    assert {p["code"] for p in body["problems"]} == {
        "request.extra_forbidden",
        "request.string_pattern_mismatch",
    }


def test_an_inspection_of_another_offices_consignment_is_not_found(cleared: Api) -> None:
    cid = _decided(cleared, BE)
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/inspections",
        headers=cleared.headers["officer"],
        json={"result": "compliant"},
    )
    _assert_problem(r, 404, "consignment.not_found")
    assert cleared.platform.risk_records.inspections(cid) == []


# ---------------------------------------------------------------- re-routing


def test_re_routing_needs_a_justification_and_a_different_lane(cleared: Api) -> None:
    cid = _decided(cleared, FR, "green")
    url = f"{V1}/consignments/{cid}/lane"
    headers = cleared.headers["officer"]
    r = cleared.client.post(url, headers=headers, json={"lane": "green", "justification": "   "})
    body = _assert_problem(r, 422, "input.invalid")
    assert {p["code"] for p in body["problems"]} == {"lane.justification", "lane.unchanged"}
    r = cleared.client.post(url, headers=headers, json={"lane": "red", "justification": "short"})
    assert [p["code"] for p in _assert_problem(r, 422, "input.invalid")["problems"]] == [
        "lane.justification"
    ]
    r = cleared.client.post(url, headers=headers, json={"lane": "purple"})
    body = _assert_problem(r, 422, "request.invalid")
    assert {p["path"] for p in body["problems"]} == {"body.lane", "body.justification"}
    assert cleared.platform.risk_records.lane_changes(cid) == []
    assert cleared.platform.risk_records.decision(cid)["lane"] == "green"  # type: ignore[index]


def test_re_routing_changes_the_lane_and_is_audited(cleared: Api) -> None:
    cid = _decided(cleared, FR, "green")
    why = "  seller named in this morning's seizure report  "
    r = cleared.client.post(
        f"{V1}/consignments/{cid}/lane",
        headers=cleared.headers["officer"],
        json={"lane": "red", "justification": why},
    )
    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["from_lane"], change["to_lane"], change["officer"]) == (
        "green",
        "red",
        "officer",
    )
    assert change["justification"] == why.strip()
    case = cleared.client.get(f"{V1}/consignments/{cid}", headers=cleared.headers["officer"]).json()
    assert case["decision"]["lane"] == "red" and case["lane_changes"] == [change]
    explained = cleared.client.get(
        f"{V1}/consignments/{cid}/explanation", headers=cleared.headers["officer"]
    ).json()
    assert explained["lane"] == "red" and explained["lane_changes"] == [change]
    audit = _audit(cleared, "consignment.lane_change")
    assert len(audit) == 1 and audit[0]["actor"] == "officer" and audit[0]["subject_id"] == cid
    details = json.loads(audit[0]["details"])
    assert details["justification"] == why.strip() and details["to_lane"] == "red"
    # the re-routed consignment moves up the red queue
    red = cleared.client.get(f"{V1}/queue?lane=red&limit=500", headers=cleared.headers["officer"])
    assert cid in {row["consignment_id"] for row in red.json()["items"]}


def test_a_stale_re_routing_is_a_conflict(cleared: Api) -> None:
    from smartcustoms.errors import ConflictError

    cid = _decided(cleared, FR, "green")
    records = cleared.platform.risk_records
    records.change_lane(
        cid, from_lane="green", to_lane="yellow", justification="first officer", officer="a"
    )
    with pytest.raises(ConflictError):
        records.change_lane(
            cid, from_lane="green", to_lane="red", justification="second officer", officer="b"
        )
    assert [c["to_lane"] for c in records.lane_changes(cid)] == ["yellow"]


# ---------------------------------------------------------------- who may do what


@pytest.mark.parametrize("user", ["filer", "partner"])
def test_filers_and_partners_are_forbidden_every_officer_route(cleared: Api, user: str) -> None:
    cid = _decided(cleared, FR)
    headers = cleared.headers[user]
    calls = [
        cleared.client.get(f"{V1}/queue", headers=headers),
        cleared.client.get(f"{V1}/consignments/{cid}", headers=headers),
        cleared.client.get(f"{V1}/consignments/{cid}/explanation", headers=headers),
        cleared.client.post(
            f"{V1}/consignments/{cid}/inspections", headers=headers, json={"result": "compliant"}
        ),
        cleared.client.post(
            f"{V1}/consignments/{cid}/lane",
            headers=headers,
            json={"lane": "red", "justification": "a long enough reason"},
        ),
    ]
    for response in calls:
        _assert_problem(response, 403, "auth.forbidden")


def test_analysts_read_but_do_not_act(cleared: Api) -> None:
    cid = _decided(cleared, FR, "green")
    headers = cleared.headers["analyst"]
    assert cleared.client.get(f"{V1}/consignments/{cid}", headers=headers).status_code == 200
    for path, body in (
        ("inspections", {"result": "compliant"}),
        ("lane", {"lane": "red", "justification": "a long enough reason"}),
    ):
        r = cleared.client.post(f"{V1}/consignments/{cid}/{path}", headers=headers, json=body)
        _assert_problem(r, 403, "auth.forbidden")
