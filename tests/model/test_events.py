"""Parsing filed lifecycle events."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.model.events import EVENT_SCHEMA, EventType, parse_events


def test_valid_events_become_utc_rows() -> None:
    frame, problems = parse_events(
        [
            {
                "consignment_id": " C1 ",
                "event_type": "arrival",
                "occurred_at": "2026-11-22T08:00:00+01:00",
            },
            {"consignment_id": "C1", "event_type": "release", "occurred_at": "2026-11-22 09:30:00"},
        ],
        source="test",
    )
    assert problems == []
    assert frame.schema == EVENT_SCHEMA
    assert frame["consignment_id"].to_list() == ["C1", "C1"]
    assert frame["occurred_at"].to_list() == [
        datetime(2026, 11, 22, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    ]


def test_every_problem_of_every_event_is_listed_in_order() -> None:
    _, problems = parse_events(
        [
            {
                "consignment_id": "C1",
                "event_type": "arrival",
                "occurred_at": "2026-11-22T08:00:00Z",
            },
            {"consignment_id": "", "event_type": "beamed", "occurred_at": "soon", "colour": "red"},
        ],
        source="test",
    )
    assert [(p.code, p.path) for p in problems] == [
        ("event.field", "events[1]"),
        ("event.consignment", "events[1].consignment_id"),
        ("event.type", "events[1].event_type"),
        ("event.time", "events[1].occurred_at"),
    ]


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "consignment_id": st.sampled_from(["C1", "", "C2"]),
                "event_type": st.sampled_from([*(e.value for e in EventType), "nope"]),
                "occurred_at": st.sampled_from(["2026-11-22T08:00:00Z", "garbage", "2026-11-22"]),
            }
        ),
        max_size=20,
    )
)
def test_a_row_is_valid_exactly_when_no_problem_names_it(rows: list[dict[str, str]]) -> None:
    frame, problems = parse_events(rows, source="test")
    named = {int(p.path.split("[")[1].split("]")[0]) for p in problems}
    for i, row in enumerate(rows):
        valid = (
            row["consignment_id"] != ""
            and row["event_type"] != "nope"
            and row["occurred_at"] == "2026-11-22T08:00:00Z"  # a bare date has no time
        )
        assert valid == (i not in named)
    assert frame.height == len(rows)
