"""Every figure of the study on the hand-computed fixture (``tests/trs/fixture.py``).

Expected values were computed by hand, in minutes, and are written as literals with their
arithmetic. Percentiles use linear interpolation between closest ranks: for ``n`` sorted
values the ``p``-quantile sits at position ``h = (n - 1) p`` (0-based) and is
``x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])``.

Included release times (arrival -> release), sorted: C5 50, C1 60, C4 110, C2 200, C3 1450.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from smartcustoms.trs import Dimension, Span, Study, StudyParams, run_study
from tests.trs.fixture import AS_OF, ATTRIBUTES, events, minutes


@pytest.fixture(scope="module")
def study() -> Study:
    return run_study(events(), ATTRIBUTES, StudyParams(as_of=AS_OF))


def stats_in_minutes(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["count"],
        *(
            pytest.approx(minutes(row[k]))
            for k in ("mean_s", "median_s", "p90_s", "p95_s", "max_s")
        ),
    )


def breakdown(study: Study, dimension: Dimension) -> dict[str, tuple[Any, ...]]:
    return {
        r["value"]: (*stats_in_minutes(r), r["excluded"])
        for r in study.breakdowns[dimension].iter_rows(named=True)
    }


def test_counts_and_exclusions(study: Study) -> None:
    assert (study.total, study.included) == (9, 5)
    assert study.excluded == {"out_of_order": 1, "future": 1, "no_release": 1, "no_arrival": 1}


def test_release_time(study: Study) -> None:
    # [50, 60, 110, 200, 1450]: mean 1870 / 5 = 374; median x[2] = 110;
    # p90: h = 3.6 -> 200 + 0.6 * 1250 = 950; p95: h = 3.8 -> 200 + 0.8 * 1250 = 1200
    assert stats_in_minutes(study.span(Span.ARRIVAL_RELEASE)) == (5, 374, 110, 950, 1200, 1450)


def test_other_spans(study: Study) -> None:
    # acceptance -> release: C1 60-(-58)=118, C2 200-42=158, C3 1450-(-119)=1569, C4 110-101=9,
    # C5 50-(-29)=79 -> [9, 79, 118, 158, 1569]: mean 1933 / 5 = 386.6;
    # p90 158 + 0.6 * 1411 = 1004.6; p95 158 + 0.8 * 1411 = 1286.8
    assert stats_in_minutes(study.span(Span.ACCEPTANCE_RELEASE)) == (
        5, 386.6, 118, 1004.6, 1286.8, 1569,
    )  # fmt: skip
    # lodgement -> release: 120, 160, 1570, 10, 80 -> [10, 80, 120, 160, 1570]: mean 1940 / 5;
    # p90 160 + 0.6 * 1410 = 1006; p95 160 + 0.8 * 1410 = 1288
    assert stats_in_minutes(study.span(Span.LODGEMENT_RELEASE)) == (5, 388, 120, 1006, 1288, 1570)
    # release -> exit: C1 60, C2 60, C3 50, C5 0 (exit corrected to the release), C4 no exit
    # -> [0, 50, 60, 60]: mean 170 / 4 = 42.5; median h = 1.5 -> 50 + 0.5 * 10 = 55;
    # p90 h = 2.7 -> 60 + 0.7 * 0 = 60; p95 60
    assert stats_in_minutes(study.span(Span.RELEASE_EXIT)) == (4, 42.5, 55, 60, 60, 60)


def test_intervals_between_consecutive_milestones(study: Study) -> None:
    got = {(r["from"], r["to"]): stats_in_minutes(r) for r in study.intervals.iter_rows(named=True)}
    one = (1, 1, 1, 1, 1, 1)
    assert got == {
        # C1 2, C2 2, C3 1, C4 1, C5 1 -> [1, 1, 1, 2, 2]: mean 7 / 5; p90 h = 3.6 -> 2
        ("lodgement", "acceptance"): (5, 1.4, 1, 2, 2, 2),
        ("arrival", "lodgement"): (1, 100, 100, 100, 100, 100),  # C4
        ("unloading", "lodgement"): (1, 20, 20, 20, 20, 20),  # C2
        ("acceptance", "risk_decision"): (5, 1, 1, 1, 1, 1),
        ("assessment", "arrival"): (2, 41.5, 41.5, 53.1, 54.55, 56),  # C5 27, C1 56
        ("risk_decision", "arrival"): (1, 118, 118, 118, 118, 118),  # C3
        # C2 20, C1 30, C5 40, C3 60: median h = 1.5 -> 35; p90 h = 2.7 -> 40 + 0.7 * 20 = 54
        ("arrival", "unloading"): (4, 37.5, 35, 54, 57, 60),
        ("risk_decision", "document_check_start"): (1, 60, 60, 60, 60, 60),
        ("document_check_start", "document_check_end"): (1, 30, 30, 30, 30, 30),
        ("unloading", "physical_inspection_start"): (1, 120, 120, 120, 120, 120),
        ("physical_inspection_start", "physical_inspection_end"): (1, 60, 60, 60, 60, 60),
        ("physical_inspection_end", "agency_hold"): (1, 2, 2, 2, 2, 2),
        ("agency_hold", "agency_release"): (1, 1200, 1200, 1200, 1200, 1200),
        ("risk_decision", "assessment"): (3, 1, 1, 1, 1, 1),  # C1, C4, C5
        ("document_check_end", "assessment"): one,  # C2
        ("agency_release", "assessment"): one,  # C3
        ("assessment", "payment"): (1, 60, 60, 60, 60, 60),
        ("unloading", "release"): (2, 20, 20, 28, 29, 30),  # C5 10, C1 30
        ("assessment", "release"): (2, 7, 7, 7, 7, 7),  # C3, C4
        ("payment", "release"): (1, 6, 6, 6, 6, 6),
        ("release", "exit"): (4, 42.5, 55, 60, 60, 60),
    }
    order = [(r["from"], r["to"]) for r in study.intervals.iter_rows(named=True)]
    assert order[0] == ("arrival", "lodgement") and order[-1] == ("release", "exit")


def test_stages_add_up_to_the_mean_release_time(study: Study) -> None:
    got = {r["stage"]: minutes(r["mean_s"]) for r in study.stages.iter_rows(named=True)}
    assert got == pytest.approx(
        {
            "unloading": 30,  # (30 + 20 + 60 + 0 + 40) / 5
            "lodgement": 24,  # (C2 20 + C4 100) / 5
            "acceptance": 0.6,  # (C2 2 + C4 1) / 5
            "risk_decision": 0.4,  # (C2 1 + C4 1) / 5
            "document_check_start": 12,  # C2 60 / 5
            "document_check_end": 6,  # C2 30 / 5
            "physical_inspection_start": 24,  # C3 120 / 5
            "physical_inspection_end": 12,  # C3 60 / 5
            "agency_hold": 0.4,  # C3 2 / 5
            "agency_release": 240,  # C3 1200 / 5
            "assessment": 0.6,  # (C2 1 + C3 1 + C4 1) / 5
            "payment": 12,  # C2 60 / 5
            "release": 12,  # (C1 30 + C2 6 + C3 7 + C4 7 + C5 10) / 5
        }
    )
    assert sum(got.values()) == pytest.approx(374)
    by_who = study.stages.group_by("responsibility").agg(pl.col("mean_s").sum() / 60)
    assert dict(by_who.iter_rows()) == pytest.approx(
        {"trade": 66, "customs": 67.6, "other_agency": 240.4}  # 30+24+12; the rest; 0.4+240
    )
    green = study.stages_by_lane.filter(pl.col("lane") == "green")  # C1, C4, C5
    assert minutes(green.filter(pl.col("stage") == "unloading")["mean_s"][0]) == pytest.approx(
        70 / 3  # (30 + 0 + 40) / 3
    )
    assert minutes(green["mean_s"].sum()) == pytest.approx(220 / 3)  # (60 + 110 + 50) / 3


def test_breakdown_by_office(study: Study) -> None:
    assert breakdown(study, Dimension.OFFICE) == {
        # [50, 60, 200]: mean 310 / 3; p90 h = 1.8 -> 60 + 0.8 * 140 = 172; p95 60 + 0.9 * 140
        "A": (3, 310 / 3, 60, 172, 186, 200, 2),  # C6, C8 excluded
        # [110, 1450]: median h = 0.5 -> 780; p90 110 + 0.9 * 1340 = 1316; p95 + 0.95 * 1340
        "B": (2, 780, 780, 1316, 1383, 1450, 2),  # C7, C9 excluded
    }


def test_breakdown_by_lane(study: Study) -> None:
    assert breakdown(study, Dimension.LANE) == {
        # C5 50, C1 60, C4 110 (no attributes, no control event): p90 60 + 0.8 * 50 = 100
        "green": (3, 220 / 3, 60, 100, 105, 110, 3),  # C6, C8 by attribute, C9 by events
        "red": (1, 1450, 1450, 1450, 1450, 1450, 1),  # C7: an inspection event -> red
        "yellow": (1, 200, 200, 200, 200, 200, 0),
    }


def test_breakdown_by_transport_mode(study: Study) -> None:
    assert breakdown(study, Dimension.TRANSPORT_MODE) == {
        # [50, 60, 1450]: mean 1560 / 3 = 520; p90 60 + 0.8 * 1390 = 1172; p95 60 + 0.9 * 1390
        "4": (3, 520, 60, 1172, 1311, 1450, 1),
        "5": (1, 200, 200, 200, 200, 200, 1),
        "unknown": (1, 110, 110, 110, 110, 110, 2),
    }


def test_breakdown_by_aeo_status(study: Study) -> None:
    assert breakdown(study, Dimension.AEO) == {
        "aeo": (2, 55, 55, 59, 59.5, 60, 1),  # [50, 60]: p90 50 + 0.9 * 10
        "mra": (1, 1450, 1450, 1450, 1450, 1450, 0),
        "non_aeo": (1, 200, 200, 200, 200, 200, 1),
        "unknown": (1, 110, 110, 110, 110, 110, 2),
    }


def test_breakdown_by_pre_arrival(study: Study) -> None:
    assert breakdown(study, Dimension.PRE_ARRIVAL) == {
        "pre_arrival": (3, 520, 60, 1172, 1311, 1450, 1),  # C5, C1, C3; C6 excluded
        # [110, 200]: mean 155; p90 110 + 0.9 * 90 = 191; p95 110 + 0.95 * 90 = 195.5
        "post_arrival": (2, 155, 155, 191, 195.5, 200, 2),  # C8, C9 excluded
        "unknown": (0, None, None, None, None, None, 1),  # C7: no arrival
    }


def test_breakdown_by_agency(study: Study) -> None:
    assert breakdown(study, Dimension.AGENCY) == {
        "agency": (1, 1450, 1450, 1450, 1450, 1450, 0),
        # [50, 60, 110, 200]: mean 105; median 85; p90 h = 2.7 -> 110 + 0.7 * 90 = 173
        "no_agency": (4, 105, 85, 173, 186.5, 200, 4),
    }


def test_breakdown_by_hs_section(study: Study) -> None:
    assert breakdown(study, Dimension.HS_SECTION) == {
        "XI": (2, 55, 55, 59, 59.5, 60, 1),  # 6109: C1, C5; C6 excluded
        "XVI": (1, 200, 200, 200, 200, 200, 0),  # 8517
        "XX": (1, 1450, 1450, 1450, 1450, 1450, 0),  # 9503
        "unknown": (1, 110, 110, 110, 110, 110, 3),  # C4; C7, C8, C9 excluded
    }


def test_shares_of_each_breakdown_add_up_to_one(study: Study) -> None:
    for frame in study.breakdowns.values():
        assert frame["share"].sum() == pytest.approx(1.0)


def test_hour_weekday_and_heatmap(study: Study) -> None:
    hourly = {r["hour"]: stats_in_minutes(r) for r in study.hourly.iter_rows(named=True)}
    assert hourly == {
        8: (3, 520, 60, 1172, 1311, 1450),  # C1, C5 (Mon 08:00), C3 (Tue 08:00)
        10: (1, 200, 200, 200, 200, 200),
        14: (1, 110, 110, 110, 110, 110),
    }
    weekday = {r["weekday"]: stats_in_minutes(r) for r in study.weekday.iter_rows(named=True)}
    # Monday: [50, 60, 110, 200]; Tuesday: C3
    assert weekday == {1: (4, 105, 85, 173, 186.5, 200), 2: (1, 1450, 1450, 1450, 1450, 1450)}
    cells = {
        (r["weekday"], r["hour"]): (r["count"], minutes(r["median_s"]), minutes(r["mean_s"]))
        for r in study.heatmap.iter_rows(named=True)
    }
    assert cells == {
        (1, 8): (2, 55, 55),
        (1, 10): (1, 200, 200),
        (1, 14): (1, 110, 110),
        (2, 8): (1, 1450, 1450),
    }


def test_patterns_follow_the_time_zone() -> None:
    study = run_study(events(), ATTRIBUTES, StudyParams(as_of=AS_OF, timezone="Europe/Paris"))
    assert study.hourly["hour"].to_list() == [9, 11, 15]  # UTC+1 in early March


def test_weekly_trend(study: Study) -> None:
    rows = study.weekly.to_dicts()
    assert [r["week"].isoformat() for r in rows] == ["2026-03-02", "2026-03-09"]
    # week 1: [50, 60, 200, 1450]: mean 1760 / 4 = 440, median 130; week 2: C4 110
    assert stats_in_minutes(rows[0])[:3] == (4, 440, 130)
    assert rows[0]["median_change"] is None
    assert rows[1]["median_change"] == pytest.approx(110 / 130 - 1)
    assert rows[1]["mean_change"] == pytest.approx(110 / 440 - 1)


def test_histogram(study: Study) -> None:
    counts = dict(zip(study.histogram["lower_h"], study.histogram["count"], strict=True))
    # 50 min -> [0.5, 1); 60 and 110 min -> [1, 2); 200 min -> [3, 4); 1450 min -> [24, 48)
    assert counts == {
        0.0: 0, 0.5: 1, 1.0: 2, 2.0: 0, 3.0: 1, 4.0: 0, 6.0: 0, 8.0: 0, 12.0: 0,
        24.0: 1, 48.0: 0, 72.0: 0, 168.0: 0,
    }  # fmt: skip
    assert study.histogram["count"].sum() == study.included


def test_outliers(study: Study) -> None:
    # Q1 = x[1] = 60, Q3 = x[3] = 200, IQR 140: fence 200 + 3 * 140 = 620 minutes
    assert minutes(study.outlier_threshold_s) == pytest.approx(620)
    assert study.outlier_count == 1
    (row,) = study.outliers.to_dicts()
    assert (row["consignment_id"], row["office"], row["lane"]) == ("C3", "B", "red")
    assert minutes(row["release_s"]) == 1450
    assert (row["longest_stage"], minutes(row["longest_stage_s"])) == ("agency_release", 1200)


def test_quality_per_office(study: Study) -> None:
    rows = {r.pop("office"): r for r in study.quality.to_dicts()}
    assert rows["A"] == {
        "consignments": 5,  # C1 C2 C5 C6 C8
        "events": 35,  # 8 + 12 + 8 + 3 + 4
        "duplicate": 0,
        "repeated": 0,
        "invalid_event": 1,  # C2's "teleported"
        "missing": 0,
        "unpaired": 0,
        "clock_skew": 1,  # C5
        "out_of_order": 1,  # C8
        "future": 0,
        "no_release": 1,  # C6
        "no_arrival": 0,
        "excluded": 2,
        "included": 3,
    }
    assert rows["B"] == {
        "consignments": 4,  # C3 C4 C7 C9
        "events": 27,  # 12 + 8 + 3 + 4
        "duplicate": 2,  # C4: the release again, the acceptance again
        "repeated": 1,  # C4's acceptance at another time
        "invalid_event": 0,
        "missing": 1,  # C7: no acceptance
        "unpaired": 1,  # C7: an inspection that never started
        "clock_skew": 0,
        "out_of_order": 0,
        "future": 1,  # C9
        "no_release": 0,
        "no_arrival": 1,  # C7
        "excluded": 2,
        "included": 2,
    }
    total = rows["all"]
    assert total["consignments"] == 9 and total["events"] == 62
    for key, value in total.items():
        assert value == rows["A"][key] + rows["B"][key], key


def test_publication_figure(study: Study) -> None:
    figure = study.publication()
    assert figure.mean_hours == pytest.approx(374 / 60)
    assert figure.median_hours == pytest.approx(110 / 60)
    assert figure.consignments == 5
    assert figure.excluded == study.excluded
    assert figure.by_office == {
        "A": (pytest.approx(310 / 3 / 60), 3),
        "B": (pytest.approx(13.0), 2),  # 780 minutes
    }
    assert figure.by_transport_mode["4"] == (pytest.approx(520 / 60), 3)


def test_filters_restrict_the_population() -> None:
    study = run_study(
        events(),
        ATTRIBUTES,
        StudyParams(as_of=AS_OF, filters={Dimension.OFFICE: frozenset({"A"})}),
    )
    assert (study.total, study.included) == (5, 3)
    assert stats_in_minutes(study.span(Span.ARRIVAL_RELEASE))[:2] == (3, pytest.approx(310 / 3))
