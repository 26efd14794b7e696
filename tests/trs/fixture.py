"""The hand-computed case: nine consignments whose every figure was worked out on paper.

Times are minutes from each consignment's base instant (UTC). Five consignments are included
(release times 60, 200, 1450, 110 and 50 minutes); four are excluded, one for each reason.

========  ======  =====================================================================
C1        A       pre-arrival, green, AEO, air, HS 6109 (section XI); released 60 min
C2        A       post-arrival, yellow (documentary check), non-AEO, post, HS 8517 (XVI);
                  one event of an unknown type; released 200 min
C3        B       pre-arrival, red (inspection), agency hold of 20 h, MRA, air, HS 9503
                  (XX); released 1450 min
C4        B       post-arrival, no attributes (lane from events: green); the release
                  reported twice, the acceptance again 4 minutes later; released 110 min
C5        A       pre-arrival, green, AEO, air, HS 6109; exit 2 minutes before release
                  (clock skew, corrected); released 50 min
C6        A       arrived, not released (excluded: no_release)
C7        B       released without arrival nor acceptance, an inspection ended never
                  started (excluded: no_arrival; missing 1, unpaired 1)
C8        A       released 60 min before arrival (excluded: out_of_order)
C9        B       released after the as-of time (excluded: future)
========  ======  =====================================================================
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import polars as pl

from smartcustoms.model.events import EVENT_SCHEMA

MONDAY: Final = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""C1 and C5 arrive then (week of 2026-03-02, Monday 08:00 UTC)."""
AS_OF: Final = datetime(2026, 3, 12, 0, 0, tzinfo=UTC)

BASES: Final = {
    "C1": MONDAY,
    "C2": MONDAY + timedelta(hours=2),  # Monday 10:00
    "C3": MONDAY + timedelta(days=1),  # Tuesday 08:00
    "C4": MONDAY + timedelta(days=7, hours=6),  # Monday 2026-03-09 14:00
    "C5": MONDAY,
    "C6": MONDAY + timedelta(hours=4),
    "C7": MONDAY + timedelta(hours=4),
    "C8": MONDAY + timedelta(hours=4),
    "C9": datetime(2026, 3, 11, 0, 0, tzinfo=UTC),
}
OFFICES: Final = {
    "C1": "A",
    "C2": "A",
    "C3": "B",
    "C4": "B",
    "C5": "A",
    "C6": "A",
    "C7": "B",
    "C8": "A",
    "C9": "B",
}

TIMELINES: Final[dict[str, list[tuple[str, int]]]] = {
    "C1": [
        ("lodgement", -60),
        ("acceptance", -58),
        ("risk_decision", -57),
        ("assessment", -56),
        ("arrival", 0),
        ("unloading", 30),
        ("release", 60),
        ("exit", 120),
    ],
    "C2": [
        ("arrival", 0),
        ("unloading", 20),
        ("lodgement", 40),
        ("acceptance", 42),
        ("risk_decision", 43),
        ("document_check_start", 103),
        ("document_check_end", 133),
        ("assessment", 134),
        ("payment", 194),
        ("release", 200),
        ("exit", 260),
        ("teleported", 10),  # not a milestone: ignored, counted
    ],
    "C3": [
        ("lodgement", -120),
        ("acceptance", -119),
        ("risk_decision", -118),
        ("arrival", 0),
        ("unloading", 60),
        ("physical_inspection_start", 180),
        ("physical_inspection_end", 240),
        ("agency_hold", 242),
        ("agency_release", 1442),
        ("assessment", 1443),
        ("release", 1450),
        ("exit", 1500),
    ],
    "C4": [
        ("arrival", 0),
        ("lodgement", 100),
        ("acceptance", 101),
        ("risk_decision", 102),
        ("assessment", 103),
        ("release", 110),
        ("release", 110),  # exact duplicate
        ("acceptance", 105),  # repeated with another time: the earliest (101) is used
    ],
    "C5": [
        ("lodgement", -30),
        ("acceptance", -29),
        ("risk_decision", -28),
        ("assessment", -27),
        ("arrival", 0),
        ("unloading", 40),
        ("release", 50),
        ("exit", 48),  # 2 minutes before release: clock skew, moved to 50
    ],
    "C6": [("lodgement", -10), ("acceptance", -9), ("arrival", 0)],
    "C7": [("lodgement", 0), ("physical_inspection_end", 20), ("release", 30)],
    "C8": [("arrival", 0), ("lodgement", 5), ("acceptance", 6), ("release", -60)],
    "C9": [("arrival", 0), ("lodgement", 1), ("acceptance", 2), ("release", 5000)],
}

ATTRIBUTES: Final = pl.DataFrame(
    {
        "consignment_id": ["C1", "C2", "C3", "C5", "C6", "C8"],
        "lane": ["green", "yellow", "red", "green", "green", "green"],
        "transport_mode": ["4", "5", "4", "4", "4", "5"],
        "aeo_status": ["national", "none", "mra", "national", "national", "none"],
        "hs_code": ["610910", "85171300", "950300", "610910", "610910", None],
    }
)
"""C4, C7 and C9 have no attribute row (their dimensions come from the events or are
``unknown``)."""


def events() -> pl.DataFrame:
    """Every event of the fixture (``source`` = ``fixture``), in the order listed."""
    rows = [
        {
            "consignment_id": cid,
            "event_type": kind,
            "occurred_at": BASES[cid] + timedelta(minutes=minutes),
            "office": OFFICES[cid],
            "source": "fixture",
        }
        for cid, timeline in TIMELINES.items()
        for kind, minutes in timeline
    ]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def minutes(value: float | None) -> float | None:
    """Seconds to minutes (the unit the expectations are written in)."""
    return None if value is None else value / 60
