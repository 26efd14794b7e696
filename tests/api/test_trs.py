"""The Time Release Study through the service: every figure as JSON, the HTML report, scope."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from smartcustoms.store.events import EventRecords
from smartcustoms.trs import StudyParams, run_study
from tests.api.conftest import Api
from tests.trs.fixture import events

PERIOD = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-12T00:00:00Z"}


def _load(api: Api) -> pl.DataFrame:
    fixture = events().filter(pl.col("event_type") != "teleported")
    EventRecords(api.platform.store).add(fixture)
    return fixture


def test_analyst_gets_the_same_figures_as_the_library(api: Api) -> None:
    fixture = _load(api)
    r = api.client.get("/api/v1/trs/study", params=PERIOD, headers=api.headers["analyst"])
    assert r.status_code == 200, r.text
    params = StudyParams(
        start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 12, tzinfo=UTC)
    )
    expected = run_study(fixture, None, params).as_dict()
    body = r.json()
    assert body["consignments"] == expected["consignments"]
    assert body["consignments"]["included"] > 0
    assert body["spans"] == expected["spans"]
    one_office = api.client.get(
        "/api/v1/trs/study", params=PERIOD | {"office": "A"}, headers=api.headers["admin"]
    ).json()
    assert 0 < one_office["consignments"]["total"] < body["consignments"]["total"]
    html = api.client.get("/api/v1/trs/report", params=PERIOD, headers=api.headers["analyst"])
    assert html.headers["content-type"].startswith("text/html")
    assert "<svg" in html.text and "Time Release Study" in html.text


def test_officers_study_their_own_offices(api: Api) -> None:
    _load(api)
    officer = api.headers["officer"]  # works FR000730 only: none of the fixture's offices
    r = api.client.get("/api/v1/trs/study", params=PERIOD, headers=officer)
    assert r.status_code == 200 and r.json()["consignments"]["total"] == 0
    r = api.client.get("/api/v1/trs/study", params=PERIOD | {"office": "A"}, headers=officer)
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"
    filer = api.client.get("/api/v1/trs/study", params=PERIOD, headers=api.headers["filer"])
    assert filer.status_code == 403


def test_bad_parameters_are_listed(api: Api) -> None:
    r = api.client.get(
        "/api/v1/trs/study",
        params={"from": "2026-03-12T00:00:00Z", "to": "2026-03-01T00:00:00Z", "timezone": "Mars"},
        headers=api.headers["analyst"],
    )
    assert r.status_code == 422
    assert {p["path"] for p in r.json()["problems"]} == {"end", "timezone"}
    r = api.client.get(
        "/api/v1/trs/study",
        params={"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=api.headers["analyst"],
    )
    assert r.status_code == 422 and r.json()["code"] == "trs.invalid"
