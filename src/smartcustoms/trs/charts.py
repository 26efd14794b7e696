"""The study's charts as inline SVG, drawn on the server: no script, no external file.

Each function returns one ``<svg role="img">`` element with a ``<title>`` and a ``<desc>``
(named by ``aria-labelledby``), a ``<title>`` tooltip on every mark, and colours given as
attributes, so the markup stands alone in an HTML report or a portal page. Reports put the
same numbers in a table next to each chart. Words come translated through ``translate``
(a gettext function; English by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Final

from smartcustoms.trs import labels as words
from smartcustoms.trs.columns import STAGES, Stage
from smartcustoms.trs.study import Study

__all__ = [
    "HEAT_COLOURS",
    "STAGE_COLOURS",
    "heatmap_svg",
    "histogram_svg",
    "nice_ceiling",
    "stages_svg",
    "trend_svg",
]

Translate = Callable[[str], str]

STAGE_COLOURS: Final = {
    Stage.UNLOADING: "#e69f00",
    Stage.LODGEMENT: "#f5c96b",
    Stage.ACCEPTANCE: "#c6dbef",
    Stage.RISK_DECISION: "#9ecae1",
    Stage.DOCUMENT_QUEUE: "#6baed6",
    Stage.DOCUMENT_CHECK: "#4292c6",
    Stage.INSPECTION_QUEUE: "#2171b5",
    Stage.INSPECTION: "#08519c",
    Stage.AGENCY_HOLD: "#a1d99b",
    Stage.AGENCY_RELEASE: "#238b45",
    Stage.ASSESSMENT: "#deebf7",
    Stage.PAYMENT: "#a6611a",
    Stage.RELEASE: "#08306b",
}
"""One colour per stage: oranges for trade, blues for customs, greens for other agencies."""

HEAT_COLOURS: Final = (
    "#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c",
    "#fc4e2a", "#e31a1c", "#bd0026", "#800026",
)  # fmt: skip
"""Sequential scale of the heatmap, shortest to longest release time (ColorBrewer YlOrRd)."""

_FONT: Final = 'font-family="system-ui, sans-serif" font-size="12"'


def _same(text: str) -> str:
    return text


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least ``value`` (an axis end; 1 for 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= value * (1 - 1e-9))


def _open(ident: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trs-chart" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
        f'aria-labelledby="{ident}-title {ident}-desc" {_FONT}>',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="#111" {extra}>'
        f"{escape(text)}</text>"
    )


def _hours(seconds: float | None) -> float:
    return 0.0 if seconds is None else seconds / 3600


def histogram_svg(
    study: Study, *, translate: Translate = _same, ident: str = "trs-histogram"
) -> str:
    """Vertical bars: how many consignments fall in each release-time bin (hours)."""
    _ = translate
    rows = study.histogram.to_dicts()
    top = nice_ceiling(max((r["count"] for r in rows), default=0))
    left, right, top_y, bottom = 60.0, 700.0, 20.0, 240.0
    slot = (right - left) / max(len(rows), 1)
    parts = _open(
        ident,
        720,
        290,
        _("Distribution of release times"),
        _("Consignments per release-time band, arrival to release, in hours.")
        + f" n = {study.included:,}.",
    )
    for i in range(5):
        y = bottom - (bottom - top_y) * i / 4
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(left - 6, y + 4, f"{top * i / 4:,.0f}", "end"))
    for i, r in enumerate(rows):
        label = _bin_label(r["lower_h"], r["upper_h"])
        height = (bottom - top_y) * r["count"] / top
        x = left + i * slot + slot * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{bottom - height:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{max(height, 0.5):.1f}" fill="#0b4f9c">'
            f"<title>{escape(label)}: {r['count']:,}</title></rect>"
        )
        parts.append(_text(x + slot * 0.4, bottom + 16, label, "middle", 'font-size="10"'))
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#111"/>')
    parts.append(_text(left, bottom + 38, _("hours from arrival to release")))
    parts.append("</svg>")
    return "\n".join(parts)


def _bin_label(lower: float, upper: float | None) -> str:
    return f"≥{lower:g} h" if upper is None else f"{lower:g}-{upper:g} h"


def stages_svg(study: Study, *, translate: Translate = _same, ident: str = "trs-stages") -> str:
    """Stacked horizontal bars: the mean release time of each lane, cut into its stages."""
    _ = translate
    groups: list[tuple[str, list[float]]] = [
        (_("all"), [r["mean_s"] or 0.0 for r in study.stages.iter_rows(named=True)])
    ]
    for lane in study.stages_by_lane.partition_by("lane", maintain_order=True):
        groups.append(
            (words.value_label(lane["lane"][0], _), [v or 0.0 for v in lane["mean_s"].to_list()])
        )
    top = nice_ceiling(max((_hours(sum(v)) for _g, v in groups), default=0))
    left, right, row, first = 120.0, 700.0, 34.0, 20.0
    height = first + row * len(groups) + 40 + 18 * math.ceil(len(STAGES) / 2)
    parts = _open(
        ident,
        720,
        height,
        _("Where the release time goes"),
        _("Mean release time per lane, hours, split into the stages between milestones."),
    )
    span = right - left
    for i in range(5):
        x = left + span * i / 4
        y_end = first + row * len(groups)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{first}" y2="{y_end}" stroke="#ddd"/>')
        parts.append(_text(x, y_end + 14, f"{top * i / 4:g} h", "middle"))
    for g, (name, values) in enumerate(groups):
        y = first + g * row
        parts.append(_text(left - 8, y + row / 2 + 4, name, "end"))
        x = left
        for stage, seconds in zip(STAGES, values, strict=True):
            width = span * _hours(seconds) / top
            if width <= 0:
                continue
            tip = f"{name}, {_(words.STAGES[stage])}: {words.duration(seconds)}"
            parts.append(
                f'<rect x="{x:.2f}" y="{y + 6:.1f}" width="{width:.2f}" height="{row - 12:.1f}" '
                f'fill="{STAGE_COLOURS[stage]}"><title>{escape(tip)}</title></rect>'
            )
            x += width
        parts.append(_text(x + 4, y + row / 2 + 4, words.duration(sum(values))))
    legend_y = first + row * len(groups) + 34
    for i, stage in enumerate(STAGES):
        lx, ly = 20 + (i % 2) * 350, legend_y + (i // 2) * 18
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{STAGE_COLOURS[stage]}" '
            f'stroke="#111" stroke-width="0.5"/>'
        )
        parts.append(_text(lx + 18, ly, _(words.STAGES[stage])))
    parts.append("</svg>")
    return "\n".join(parts)


def trend_svg(study: Study, *, translate: Translate = _same, ident: str = "trs-trend") -> str:
    """Lines: median, mean and 90th percentile of the release time, week by week."""
    _ = translate
    rows = study.weekly.to_dicts()
    series: Sequence[tuple[str, str, str, str]] = (
        ("median_s", _("median"), "#0b4f9c", ""),
        ("mean_s", _("mean"), "#c75000", 'stroke-dasharray="6 4"'),
        ("p90_s", _("90th percentile"), "#6b6b6b", 'stroke-dasharray="2 3"'),
    )
    top = nice_ceiling(max((_hours(r[k]) for r in rows for k, *_x in series), default=0))
    left, right, top_y, bottom = 60.0, 700.0, 20.0, 230.0
    parts = _open(
        ident,
        720,
        300,
        _("Week on week"),
        _("Median, mean and 90th percentile of the release time, hours, by week of arrival."),
    )
    for i in range(5):
        y = bottom - (bottom - top_y) * i / 4
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(left - 6, y + 4, f"{top * i / 4:g} h", "end"))
    step = (right - left) / max(len(rows) - 1, 1)

    def xy(i: int, seconds: float | None) -> tuple[float, float]:
        x = left + i * step if len(rows) > 1 else (left + right) / 2
        return x, bottom - (bottom - top_y) * _hours(seconds) / top

    for key, name, colour, dash in series:
        points = [xy(i, r[key]) for i, r in enumerate(rows)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" {dash}/>'
            )
        for (x, y), r in zip(points, rows, strict=True):
            tip = f"{r['week'].isoformat()}, {name}: {words.duration(r[key])} (n = {r['count']:,})"
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    for i, r in enumerate(rows):
        x, _y = xy(i, 0)
        parts.append(_text(x, bottom + 16, r["week"].isoformat(), "middle", 'font-size="10"'))
    for i, (_key, name, colour, dash) in enumerate(series):
        lx = left + i * 180
        parts.append(
            f'<line x1="{lx}" x2="{lx + 26}" y1="{bottom + 44}" y2="{bottom + 44}" '
            f'stroke="{colour}" stroke-width="2" {dash}/>'
        )
        parts.append(_text(lx + 32, bottom + 48, name))
    parts.append("</svg>")
    return "\n".join(parts)


def heatmap_svg(study: Study, *, translate: Translate = _same, ident: str = "trs-heatmap") -> str:
    """Cells of weekday x hour of arrival, coloured by the mean release time.

    The mean rather than the median: waits for office hours hit the few controlled
    consignments, which move the mean of a cell and hardly its median.
    """
    _ = translate
    cells = {(r["weekday"], r["hour"]): r for r in study.heatmap.iter_rows(named=True)}
    means = [_hours(r["mean_s"]) for r in cells.values()]
    low, high = (min(means), max(means)) if means else (0.0, 0.0)
    left, top_y, size = 90.0, 20.0, 25.0
    parts = _open(
        ident,
        720,
        top_y + 7 * size + 70,
        _("Release time by hour and weekday of arrival"),
        _("Mean release time, hours, for each hour of each weekday of arrival")
        + f" ({study.params.timezone}); "
        + _("empty cells had no arrivals."),
    )
    for day in range(1, 8):
        y = top_y + (day - 1) * size
        parts.append(_text(left - 6, y + size / 2 + 4, _(words.WEEKDAYS[day - 1]), "end"))
        for hour in range(24):
            x = left + hour * size
            cell = cells.get((day, hour))
            if cell is None:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{size - 1}" height="{size - 1}" fill="#f4f4f4"/>'
                )
                continue
            value = _hours(cell["mean_s"])
            level = 0 if high <= low else round((value - low) / (high - low) * 8)
            tip = (
                f"{_(words.WEEKDAYS[day - 1])} {hour:02d}:00: "
                f"{words.duration(cell['mean_s'])} (n = {cell['count']:,})"
            )
            parts.append(
                f'<rect x="{x}" y="{y}" width="{size - 1}" height="{size - 1}" '
                f'fill="{HEAT_COLOURS[level]}"><title>{escape(tip)}</title></rect>'
            )
    for hour in range(0, 24, 3):
        x = left + hour * size + size / 2
        parts.append(_text(x, top_y + 7 * size + 14, f"{hour:02d}", "middle"))
    legend_y = top_y + 7 * size + 34
    for i, colour in enumerate(HEAT_COLOURS):
        parts.append(
            f'<rect x="{left + i * 30}" y="{legend_y}" width="30" height="12" fill="{colour}"/>'
        )
    parts.append(_text(left, legend_y + 28, f"{low:.2f} h"))
    parts.append(_text(left + 9 * 30, legend_y + 28, f"{high:.2f} h", "end"))
    parts.append("</svg>")
    return "\n".join(parts)
