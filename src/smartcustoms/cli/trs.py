"""``smartcustoms trs``: the Time Release Study, in the terminal, as HTML, as data.

``trs report`` runs the study on the store (``--db``) or on files (``--events``, with
``--attributes``), prints its tables, and optionally writes a self-contained HTML report with
charts (``--html``) and the per-consignment interval table (``--parquet``, ``--csv``). ``--json``
prints every figure as one document. See ``docs/trs.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.errors import InvalidStudyError, Problem
from smartcustoms.model.events import EventType
from smartcustoms.store.trs import TrsRecords
from smartcustoms.trs import Basis, Dimension, Study, StudyParams, run_study, study_from_source
from smartcustoms.trs import labels as words
from smartcustoms.trs.columns import Exclusion, Responsibility, Span, Stage
from smartcustoms.trs.files import read_attributes, read_events, write_interval_table
from smartcustoms.trs.html import render_html

__all__ = ["parse_instant", "trs_group"]


@click.group("trs")
def trs_group() -> None:
    """Time Release Study: release times from lifecycle events (WCO TRS, WTO TFA 7.6)."""


def parse_instant(text: str, *, end: bool = False) -> datetime:
    """A period bound: a date (midnight UTC; an end date counts whole) or an ISO date-time.

    Raises:
        InvalidStudyError: Neither a date nor a date-time.
    """
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidStudyError(
            f"{text!r} is not a date or ISO 8601 date-time",
            (Problem("trs.params", "to" if end else "from", "expected 2026-11-01 or a time"),),
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filters(offices: Sequence[str], where: Sequence[str]) -> dict[Dimension, frozenset[str]]:
    found: dict[Dimension, set[str]] = {}
    if offices:
        found[Dimension.OFFICE] = set(offices)
    problems = []
    for item in where:
        name, _, value = item.partition("=")
        try:
            dimension = Dimension(name.strip())
        except ValueError:
            problems.append(
                Problem(
                    "trs.params",
                    "where",
                    f"{item!r}: one of {', '.join(d.value for d in Dimension)}=VALUE",
                )
            )
            continue
        found.setdefault(dimension, set()).add(value.strip())
    if problems:
        raise InvalidStudyError("unusable --where", tuple(problems))
    return {d: frozenset(v) for d, v in found.items()}


def _stats_table(
    title: str, first: str, rows: list[tuple[str, dict[str, Any]]], *, excluded: bool = False
) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for col in ("count", "mean", "median", "p90", "p95", "max", *(["excluded"] * excluded)):
        table.add_column(col, justify="right")
    for label, r in rows:
        cells = [words.duration(r[k]) for k in ("mean_s", "median_s", "p90_s", "p95_s", "max_s")]
        extra = [f"{r['excluded']:,}"] if excluded else []
        table.add_row(label, f"{r['count']:,}", *cells, *extra)
    return table


def _hours(value: float | None) -> str:
    return words.duration(None if value is None else value * 3600)


def _change(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} %"


def _milestone(code: str) -> str:
    return words.MILESTONES[EventType(code)]


def print_study(study: Study, console: Console, by: Sequence[Dimension]) -> None:
    """Print the study's tables."""
    figure = study.publication()
    excluded = sum(study.excluded.values())
    console.print(
        f"[bold]Average release time[/bold] (arrival to release, WTO TFA Art. 7.6): "
        f"[bold]{_hours(figure.mean_hours)}[/bold], median {_hours(figure.median_hours)} - "
        f"{study.included:,} consignments of {study.total:,}; {excluded:,} excluded"
    )
    reasons = Table(title="Excluded consignments", title_justify="left")
    reasons.add_column("reason")
    reasons.add_column("consignments", justify="right")
    for reason in Exclusion:
        reasons.add_row(words.EXCLUSIONS[reason], f"{study.excluded[reason.value]:,}")
    console.print(reasons)
    console.print(
        _stats_table(
            "Release times",
            "interval",
            [(words.SPANS[Span(r["span"])], r) for r in study.spans.iter_rows(named=True)],
        )
    )
    stages = Table(title="Where the release time goes (mean)", title_justify="left")
    for col in ("stage", "responsibility", "mean", "share"):
        stages.add_column(col, justify="right" if col in ("mean", "share") else "left")
    for r in study.stages.iter_rows(named=True):
        share = "-" if r["share"] is None else f"{r['share'] * 100:.1f} %"
        who = words.RESPONSIBILITIES[Responsibility(r["responsibility"])]
        mean = words.duration(r["mean_s"])
        stages.add_row(words.STAGES[Stage(r["stage"])], who, mean, share)
    console.print(stages)
    console.print(
        _stats_table(
            "Intervals between consecutive milestones",
            "from -> to",
            [
                (f"{_milestone(r['from'])} -> {_milestone(r['to'])}", r)
                for r in study.intervals.iter_rows(named=True)
            ],
        )
    )
    for dimension in by:
        rows = study.breakdowns[dimension].iter_rows(named=True)
        console.print(
            _stats_table(
                f"By {words.DIMENSIONS[dimension].lower()}",
                dimension.value,
                [(words.value_label(str(r["value"])), r) for r in rows],
                excluded=True,
            )
        )
    console.print(
        _stats_table(
            f"By weekday of arrival ({study.params.timezone})",
            "weekday",
            [(words.WEEKDAYS[r["weekday"] - 1], r) for r in study.weekday.iter_rows(named=True)],
        )
    )
    weekly = _stats_table(
        "Week on week (weeks of arrival; change of the median from the week before)",
        "week",
        [
            (f"{r['week'].isoformat()} ({_change(r['median_change'])})", r)
            for r in study.weekly.iter_rows(named=True)
        ],
    )
    console.print(weekly)
    fence = words.duration(study.outlier_threshold_s)
    outliers = Table(title=f"Outliers: {study.outlier_count:,} above {fence}", title_justify="left")
    for col in ("consignment", "office", "lane", "arrival", "release time", "longest stage"):
        outliers.add_column(col)
    for r in study.outliers.iter_rows(named=True):
        outliers.add_row(
            r["consignment_id"],
            r["office"],
            r["lane"],
            f"{r['arrival']:%Y-%m-%d %H:%M}",
            words.duration(r["release_s"]),
            f"{words.STAGES[Stage(r['longest_stage'])]} ({words.duration(r['longest_stage_s'])})",
        )
    console.print(outliers)
    quality = Table(title="Data quality per office", title_justify="left")
    quality.add_column("office")
    columns = [c for c in study.quality.columns if c != "office"]
    for col in columns:
        quality.add_column(col.replace("_", " "), justify="right")
    for r in study.quality.iter_rows(named=True):
        quality.add_row(r["office"], *(f"{r[c]:,}" for c in columns))
    console.print(quality)
    if study.unattributed_events:
        console.print(f"{study.unattributed_events:,} events without a consignment id ignored")


@trs_group.command("report")
@click.option("--from", "start", metavar="DATE", default=None, help="Start (date or date-time).")
@click.option("--to", "end", metavar="DATE", default=None, help="End (a date counts whole).")
@click.option(
    "--basis",
    type=click.Choice([b.value for b in Basis]),
    default=Basis.ARRIVAL.value,
    show_default=True,
    help="Which milestone places a consignment in the period.",
)
@click.option("--office", "offices", multiple=True, help="Only this office; repeat for several.")
@click.option("--where", multiple=True, metavar="DIMENSION=VALUE", help="Filter; repeatable.")
@click.option(
    "--by",
    multiple=True,
    type=click.Choice([d.value for d in Dimension]),
    help="Breakdowns to print (default: all).",
)
@click.option("--tz", "timezone", default="UTC", show_default=True, help="Time zone of patterns.")
@click.option("--tolerance", type=float, default=5.0, show_default=True, help="Clock skew, min.")
@click.option("--as-of", "as_of", default=None, help="When the data were taken (default: now).")
@click.option("--outliers", type=click.IntRange(0), default=10, show_default=True)
@click.option(
    "--events",
    "events_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read events from this file instead of the store.",
)
@click.option(
    "--attributes",
    "attributes_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Consignment attributes for the breakdowns (with --events).",
)
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML report with charts.",
)
@click.option("--parquet", type=click.Path(dir_okay=False, path_type=Path), help="Intervals.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@json_option
def report(
    start: str | None,
    end: str | None,
    basis: str,
    offices: tuple[str, ...],
    where: tuple[str, ...],
    by: tuple[str, ...],
    timezone: str,
    tolerance: float,
    as_of: str | None,
    outliers: int,
    events_file: Path | None,
    attributes_file: Path | None,
    html: Path | None,
    parquet: Path | None,
    csv_path: Path | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Release times for a period and filter, from the store or from files."""
    params = StudyParams(
        start=parse_instant(start) if start else None,
        end=parse_instant(end, end=True) if end else None,
        basis=Basis(basis),
        filters=_filters(offices, where),
        timezone=timezone,
        tolerance=timedelta(minutes=tolerance),
        as_of=parse_instant(as_of) if as_of else datetime.now(UTC),
        outlier_limit=outliers,
    )
    if events_file is not None:
        attributes = read_attributes(attributes_file) if attributes_file else None
        study = run_study(read_events(events_file), attributes, params)
    else:
        study = study_from_source(TrsRecords(make_platform(database_url).store), params)
    written = {}
    if html is not None:
        html.write_text(render_html(study), encoding="utf-8")
        written["html"] = str(html)
    for path in (parquet, csv_path):
        if path is not None:
            write_interval_table(study, path)
            written[path.suffix.lstrip(".")] = str(path)
    if as_json:
        echo_json(study.as_dict() | {"written": written})
        return
    dimensions = [Dimension(b) for b in by] or list(Dimension)
    console = Console(width=max(Console().width, 120))
    print_study(study, console, dimensions)
    for kind, path_text in written.items():
        click.echo(f"wrote {kind}: {path_text}")
