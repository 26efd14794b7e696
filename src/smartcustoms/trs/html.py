"""The study as HTML: a self-contained report file, or the sections for a portal page.

:func:`render_html` writes one document with its style inline and every chart as inline SVG
(:mod:`.charts`): it opens offline, from a file or an e-mail, with no script and nothing to
fetch. :func:`render_sections` is the body alone, which the portal embeds in its own layout.
Every chart has a title and a description, and the same numbers in a table beside it; all
words go through ``translate`` (the portal passes its gettext, so French and Spanish readers
get their language). Every value from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any, Final

from smartcustoms import __version__
from smartcustoms.model.events import EventType
from smartcustoms.trs import charts
from smartcustoms.trs import labels as words
from smartcustoms.trs.columns import Check, Dimension, Exclusion, Responsibility, Span, Stage
from smartcustoms.trs.study import Study

__all__ = ["STYLE", "render_html", "render_sections"]

Translate = Callable[[str], str]

STYLE: Final = """
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: #111; background: #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
h1 { margin-bottom: .25rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid #111; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #c8c8c8; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
.headline { border: 2px solid #0b4f9c; padding: .75rem 1rem; max-width: 48rem; }
.headline h2 { margin-top: 0; } .headline .figure { font-size: 2rem; font-weight: 700; margin: 0; }
.scope, .note { color: #4a4a4a; }
figure { margin: 1rem 0; max-width: 48rem; }
details { margin-bottom: 1rem; } summary { cursor: pointer; }
"""
"""The report's style sheet (inline in the document)."""


def _same(text: str) -> str:
    return text


def _table(
    caption: str,
    head: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric_from: int = 1,
) -> str:
    """A table with a caption; columns from ``numeric_from`` on are right-aligned."""
    out = [f"<table><caption>{escape(caption)}</caption><thead><tr>"]
    out += [
        f'<th scope="col"{" class=n" if i >= numeric_from else ""}>{escape(h)}</th>'
        for i, h in enumerate(head)
    ]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = [f'<th scope="row">{escape(str(row[0]))}</th>']
        cells += [
            f"<td{' class=n' if i >= numeric_from else ''}>{escape(str(v))}</td>"
            for i, v in enumerate(row[1:], start=1)
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _stat_cells(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['count']:,}",
        *(words.duration(r[k]) for k in ("mean_s", "median_s", "p90_s", "p95_s", "max_s")),
    ]


def _stat_head(_: Translate, first: str) -> list[str]:
    return [first, _("consignments"), _("mean"), _("median"), "p90", "p95", _("max")]


def _figure(svg: str, table: str, _: Translate) -> str:
    numbers = _("The numbers of this chart")
    return f"<figure>{svg}<details><summary>{escape(numbers)}</summary>{table}</details></figure>"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _scope(study: Study, _: Translate) -> str:
    p = study.params
    start, end = (p.start.isoformat() if p.start else "…"), (p.end.isoformat() if p.end else "…")
    period = f"{start} - {end}" if p.start or p.end else _("all data")
    filters = "; ".join(
        f"{_(words.DIMENSIONS[d])} = {', '.join(sorted(words.value_label(v, _) for v in vs))}"
        for d, vs in p.filters.items()
    )
    basis = _("by arrival") if p.basis.value == "arrival" else _("by release")
    period_word, zone_word, tolerance_word = _("Period"), _("Time zone"), _("Clock tolerance")
    filters_word, as_of_word = _("Filters"), _("Data as of")
    parts = [
        f"{period_word}: {period} ({basis})",
        f"{zone_word}: {p.timezone}",
        f"{tolerance_word}: {words.duration(p.tolerance.total_seconds())}",
    ]
    if filters:
        parts.append(f"{filters_word}: {filters}")
    if p.as_of:
        parts.append(f"{as_of_word}: {p.as_of.isoformat()}")
    return f'<p class="scope">{escape(" · ".join(parts))}</p>'


def _headline(study: Study, _: Translate) -> str:
    figure = study.publication()
    mean = words.duration(None if figure.mean_hours is None else figure.mean_hours * 3600)
    median = words.duration(None if figure.median_hours is None else figure.median_hours * 3600)
    excluded = sum(study.excluded.values())
    rests_on = _("Arrival to release, mean of %(n)s consignments; median %(median)s.") % {
        "n": f"{figure.consignments:,}",
        "median": median,
    }
    tfa = _("The figure WTO TFA Art. 7.6 asks Members to publish (WCO TRS method).")
    title = _("Average release time")
    left_out = _("%(n)s consignments of the period excluded:")
    reasons = "".join(
        f"<li>{escape(_(words.EXCLUSIONS[r]))}: {study.excluded[r.value]:,}</li>" for r in Exclusion
    )
    return (
        '<section class="headline" aria-labelledby="trs-headline">'
        f'<h2 id="trs-headline">{escape(title)}</h2>'
        f'<p class="figure">{escape(mean)}</p>'
        f"<p>{escape(rests_on)}</p>"
        f'<p class="note">{escape(tfa)}</p>'
        f"<p>{escape(left_out % {'n': f'{excluded:,}'})}</p>"
        f"<ul>{reasons}</ul></section>"
    )


def _h2(text: str) -> str:
    return f"<h2>{escape(text)}</h2>"


def _milestone(code: str, _: Translate) -> str:
    return _(words.MILESTONES[EventType(code)])


def render_sections(study: Study, *, translate: Translate = _same) -> str:
    """Every section of the report (headline, charts, tables), as an HTML fragment."""
    _ = translate
    out = [_scope(study, _), _headline(study, _)]
    out.append(_h2(_("Release times")))
    out.append(
        _table(
            _("Headline intervals"),
            _stat_head(_, _("interval")),
            ([_(words.SPANS[Span(r["span"])]), *_stat_cells(r)] for r in study.spans.to_dicts()),
        )
    )
    bins = [
        (
            f"{r['lower_h']:g}-{r['upper_h']:g} h"
            if r["upper_h"] is not None
            else f"≥{r['lower_h']:g} h",
            f"{r['count']:,}",
        )
        for r in study.histogram.to_dicts()
    ]
    out.append(
        _figure(
            charts.histogram_svg(study, translate=_),
            _table(_("Distribution of release times"), [_("hours"), _("consignments")], bins),
            _,
        )
    )
    out.append(_h2(_("Where the release time goes")))
    lanes = study.stages_by_lane.partition_by("lane", maintain_order=True)
    stage_rows = []
    for i, stage in enumerate(Stage):
        row = [
            _(words.STAGES[stage]),
            _(words.RESPONSIBILITIES[Responsibility(study.stages["responsibility"][i])]),
        ]
        row.append(words.duration(study.stages["mean_s"][i]))
        row.append(_percent(study.stages["share"][i]))
        row += [words.duration(lane["mean_s"][i]) for lane in lanes]
        stage_rows.append(row)
    head = [_("stage"), _("responsibility"), _("mean"), _("share")]
    head += [words.value_label(lane["lane"][0], _) for lane in lanes]
    out.append(
        _figure(
            charts.stages_svg(study, translate=_),
            _table(_("Mean time per stage, overall and per lane"), head, stage_rows, 2),
            _,
        )
    )
    by_who: dict[str, float] = {}
    for r in study.stages.to_dicts():
        by_who[r["responsibility"]] = by_who.get(r["responsibility"], 0.0) + (r["mean_s"] or 0.0)
    out.append(
        _table(
            _("Release time by responsibility"),
            [_("responsibility"), _("mean")],
            (
                [_(words.RESPONSIBILITIES[Responsibility(k)]), words.duration(v)]
                for k, v in by_who.items()
            ),
        )
    )
    out.append(
        _table(
            _("Intervals between consecutive milestones"),
            _stat_head(_, _("from → to")),
            (
                [
                    f"{_milestone(r['from'], _)} → {_milestone(r['to'], _)}",
                    *_stat_cells(r),
                ]
                for r in study.intervals.to_dicts()
            ),
        )
    )
    out.append(_h2(_("Breakdowns")))
    for dimension in Dimension:
        frame = study.breakdowns[dimension]
        out.append(
            _table(
                _(words.DIMENSIONS[dimension]),
                [*_stat_head(_, _(words.DIMENSIONS[dimension])), _("excluded"), _("share")],
                (
                    [
                        words.value_label(str(r["value"]), _),
                        *_stat_cells(r),
                        f"{r['excluded']:,}",
                        _percent(r["share"]),
                    ]
                    for r in frame.to_dicts()
                ),
            )
        )
    out.append(_h2(_("Patterns")))
    cells = [
        [
            f"{_(words.WEEKDAYS[r['weekday'] - 1])} {r['hour']:02d}:00",
            f"{r['count']:,}",
            words.duration(r["median_s"]),
            words.duration(r["mean_s"]),
        ]
        for r in study.heatmap.to_dicts()
    ]
    out.append(
        _figure(
            charts.heatmap_svg(study, translate=_),
            _table(
                _("Release time by hour and weekday of arrival"),
                [_("arrival"), _("consignments"), _("median"), _("mean")],
                cells,
            ),
            _,
        )
    )
    out.append(
        _table(
            _("By weekday of arrival"),
            _stat_head(_, _("weekday")),
            (
                [_(words.WEEKDAYS[r["weekday"] - 1]), *_stat_cells(r)]
                for r in study.weekday.to_dicts()
            ),
        )
    )
    out.append(
        _table(
            _("By hour of arrival"),
            _stat_head(_, _("hour")),
            ([f"{r['hour']:02d}:00", *_stat_cells(r)] for r in study.hourly.to_dicts()),
        )
    )
    out.append(_h2(_("Week on week")))
    weeks = [
        [r["week"].isoformat(), *_stat_cells(r), _percent(r["median_change"])]
        for r in study.weekly.to_dicts()
    ]
    out.append(
        _figure(
            charts.trend_svg(study, translate=_),
            _table(_("By week of arrival"), [*_stat_head(_, _("week")), _("median change")], weeks),
            _,
        )
    )
    out.append(_h2(_("Outliers")))
    out.append(
        "<p>"
        + escape(
            _("%(n)s consignments above %(limit)s (Q3 + %(fence)s × IQR); the longest:")
            % {
                "n": f"{study.outlier_count:,}",
                "limit": words.duration(study.outlier_threshold_s),
                "fence": f"{study.params.outlier_fence:g}",
            }
        )
        + "</p>"
    )
    out.append(
        _table(
            _("Longest release times"),
            [
                _("consignment"),
                _("office"),
                _("lane"),
                _("arrival"),
                _("release time"),
                _("longest stage"),
            ],
            (
                [
                    r["consignment_id"],
                    r["office"],
                    words.value_label(r["lane"], _),
                    f"{r['arrival']:%Y-%m-%d %H:%M} UTC",
                    words.duration(r["release_s"]),
                    f"{_(words.STAGES[Stage(r['longest_stage'])])} "
                    f"({words.duration(r['longest_stage_s'])})",
                ]
                for r in study.outliers.to_dicts()
            ),
            4,
        )
    )
    out.append(_quality(study, _))
    return "\n".join(out)


def _quality(study: Study, _: Translate) -> str:
    columns = [c for c in study.quality.columns if c != "office"]
    names = {
        "consignments": _("consignments"),
        "events": _("events"),
        **{c.value: _(words.CHECKS[c]) for c in Check},
        Exclusion.NO_RELEASE.value: _(words.EXCLUSIONS[Exclusion.NO_RELEASE]),
        Exclusion.NO_ARRIVAL.value: _(words.EXCLUSIONS[Exclusion.NO_ARRIVAL]),
        "excluded": _("excluded"),
        "included": _("included"),
    }
    table = _table(
        _("Data quality per office"),
        [_("office"), *(names[c] for c in columns)],
        (
            [_("all") if r["office"] == "all" else r["office"], *(f"{r[c]:,}" for c in columns)]
            for r in study.quality.to_dicts()
        ),
    )
    note = _(
        "Events, duplicates and invalid events count events; the other columns count consignments."
    )
    extra = ""
    if study.unattributed_events:
        ignored = _("%(n)s events without a consignment id were ignored.")
        extra = f"<p>{escape(ignored % {'n': f'{study.unattributed_events:,}'})}</p>"
    return f'{_h2(_("Data quality"))}{table}<p class="note">{escape(note)}</p>{extra}'


def render_html(study: Study, *, translate: Translate = _same, lang: str = "en") -> str:
    """A complete, self-contained HTML document of the study."""
    _ = translate
    title = _("Time Release Study")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    made = _("Generated by smartcustoms %(version)s on %(when)s.")
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="note">{escape(made % {"version": __version__, "when": generated})}</p>\n'
        f"{render_sections(study, translate=_)}\n</main>\n</body>\n</html>\n"
    )
