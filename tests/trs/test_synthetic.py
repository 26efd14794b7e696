"""The study on synthetic timelines: realistic patterns come out, and nothing is lost."""

from __future__ import annotations

import polars as pl
import pytest

from smartcustoms.synth import TrafficConfig, generate_timelines, generate_traffic
from smartcustoms.trs import Dimension, Span, Study, StudyParams, run_study


@pytest.fixture(scope="module")
def study() -> Study:
    chunks = list(generate_timelines(40_000, seed=3, days=14, chunk_size=15_000))
    events = pl.concat([c.events for c in chunks])
    attributes = pl.concat([c.attributes for c in chunks])
    return run_study(events, attributes, StudyParams(timezone="Europe/Paris"))


def mean_of(study: Study, dimension: Dimension, value: str) -> float:
    row = study.breakdowns[dimension].filter(pl.col("value") == value)
    return float(row["mean_s"][0])


def test_synthetic_timelines_are_complete_and_consistent(study: Study) -> None:
    assert study.total == 40_000
    assert study.included == 40_000
    quality = study.quality.filter(pl.col("office") == "all").to_dicts()[0]
    assert all(quality[k] == 0 for k in ("duplicate", "out_of_order", "clock_skew", "unpaired"))


def test_trusted_and_pre_arrival_flows_are_faster(study: Study) -> None:
    assert mean_of(study, Dimension.AEO, "aeo") < 0.7 * mean_of(study, Dimension.AEO, "non_aeo")
    assert mean_of(study, Dimension.AEO, "mra") < mean_of(study, Dimension.AEO, "non_aeo")
    pre = mean_of(study, Dimension.PRE_ARRIVAL, "pre_arrival")
    assert pre < 0.5 * mean_of(study, Dimension.PRE_ARRIVAL, "post_arrival")


def test_controls_and_agencies_take_longer(study: Study) -> None:
    green = mean_of(study, Dimension.LANE, "green")
    assert mean_of(study, Dimension.LANE, "yellow") > 3 * green
    assert mean_of(study, Dimension.LANE, "red") > 3 * green
    assert mean_of(study, Dimension.AGENCY, "agency") > 10 * mean_of(
        study, Dimension.AGENCY, "no_agency"
    )
    red = study.stages_by_lane.filter(pl.col("lane") == "red")
    queue = red.filter(pl.col("stage") == "physical_inspection_start")["share"][0]
    assert queue > 0.3  # waiting for the inspection, not inspecting, is most of a red release


def test_weekend_arrivals_wait_for_monday(study: Study) -> None:
    by_day = dict(study.weekday.select("weekday", "mean_s").iter_rows())
    assert min(by_day[6], by_day[7]) > 1.3 * max(by_day[d] for d in (1, 2, 3))


def test_chunking_does_not_change_the_timelines() -> None:
    one = pl.concat([c.events for c in generate_timelines(3_000, seed=9, chunk_size=3_000)])
    many = pl.concat([c.events for c in generate_timelines(3_000, seed=9, chunk_size=700)])
    assert one.equals(many)


def test_full_traffic_events_feed_the_study() -> None:
    chunks = list(generate_traffic(TrafficConfig(consignments=2_000, seed=5, chunk_size=1_000)))
    events = pl.concat([c.events for c in chunks])
    study = run_study(events)
    assert study.included == 2_000
    assert study.span(Span.ARRIVAL_RELEASE)["median_s"] > 0
