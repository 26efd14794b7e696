"""Data-quality checks, exclusions, period placement and parameters, one case at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from smartcustoms.errors import InvalidInputError
from smartcustoms.model.events import EVENT_SCHEMA
from smartcustoms.trs import Basis, Dimension, Span, StudyParams, run_study

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def events(*rows: tuple[str, str, float, str | None]) -> pl.DataFrame:
    """(consignment, type, minutes after T0, office) rows."""
    return pl.DataFrame(
        [
            {
                "consignment_id": cid,
                "event_type": kind,
                "occurred_at": T0 + timedelta(minutes=m),
                "office": office,
                "source": "t",
            }
            for cid, kind, m, office in rows
        ],
        schema=EVENT_SCHEMA,
    )


def released(cid: str = "C", release: float = 60, office: str | None = "A") -> list:
    return [
        (cid, "lodgement", -10, office),
        (cid, "acceptance", -9, office),
        (cid, "arrival", 0, office),
        (cid, "release", release, office),
    ]


def flags(frame: pl.DataFrame, cid: str = "C") -> dict[str, object]:
    study = run_study(frame, None, StudyParams(as_of=T0 + timedelta(days=10)))
    row = study.timelines.filter(pl.col("consignment_id") == cid).to_dicts()[0]
    return {k.removeprefix("dq_"): v for k, v in row.items() if k.startswith("dq_")} | {
        "exclusion": row["exclusion"]
    }


def test_a_clean_timeline_has_no_finding() -> None:
    assert flags(events(*released())) == {
        "invalid_event": 0,
        "duplicate": 0,
        "repeated": 0,
        "clock_skew": 0,
        "out_of_order": 0,
        "future": 0,
        "missing": 0,
        "unpaired": 0,
        "exclusion": None,
    }


def test_duplicates_and_repeats_are_counted_and_the_earliest_time_wins() -> None:
    frame = events(*released(), ("C", "release", 60, "A"), ("C", "release", 90, "A"))
    found = flags(frame)
    assert (found["duplicate"], found["repeated"], found["exclusion"]) == (2, 1, None)
    study = run_study(frame, None, StudyParams())
    assert study.span(Span.ARRIVAL_RELEASE)["max_s"] == 3600


def test_unknown_types_and_missing_times_are_counted_not_used() -> None:
    frame = pl.concat(
        [
            events(*released(), ("C", "beamed_up", 5, "A")),
            pl.DataFrame(
                [{"consignment_id": "C", "event_type": "exit", "occurred_at": None}],
                schema=EVENT_SCHEMA,
            ),
        ]
    )
    found = flags(frame)
    assert (found["invalid_event"], found["duplicate"], found["exclusion"]) == (2, 0, None)


def test_missing_lodgement_and_acceptance_count_only_when_released() -> None:
    frame = events(("C", "arrival", 0, "A"), ("C", "release", 30, "A"), ("D", "arrival", 0, "A"))
    assert flags(frame)["missing"] == 2
    assert flags(frame, "D")["missing"] == 0  # not released yet: in progress


@pytest.mark.parametrize(
    ("extra", "unpaired"),
    [
        ([("C", "document_check_start", 10, "A")], 1),
        ([("C", "document_check_end", 10, "A")], 1),
        ([("C", "physical_inspection_start", 5, "A"), ("C", "physical_inspection_end", 9, "A")], 0),
        ([("C", "agency_hold", 5, "A")], 1),
        ([("C", "agency_release", 5, "A"), ("C", "physical_inspection_start", 1, "A")], 2),
    ],
)
def test_unpaired_controls(extra: list, unpaired: int) -> None:
    assert flags(events(*released(), *extra))["unpaired"] == unpaired


def test_skew_within_tolerance_is_corrected_beyond_it_excludes() -> None:
    at_limit = events(*released(), ("C", "exit", 55, "A"))  # 5 minutes before release
    found = flags(at_limit)
    assert (found["clock_skew"], found["out_of_order"], found["exclusion"]) == (1, 0, None)
    study = run_study(at_limit, None, StudyParams())
    assert study.span(Span.RELEASE_EXIT)["max_s"] == 0
    beyond = events(*released(), ("C", "exit", 54.99, "A"))
    found = flags(beyond)
    assert (found["clock_skew"], found["out_of_order"], found["exclusion"]) == (
        0,
        1,
        "out_of_order",
    )


def test_skew_corrections_carry_forward() -> None:
    # acceptance 2 min before lodgement and risk decision 1 min before that acceptance:
    # acceptance moves to the lodgement, then the risk decision to the corrected acceptance
    frame = events(
        ("C", "lodgement", 0, "A"),
        ("C", "acceptance", -2, "A"),
        ("C", "risk_decision", -3, "A"),
        ("C", "arrival", 10, "A"),
        ("C", "release", 20, "A"),
    )
    study = run_study(frame, None, StudyParams())
    row = study.timelines.to_dicts()[0]
    assert row["acceptance"] == row["risk_decision"] == T0
    assert row["dq_clock_skew"] == 2


def test_tolerance_is_a_parameter() -> None:
    frame = events(*released(), ("C", "exit", 58, "A"))
    strict = run_study(frame, None, StudyParams(tolerance=timedelta(0)))
    assert strict.excluded["out_of_order"] == 1


def test_future_milestones_exclude_and_none_as_of_skips_the_check() -> None:
    frame = events(*released(release=60 * 24 * 20))  # released 20 days after arrival
    assert flags(frame)["exclusion"] == "future"
    assert run_study(frame, None, StudyParams()).excluded["future"] == 0


def test_exclusion_reasons_have_a_priority() -> None:
    # out of order and in the future: counted in both checks, excluded once, as out of order
    frame = events(
        ("C", "arrival", 0, "A"),
        ("C", "release", -30, "A"),
        ("C", "exit", 60 * 24 * 30, "A"),
    )
    found = flags(frame)
    assert (found["out_of_order"], found["future"], found["exclusion"]) == (1, 1, "out_of_order")
    assert flags(events(("C", "acceptance", 0, "A")))["exclusion"] == "no_release"
    assert flags(events(("C", "release", 0, "A")))["exclusion"] == "no_arrival"


def test_office_is_the_arrival_office_else_the_smallest_named() -> None:
    frame = events(
        ("C", "lodgement", 0, "Z"),
        ("C", "arrival", 1, "M"),
        ("C", "release", 2, "A"),
        ("D", "lodgement", 0, "Z"),
        ("D", "release", 2, "K"),
        ("E", "release", 2, None),
    )
    study = run_study(frame, None, StudyParams())
    offices = dict(study.timelines.select("consignment_id", "office").iter_rows())
    assert offices == {"C": "M", "D": "K", "E": "unknown"}


def test_period_places_consignments_by_arrival_or_release() -> None:
    # C arrives on day 0 and is released on day 2; D has no arrival, first event on day 1
    frame = events(
        ("C", "arrival", 0, "A"),
        ("C", "release", 60 * 48, "A"),
        ("D", "lodgement", 60 * 24, "A"),
        ("D", "release", 60 * 25, "A"),
    )
    day = timedelta(days=1)
    by_arrival = run_study(frame, None, StudyParams(start=T0, end=T0 + day))
    assert by_arrival.timelines["consignment_id"].to_list() == ["C"]
    by_release = run_study(
        frame, None, StudyParams(start=T0 + 2 * day, end=T0 + 3 * day, basis=Basis.RELEASE)
    )
    assert by_release.timelines["consignment_id"].to_list() == ["C"]
    no_arrival = run_study(frame, None, StudyParams(start=T0 + day, end=T0 + 2 * day))
    assert no_arrival.excluded["no_arrival"] == 1


def test_events_without_consignment_are_ignored_and_empty_input_gives_empty_figures() -> None:
    frame = pl.DataFrame(
        [{"consignment_id": None, "event_type": "arrival", "occurred_at": T0}],
        schema=EVENT_SCHEMA,
    )
    study = run_study(frame, None, StudyParams())
    assert (study.total, study.included, study.unattributed_events) == (0, 0, 1)
    assert study.span(Span.ARRIVAL_RELEASE)["count"] == 0
    assert study.outlier_threshold_s is None and study.outliers.is_empty()
    assert study.quality.to_dicts()[-1]["consignments"] == 0
    assert study.publication().mean_hours is None
    assert study.as_dict()["consignments"] == {
        "total": 0,
        "included": 0,
        "excluded": {"out_of_order": 0, "future": 0, "no_release": 0, "no_arrival": 0},
    }


def test_attribute_columns_may_be_partial() -> None:
    attributes = pl.DataFrame({"consignment_id": ["C"], "aeo_status": ["mra"]})
    study = run_study(events(*released()), attributes, StudyParams())
    row = study.timelines.to_dicts()[0]
    assert (row["aeo"], row["transport_mode"], row["hs_section"], row["lane"]) == (
        "mra",
        "unknown",
        "unknown",
        "green",
    )


def test_parameters_are_checked_all_at_once() -> None:
    naive = datetime(2026, 1, 1)
    with pytest.raises(InvalidInputError) as caught:
        run_study(
            events(*released()),
            None,
            StudyParams(
                start=naive,
                tolerance=timedelta(seconds=-1),
                timezone="Mars/Olympus",
                outlier_limit=-1,
            ),
        )
    assert {p.path for p in caught.value.problems} == {
        "start",
        "tolerance",
        "timezone",
        "outlier_limit",
    }
    with pytest.raises(InvalidInputError, match="cannot run"):
        run_study(events(*released()), None, StudyParams(start=T0, end=T0))


def test_filter_on_a_dimension_value() -> None:
    frame = events(*released("C"), *released("D", office="B"))
    study = run_study(frame, None, StudyParams(filters={Dimension.OFFICE: frozenset({"B"})}))
    assert study.timelines["consignment_id"].to_list() == ["D"]


def test_attributes_without_events_are_ignored_and_repeated_rows_resolved() -> None:
    attributes = pl.DataFrame(
        {
            "consignment_id": ["C", "C", "GHOST"],
            "transport_mode": ["5", "4", "1"],
            "aeo_status": [None, "none", "national"],
        }
    )
    study = run_study(events(*released()), attributes, StudyParams())
    assert study.total == 1  # GHOST has attributes but no event
    row = study.timelines.to_dicts()[0]
    assert (row["transport_mode"], row["aeo"]) == ("4", "non_aeo")  # smallest value per column
