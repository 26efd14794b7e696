"""Analyst pages: rules and watch lists, model evaluation, drift.

The pages call the services the API's analyst routes call (``docs/api-analysts.md``), with
the same gate: analysts and admins; another role gets ``403`` as from the API, an unknown
ruleset ``404``. Forms carry the session's CSRF token.

* ``/portal/rules`` - the rules in force, every uploaded ruleset, and a form to check or
  upload a rules file with its watch lists (files or pasted text). Problems are listed all
  at once with file, line and message; nothing is stored when there is an error.
* ``/portal/rules/{id}`` - one ruleset's files, warnings and rule hits; activate or retire.
* ``/portal/models`` - trained models and the evaluation of ``GET /api/v1/models/evaluation``
  with bar charts drawn here as inline SVG (no JavaScript); every chart's numbers are in a
  table beside it.
* ``/portal/drift`` - score drift and the PSI of each model feature, with a bar chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from smartcustoms.access import Principal, Role
from smartcustoms.api.routers.analyst import (
    EvaluationRow,
    FeatureDriftReport,
    evaluation_rows,
    feature_drift,
)
from smartcustoms.errors import (
    ConflictError,
    InsufficientLabelsError,
    InvalidInputError,
    ModelNotFoundError,
    Problem,
)
from smartcustoms.platform import SmartCustoms
from smartcustoms.portal.csrf import check_csrf
from smartcustoms.portal.i18n import translations
from smartcustoms.portal.pages import PORTAL_PREFIX, page_platform, page_principal
from smartcustoms.portal.rendering import NAV_PAGES, language_of, render
from smartcustoms.portal.vocabulary import N_
from smartcustoms.store.rulesets import (
    MAX_NOTE,
    RuleFileText,
    RulesetRecord,
    check_ruleset_files,
    load_ruleset_files,
)

__all__ = ["RANKERS", "Bar", "BarChart", "bar_chart", "nice_top", "router"]

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)

_ANALYSTS: Final = (Role.ANALYST, Role.ADMIN)
_MAX_FILE: Final = 5_000_000  # as the API's RuleFile
_MAX_LISTS: Final = 50
_MAX_ID: Final = 2**31 - 1

for _entry in (
    ("/portal/rules", N_("Rules"), tuple(r.value for r in _ANALYSTS)),
    ("/portal/models", N_("Models"), tuple(r.value for r in _ANALYSTS)),
    ("/portal/drift", N_("Drift"), tuple(r.value for r in _ANALYSTS)),
):
    if _entry not in NAV_PAGES:
        NAV_PAGES.append(_entry)

RANKERS: Final = {
    "smartcustoms": N_("smartcustoms model"),
    "plain_gbm": N_("plain LightGBM"),
    "rules": N_("rules alone"),
    "random": N_("random selection"),
}
"""How the evaluation's rankers are named on the page (best first: the charts' order)."""

_STATUS_WORDS: Final = (N_("draft"), N_("active"), N_("retired"))  # shown as _(status)


# ---------------------------------------------------------------- access


def _analyst(request: Request) -> Principal:
    """The logged-in analyst or admin (log-in page when logged out, else ``403``)."""
    return page_principal(request, _ANALYSTS)


# ---------------------------------------------------------------- charts


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its box in SVG user units, its series, and its value in words.

    ``text`` names series, category and value (the bar's tooltip); ``value`` is the value
    alone, drawn at the end of horizontal bars; ``overflow`` marks a bar cut at the axis end.
    """

    x: float
    y: float
    width: float
    height: float
    series: int
    text: str
    value: str
    overflow: bool = False


@dataclass(frozen=True, slots=True)
class BarChart:
    """Geometry of a bar chart, computed here so the template only draws.

    Vertical charts group bars by category (``groups``: x centre and label); horizontal
    charts have one bar per category (``groups``: y centre and label). ``ticks`` are value
    gridlines (position and label), ``marks`` threshold lines (position, label, and the
    label's offset so that close thresholds do not print over each other).
    """

    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    horizontal: bool
    bars: tuple[Bar, ...]
    groups: tuple[tuple[float, str], ...]
    ticks: tuple[tuple[float, str], ...]
    marks: tuple[tuple[float, str, float], ...] = ()


def nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least ``value`` (an axis end)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * (1 - 1e-9))


def bar_chart(
    categories: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    top_value: float,
    percent: bool = True,
    horizontal: bool = False,
    marks: Sequence[tuple[float, str]] = (),
) -> BarChart:
    """Lay out bars: ``values[s][c]`` is series ``s`` in category ``c`` (``None``: no bar).

    Args:
        categories: Category labels (budgets, features).
        series: Series names (rankers); one for a plain chart.
        values: One row per series, one value per category.
        top_value: The value axis runs from 0 to this, rounded up by :func:`nice_top`;
            larger values are cut at the end of the axis (and flagged ``overflow``).
        percent: Label values as percentages (0.42 -> ``42.0 %``).
        horizontal: Bars grow to the right, one row per category (long labels).
        marks: Values to draw as labelled lines across the plot (thresholds).
    """
    top_value = nice_top(top_value)

    def shown(value: float) -> str:
        return f"{value * 100:.1f} %" if percent else f"{value:.3g}"

    def tick(value: float) -> str:
        return f"{value * 100:g} %" if percent else f"{value:g}"

    ticks_at = [top_value * i / 4 for i in range(5)]
    bars: list[Bar] = []
    if horizontal:
        row, left, right, top = 22.0, 220.0, 640.0, 30.0
        height = top + row * len(categories) + 30
        span = right - left
        for c, label in enumerate(categories):
            value = values[0][c]
            if value is None:
                continue
            size = max(span * min(value, top_value) / top_value, 1.0)
            bars.append(
                Bar(
                    left,
                    top + c * row + 3,
                    size,
                    row - 6,
                    0,
                    f"{label}: {shown(value)}",
                    shown(value),
                    overflow=value > top_value,
                )
            )
        groups = tuple((top + c * row + row / 2, label) for c, label in enumerate(categories))
        ticks = tuple((left + span * v / top_value, tick(v)) for v in ticks_at)
        lines = tuple(
            (left + span * min(v, top_value) / top_value, text, 12.0 * (i % 2))
            for i, (v, text) in enumerate(sorted(marks))
        )
        return BarChart(
            720, height, left, top, right, height - 30, True, tuple(bars), groups, ticks, lines
        )
    left, right, top, bottom = 56.0, 700.0, 16.0, 250.0
    slot = (right - left) / max(len(categories), 1)
    width = slot * 0.8 / max(len(series), 1)
    for s, name in enumerate(series):
        for c, label in enumerate(categories):
            value = values[s][c]
            if value is None:
                continue
            # a zero still shows as a line on the axis, telling it from a missing figure
            size = max((bottom - top) * min(value, top_value) / top_value, 1.0)
            x = left + c * slot + slot * 0.1 + s * width
            bars.append(
                Bar(
                    x,
                    bottom - size,
                    width - 2,
                    size,
                    s,
                    f"{name}, {label}: {shown(value)}",
                    shown(value),
                    overflow=value > top_value,
                )
            )
    groups = tuple((left + c * slot + slot / 2, label) for c, label in enumerate(categories))
    ticks = tuple((bottom - (bottom - top) * v / top_value, tick(v)) for v in ticks_at)
    lines = tuple(
        (bottom - (bottom - top) * min(v, top_value) / top_value, text, 0.0) for v, text in marks
    )
    return BarChart(720, 290, left, top, right, bottom, False, tuple(bars), groups, ticks, lines)


# ---------------------------------------------------------------- rules


def _rules_page(
    request: Request,
    *,
    problems: Sequence[Problem] = (),
    checked: bool = False,
    form: dict[str, str] | None = None,
    message: str = "",
    done: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    platform = page_platform(request)
    records = platform.rulesets.rulesets()
    stored = next((r for r in records if r.is_active), None)
    try:
        rules, broken = platform.rules, []
    except InvalidInputError as exc:  # the page must stay usable to put things right
        rules, broken = None, list(exc.problems)
    errors = [p for p in problems if p.severity == "error"]
    return render(
        request,
        "analyst_rules.html",
        {
            "records": records,
            "stored": stored,
            "in_force": rules,
            "broken": broken,
            "problems": list(problems),
            "errors": len(errors),
            "checked": checked,
            "form": form or {"rules_name": "rules.toml", "watchlist_name": "watchlists.toml"},
            "message": message,
            "done": done,
            "max_note": MAX_NOTE,
        },
        status_code=status_code,
    )


@router.get("/rules", response_class=HTMLResponse)
def rules(request: Request, done: Annotated[str, Query(max_length=16)] = "") -> Response:
    """The rules in force, every uploaded ruleset, and the upload form."""
    _analyst(request)
    return _rules_page(request, done=done if done in ("activated", "retired") else "")


async def _read_upload(value: Any, name: str) -> tuple[RuleFileText | None, list[Problem]]:
    """A file of the form as text (``None`` when the input was left empty)."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None, []
    data = await value.read(_MAX_FILE + 1)
    label = value.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if len(data) > _MAX_FILE:
        return None, [Problem("rules.unreadable", label, f"larger than {_MAX_FILE} bytes")]
    try:
        return RuleFileText(label or name, data.decode("utf-8")), []
    except UnicodeDecodeError:
        return None, [Problem("rules.unreadable", label, "not UTF-8 text")]


@router.post("/rules", response_class=HTMLResponse)
async def upload(request: Request) -> Response:
    """Check, or check and store as a draft, the rules file and watch lists of the form.

    Files win over pasted text. ``intent=check`` only checks; ``intent=upload`` stores a
    draft and shows it. Problems come back on this page (``422``), every one listed.
    """
    async with request.form(
        max_files=_MAX_LISTS + 1, max_fields=20, max_part_size=_MAX_FILE + 1024
    ) as data:
        form = {
            key: str(data.get(key) or "")
            for key in (
                "csrf_token",
                "intent",
                "rules_name",
                "rules_text",
                "watchlist_name",
                "watchlist_text",
                "note",
            )
        }
        problems: list[Problem] = []
        rules_file, found = await _read_upload(data.get("rules_file"), "rules.toml")
        problems.extend(found)
        lists: list[RuleFileText] = []
        for value in data.getlist("watchlist_files")[:_MAX_LISTS]:
            item, found = await _read_upload(value, "watchlists.toml")
            problems.extend(found)
            if item is not None:
                lists.append(item)
    # the rest reads and writes the database: off the event loop
    return await run_in_threadpool(_upload, request, form, rules_file, lists, problems)


def _upload(
    request: Request,
    form: dict[str, str],
    rules_file: RuleFileText | None,
    lists: list[RuleFileText],
    problems: list[Problem],
) -> Response:
    principal = _analyst(request)
    check_csrf(request.session, form.pop("csrf_token"))
    intent = form.pop("intent")
    if rules_file is None and form["rules_text"].strip():
        rules_file = RuleFileText(form["rules_name"].strip() or "rules.toml", form["rules_text"])
    if form["watchlist_text"].strip():
        name = form["watchlist_name"].strip() or "watchlists.toml"
        lists = [*lists, RuleFileText(name, form["watchlist_text"])]
    if rules_file is None and not problems:
        problems.append(Problem("rules.unreadable", "rules", "choose a rules file or paste one"))
    if any("\x00" in text for text in (*form.values(), *(f.content for f in lists))):
        problems.append(Problem("request.nul", "form", "NUL characters are not allowed"))
    if len(form["note"]) > MAX_NOTE:
        problems.append(Problem("ruleset.note", "note", f"at most {MAX_NOTE} characters"))
    if problems or rules_file is None:
        return _rules_page(request, problems=problems, form=form, status_code=422)
    if intent == "check":
        try:
            found = check_ruleset_files(rules_file, lists)
        except InvalidInputError as exc:  # two files with one name
            found = list(exc.problems)
        return _rules_page(request, problems=found, checked=True, form=form)
    try:
        result = page_platform(request).rulesets.add(
            rules_file, lists, actor=principal.user_id, note=form["note"].strip() or None
        )
    except ConflictError as exc:
        return _rules_page(request, message=str(exc), form=form, status_code=409)
    except InvalidInputError as exc:  # rules.invalid and duplicate file names
        return _rules_page(request, problems=exc.problems, form=form, status_code=422)
    done = "uploaded" if result.created else "unchanged"
    return RedirectResponse(f"{PORTAL_PREFIX}/rules/{result.record.id}?done={done}", 303)


RulesetId = Annotated[int, Path(ge=1, le=_MAX_ID)]


@router.get("/rules/{ruleset}", response_class=HTMLResponse)
def ruleset_page(
    request: Request, ruleset: RulesetId, done: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    """One ruleset: its files, warnings, and hits per rule."""
    _analyst(request)
    platform = page_platform(request)
    record = platform.rulesets.get(ruleset)
    return render(
        request,
        "analyst_ruleset.html",
        {**_ruleset_context(platform, record), "done": done},
    )


def _ruleset_context(platform: SmartCustoms, record: RulesetRecord) -> dict[str, Any]:
    """The files, their problems today, and rule hits: this version's rules first."""
    try:
        loaded = load_ruleset_files(record.rules, record.watchlists)
        problems = list(loaded.warnings)
        rules = [(r.id, r.version, r.description, r.lane, r.weight) for r in loaded.rules]
    except InvalidInputError as exc:  # stored before a release changed the format
        problems, rules = list(exc.problems), []
    counts = {
        (c.rule_id, c.rule_version): c for c in platform.rulesets.hit_counts(record.ruleset_id)
    }
    mine = [
        {
            "rule_id": i,
            "version": v,
            "description": d,
            "lane": lane,
            "weight": w,
            "count": counts.pop((i, v), None),
        }
        for i, v, d, lane, w in rules
    ]
    return {
        "record": record,
        "problems": problems,
        "rules": mine,
        "other_hits": sorted(counts.values(), key=lambda c: (-c.hits, c.rule_id)),
    }


def _change(request: Request, ruleset: int, csrf_token: str, *, activate: bool) -> Response:
    principal = _analyst(request)
    check_csrf(request.session, csrf_token)
    records = page_platform(request).rulesets
    if activate:
        records.activate(ruleset, actor=principal.user_id)
    else:
        records.retire(ruleset, actor=principal.user_id)
    done = "activated" if activate else "retired"
    return RedirectResponse(f"{PORTAL_PREFIX}/rules?done={done}", status_code=303)


@router.post("/rules/{ruleset}/activate")
def activate(
    request: Request, ruleset: RulesetId, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    """Make the ruleset the one in force (the next clearance batch uses it)."""
    return _change(request, ruleset, csrf_token, activate=True)


@router.post("/rules/{ruleset}/retire")
def retire(
    request: Request, ruleset: RulesetId, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    """Take the ruleset out of use (the settings' rules apply again when it was active)."""
    return _change(request, ruleset, csrf_token, activate=False)


# ---------------------------------------------------------------- models and drift


def _evaluation_charts(
    rows: Sequence[EvaluationRow], gettext: Callable[[str], str]
) -> list[dict[str, Any]]:
    """A precision chart and a revenue chart: per inspection budget, one bar per ranker.

    ``rows`` come in the order of :data:`RANKERS` (the table's order too).
    """
    names = [gettext(RANKERS[r.ranker]) if r.ranker in RANKERS else r.ranker for r in rows]
    budgets = [f"{cut.share_pct:g} %" for cut in rows[0].cuts] if rows else []
    charts = []
    for metric in ("precision", "revenue"):
        values = [[getattr(cut, metric) for cut in row.cuts] for row in rows]
        present = [v for series in values for v in series if v is not None]
        if not present:
            continue
        top = 1.0 if metric == "revenue" else max(*present, 0.05)
        charts.append(
            {
                "metric": metric,
                "legend": names,
                "chart": bar_chart(budgets, names, values, top_value=top),
            }
        )
    return charts


@router.get("/models", response_class=HTMLResponse)
def models(
    request: Request,
    test_share: Annotated[float, Query(ge=0.05, le=0.9)] = 0.3,
) -> Response:
    """Trained models and the evaluation against baselines, in tables and charts."""
    _analyst(request)
    platform = page_platform(request)
    rows: list[EvaluationRow] = []
    shortage = ""
    try:
        order = {name: i for i, name in enumerate(RANKERS)}
        rows = sorted(
            evaluation_rows(platform, test_share=test_share),
            key=lambda r: order.get(r.ranker, len(order)),
        )
    except InsufficientLabelsError as exc:
        shortage = str(exc)
    return render(
        request,
        "analyst_models.html",
        {
            "models": platform.risk_records.models(),
            "rows": rows,
            "rankers": RANKERS,
            "charts": _evaluation_charts(rows, translations(language_of(request)).gettext),
            "shortage": shortage,
            "test_share": test_share,
        },
    )


_CHART_FEATURES: Final = 20


@router.get("/drift", response_class=HTMLResponse)
def drift(request: Request) -> Response:
    """Score drift and the PSI of each feature of the active model, thresholds explained."""
    _analyst(request)
    platform = page_platform(request)
    try:
        scores = platform.targeting.drift()
        features: FeatureDriftReport | None = feature_drift(platform)
    except ModelNotFoundError:
        scores, features = None, None
    chart = None
    if features is not None:
        shown = [f for f in features.features if f.psi is not None][:_CHART_FEATURES]
        if shown:
            threshold = features.threshold
            # a few huge PSIs would squash the thresholds into the axis: the axis ends at
            # 4 x the threshold (at least 1) and longer bars are cut, their values printed
            largest = max(f.psi or 0.0 for f in shown)
            chart = bar_chart(
                [f.feature for f in shown],
                ["PSI"],
                [[f.psi for f in shown]],
                top_value=min(max(largest, threshold * 1.2), max(1.0, 4 * threshold)),
                percent=False,
                horizontal=True,
                marks=[(0.1, "0.1"), (threshold, f"{threshold:g}")],
            )
    return render(
        request,
        "analyst_drift.html",
        {"scores": scores, "features": features, "chart": chart, "chart_size": _CHART_FEATURES},
    )
