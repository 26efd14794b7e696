"""Lifecycle events through the API: scoped, all or nothing, every problem listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from smartcustoms.store import tables as t
from smartcustoms.synth import TrafficConfig, write_traffic
from tests.api.conftest import Api

URL = "/api/v1/events"


@pytest.fixture
def cleared(api: Api, tmp_path: Path) -> list[dict[str, str]]:
    """Some cleared synthetic consignments: id, filer id and office of each."""
    path = tmp_path / "t.jsonl"
    start = datetime.now(UTC) - timedelta(days=1)
    write_traffic(
        TrafficConfig(consignments=40, seed=3, start=start, offices=("FR000730", "BE212000")),
        path,
        compute_revenue=False,
    )
    api.platform.clear([path])
    with api.platform.store.engine.connect() as conn:
        rows = conn.execute(
            select(
                t.consignments.c.consignment_id,
                t.filings.c.filer_id,
                t.consignments.c.office_of_arrival,
            ).join(t.filings, t.filings.c.filing_id == t.consignments.c.filing_id)
        ).all()
    assert rows
    return [{"id": r[0], "filer": r[1], "office": r[2]} for r in rows]


def _count(api: Api, event_type: str) -> int:
    with api.platform.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(t.lifecycle_events)
                .where(t.lifecycle_events.c.event_type == event_type)
            ).scalar_one()
        )


def test_an_officer_adds_events_of_its_office_and_the_office_defaults(
    api: Api, cleared: list[dict[str, str]]
) -> None:
    mine = [c for c in cleared if c["office"] == "FR000730"][:3]
    body = {
        "events": [
            {
                "consignment_id": c["id"],
                "event_type": "arrival",
                "occurred_at": "2026-11-22T08:00:00+01:00",
            }
            for c in mine
        ]
    }
    r = api.client.post(URL, json=body, headers=api.headers["officer"])
    assert r.status_code == 201, r.text
    assert r.json() == {"added": 3}
    with api.platform.store.engine.connect() as conn:
        stored = conn.execute(
            select(t.lifecycle_events.c.office, t.lifecycle_events.c.occurred_at).where(
                t.lifecycle_events.c.event_type == "arrival"
            )
        ).all()
    assert {s[0] for s in stored} == {"FR000730"}
    assert {s[1] for s in stored} == {datetime(2026, 11, 22, 7, 0, tzinfo=UTC)}
    assert any(e["action"] == "events.add" for e in api.platform.store.audit_entries())


def test_a_batch_with_problems_stores_nothing_and_lists_every_problem(
    api: Api, cleared: list[dict[str, str]]
) -> None:
    mine = [c for c in cleared if c["office"] == "FR000730"]
    theirs = [c for c in cleared if c["office"] == "BE212000"]
    body = {
        "events": [
            {
                "consignment_id": mine[0]["id"],
                "event_type": "release",
                "occurred_at": "2026-11-22T10:00:00Z",
            },
            {
                "consignment_id": theirs[0]["id"],
                "event_type": "release",
                "occurred_at": "2026-11-22T10:00:00Z",
            },
            {
                "consignment_id": "NOPE",
                "event_type": "release",
                "occurred_at": "2026-11-22T10:00:00Z",
            },
        ]
    }
    r = api.client.post(URL, json=body, headers=api.headers["officer"])
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "input.invalid"
    assert [p["path"] for p in problem["problems"]] == [
        "events[1].consignment_id",
        "events[2].consignment_id",
    ]
    # another office's consignment reads exactly like an unknown one
    assert {p["code"] for p in problem["problems"]} == {"consignment.not_found"}
    assert _count(api, "release") == 0


def test_schema_problems_are_listed_per_field(api: Api) -> None:
    body = {
        "events": [
            {"consignment_id": "X", "event_type": "teleported", "occurred_at": "yesterday"},
            {"consignment_id": "", "event_type": "arrival", "occurred_at": "2026-11-22T10:00:00Z"},
        ]
    }
    r = api.client.post(URL, json=body, headers=api.headers["admin"])
    assert r.status_code == 422
    paths = {p["path"] for p in r.json()["problems"]}
    assert {
        "body.events.0.event_type",
        "body.events.0.occurred_at",
        "body.events.1.consignment_id",
    } <= paths


def test_filers_report_only_for_their_own_consignments(
    api: Api, cleared: list[dict[str, str]]
) -> None:
    filer_id = cleared[0]["filer"]
    api.platform.access.add_user("carrier-1", "filer", filer_id=filer_id)
    token = api.platform.access.issue_key("carrier-1").token
    own = next(c for c in cleared if c["filer"] == filer_id)
    other = next(c for c in cleared if c["filer"] != filer_id)
    headers = {"Authorization": f"Bearer {token}"}
    ok = {
        "events": [
            {
                "consignment_id": own["id"],
                "event_type": "exit",
                "occurred_at": "2026-11-22T12:00:00Z",
            }
        ]
    }
    assert api.client.post(URL, json=ok, headers=headers).status_code == 201
    bad = {
        "events": [
            {
                "consignment_id": other["id"],
                "event_type": "exit",
                "occurred_at": "2026-11-22T12:00:00Z",
            }
        ]
    }
    r = api.client.post(URL, json=bad, headers=headers)
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "consignment.not_found"
    assert _count(api, "exit") == 1
