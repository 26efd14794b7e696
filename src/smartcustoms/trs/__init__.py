"""Time Release Study (WCO TRS) from lifecycle events: release times, stages, data quality.

* :func:`run_study` - every figure for a period and filter, from events (and optional
  consignment attributes) in any Polars frame;
* :func:`study_from_source` - the same over an :class:`EventSource` (the store implements
  it);
* :func:`read_events` / :func:`read_attributes` - events and attributes from Parquet, CSV or
  JSON Lines files, every bad row reported;
* :func:`render_html` - a self-contained report with server-drawn SVG charts.

See ``docs/trs.md`` for the method and how each figure maps to the WCO TRS guide.
"""

from __future__ import annotations

from smartcustoms.trs.columns import Check, Dimension, Exclusion, Responsibility, Span, Stage
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
    "ReleaseTimeFigure",
    "Responsibility",
    "Span",
    "Stage",
    "Study",
    "StudyParams",
    "percentile",
    "run_study",
    "study_from_source",
]
