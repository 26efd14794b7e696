"""Release times through the API: the hand-computed case, officers' offices, bad parameters."""

from __future__ import annotations

import polars as pl
import pytest

from smartcustoms.store.events import EventRecords
from smartcustoms.trs import StudyParams, run_study
from tests.api.conftest import Api
from tests.trs.fixture import AS_OF, events, minutes

URL = "/api/v1/trs"
OFFICES = {"A": "FR000730", "B": "BE000100"}  # the officers' offices of tests/api/conftest.py


@pytest.fixture
def stored(api: Api) -> pl.DataFrame:
    """The hand-computed fixture in the store, its offices those of the two officers."""
    frame = events().with_columns(pl.col("office").replace_strict(OFFICES))
    EventRecords(api.platform.store).add(frame.filter(pl.col("event_type") != "teleported"))
    return frame


def test_an_analyst_gets_the_hand_computed_study(api: Api, stored: pl.DataFrame) -> None:
    # the as-of time is "now": C9's release (2026-03-14) is in the past, so C9 is included
    # and only the three other exclusions remain
    r = api.client.get(f"{URL}/study", headers=api.headers["analyst"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["consignments"]["total"] == 9
    assert body["consignments"]["excluded"] == {
        "out_of_order": 1,
        "future": 0,
        "no_release": 1,
        "no_arrival": 1,
    }
    expected = run_study(stored, None, StudyParams(as_of=AS_OF.replace(year=2030))).as_dict()
    assert body["spans"] == expected["spans"]
    assert body["intervals"] == expected["intervals"]
    assert body["intervals"][0]["from"] == "arrival"
    assert body["breakdowns"]["office"] == expected["breakdowns"]["office"]
    assert body["stages"] == [{"lane": None, **row} for row in expected["stages"]]
    assert [w["week"] for w in body["weekly"]] == ["2026-03-02", "2026-03-09"]


def test_a_period_and_filters(api: Api, stored: pl.DataFrame) -> None:
    r = api.client.get(
        f"{URL}/release-time",
        params={"start": "2026-03-02T00:00:00Z", "end": "2026-03-09T00:00:00Z", "aeo": "unknown"},
        headers=api.headers["admin"],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # the first week, C4 being in the second: C1 60, C2 200, C3 1450, C5 50 minutes
    assert body["consignments"] == 4
    assert minutes(body["mean_hours"] * 3600) == pytest.approx((60 + 200 + 1450 + 50) / 4)
    assert set(body["by_office"]) == {"FR000730", "BE000100"}
    assert body["by_office"]["FR000730"]["consignments"] == 3


def test_officers_see_their_offices_only(api: Api, stored: pl.DataFrame) -> None:
    r = api.client.get(f"{URL}/quality", headers=api.headers["officer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [row["office"] for row in body["quality"]] == ["FR000730", "all"]
    assert body["consignments"]["total"] == 5  # C1 C2 C5 C6 C8
    assert body["params"]["filters"] == {"office": ["FR000730"]}
    r = api.client.get(
        f"{URL}/study", params={"office": "BE000100"}, headers=api.headers["officer"]
    )
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"
    r = api.client.get(
        f"{URL}/study", params={"office": "BE000100"}, headers=api.headers["other_officer"]
    )
    assert r.status_code == 200 and r.json()["consignments"]["total"] == 4


@pytest.mark.parametrize("role", ["filer", "partner"])
def test_filers_and_partners_may_not(api: Api, role: str) -> None:
    r = api.client.get(f"{URL}/release-time", headers=api.headers[role])
    assert r.status_code == 403


def test_unusable_parameters_are_problems(api: Api) -> None:
    r = api.client.get(
        f"{URL}/study",
        params={
            "tz": "Mars/Olympus",
            "start": "2026-03-09T00:00:00Z",
            "end": "2026-03-02T00:00:00Z",
        },
        headers=api.headers["analyst"],
    )
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "trs.invalid"
    assert {p["path"] for p in body["problems"]} == {"timezone", "end"}
    r = api.client.get(f"{URL}/study", params={"start": "yesterday"}, headers=api.headers["admin"])
    assert r.status_code == 422
