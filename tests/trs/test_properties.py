"""Invariants of the study over generated timelines (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.model.events import EVENT_SCHEMA, EventType
from smartcustoms.trs import Span, StudyParams, percentile, run_study

BASE = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
AS_OF = BASE + timedelta(days=30)

timeline = st.dictionaries(
    st.sampled_from(list(EventType)),
    st.integers(min_value=-3 * 24 * 60, max_value=10 * 24 * 60),  # minutes from the base
    min_size=1,
    max_size=15,
)
consignment = st.tuples(
    timeline,
    st.sampled_from(["A", "B", "C"]),
    st.integers(min_value=0, max_value=3),  # how many events are sent twice
    st.integers(min_value=0, max_value=20 * 24 * 60),  # base offset, minutes
)


def frame_of(consignments: list[tuple[dict[EventType, int], str, int, int]]) -> pl.DataFrame:
    rows = []
    for i, (events, office, repeats, offset) in enumerate(consignments):
        base = BASE + timedelta(minutes=offset)
        listed = [(kind, minutes) for kind, minutes in events.items()]
        listed += listed[:repeats]
        rows += [
            {
                "consignment_id": f"C{i}",
                "event_type": kind.value,
                "occurred_at": base + timedelta(minutes=minutes),
                "office": office,
                "source": "test",
            }
            for kind, minutes in listed
        ]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(consignment, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_figures_do_not_depend_on_event_order(consignments: list, random: object) -> None:
    """Shuffling the events changes no figure (whole-second times keep the sums exact)."""
    events = frame_of(consignments)
    params = StudyParams(as_of=AS_OF)
    order = list(range(events.height))
    random.shuffle(order)  # type: ignore[attr-defined]
    first = run_study(events, None, params).as_dict()
    second = run_study(events[order], None, params).as_dict()
    assert first == second


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(consignment, min_size=1, max_size=25))
def test_every_consignment_is_included_or_excluded_once(consignments: list) -> None:
    events = frame_of(consignments)
    study = run_study(events, None, StudyParams(as_of=AS_OF))
    assert study.total == len(consignments)
    assert study.included + sum(study.excluded.values()) == study.total
    total = study.quality.filter(pl.col("office") == "all").to_dicts()[0]
    assert total["included"] + total["excluded"] == total["consignments"] == study.total
    assert total["events"] == events.height
    per_office = study.quality.filter(pl.col("office") != "all").drop("office").sum()
    assert per_office.to_dicts()[0] == {k: v for k, v in total.items() if k != "office"}
    for frame in study.breakdowns.values():
        assert frame["count"].sum() == study.included
        assert frame["count"].sum() + frame["excluded"].sum() == study.total
    assert study.histogram["count"].sum() == study.included


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(consignment, min_size=1, max_size=25))
def test_stages_add_up_to_each_release_time(consignments: list) -> None:
    study = run_study(frame_of(consignments), None, StudyParams(as_of=AS_OF))
    release = study.span(Span.ARRIVAL_RELEASE)
    stage_total = study.stages["mean_s"].sum()
    if study.included:
        assert stage_total == pytest.approx(release["mean_s"])
        assert release["count"] == study.included
        assert release["mean_s"] >= 0
    else:
        assert release["count"] == 0 and stage_total == 0
    for lane in study.stages_by_lane.partition_by("lane"):
        counted = study.breakdowns["lane"].filter(pl.col("value") == lane["lane"][0])
        assert lane["mean_s"].sum() == pytest.approx(counted["mean_s"][0])


@given(st.lists(st.floats(min_value=-1e9, max_value=1e9), min_size=1, max_size=50))
def test_polars_percentiles_are_the_documented_definition(values: list[float]) -> None:
    series = pl.Series(values)
    for p in (0.5, 0.9, 0.95):
        assert series.quantile(p, "linear") == pytest.approx(percentile(values, p))


def test_percentile_by_hand() -> None:
    assert percentile([1, 2, 4, 8, 16], 0.9) == pytest.approx(12.8)  # h = 3.6 -> 8 + 0.6 * 8
    assert percentile([3], 0.95) == 3
    assert percentile([], 0.5) is None
