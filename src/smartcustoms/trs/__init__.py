"""Time Release Study (WCO TRS) from lifecycle events: release times, stages, data quality.

* :func:`run_study` - every figure for a period and filter, from events (and optional
  consignment attributes) in any Polars frame;
* :func:`study_from_source` - the same over an :class:`EventSource` (the store implements
  it);
* :func:`read_events` / :func:`read_attributes` - events and attributes from Parquet, CSV or
  JSON Lines files for a study; :func:`check_event_file` - a bulk file to store, every bad
  row returned whole with its problems (:class:`RejectedRow`);
* :func:`render_html` - a self-contained report with server-drawn SVG charts;
  :func:`write_interval_table` - one row per consignment with every duration.

See ``docs/trs.md`` for the method and how each figure maps to the WCO TRS guide.
"""

from __future__ import annotations

from smartcustoms.trs.columns import Check, Dimension, Exclusion, Responsibility, Span, Stage
from smartcustoms.trs.files import (
    RejectedRow,
    check_event_file,
    interval_table,
    read_attributes,
    read_events,
    write_interval_table,
)
from smartcustoms.trs.html import render_html, render_sections
from smartcustoms.trs.ports import EventSource
from smartcustoms.trs.stats import percentile
from smartcustoms.trs.study import (
    Basis,
    ReleaseTimeFigure,
    Study,
    StudyParams,
    run_study,
    study_from_source,
)

__all__ = [
    "Basis",
    "Check",
    "Dimension",
    "EventSource",
    "Exclusion",
    "RejectedRow",
    "ReleaseTimeFigure",
    "Responsibility",
    "Span",
    "Stage",
    "Study",
    "StudyParams",
    "check_event_file",
    "interval_table",
    "percentile",
    "read_attributes",
    "read_events",
    "render_html",
    "render_sections",
    "run_study",
    "study_from_source",
    "write_interval_table",
]
