"""Lane selection under capacity, and the reasons text, for one filing, row-wise.

Mirrors :func:`smartcustoms.risk.selection.select_lanes` (called by
:meth:`smartcustoms.risk.engine.RiskEngine.assess`) on the candidate rows of ONE filing,
and ``RiskEngine._reasons`` (with the expressions of :mod:`smartcustoms.risk.explain`) on
its decisions, in plain Python on dicts: no Polars call per filing. NumPy is used once per
office x period (the random draws, cached) and for the logarithms of the draws, because
``numpy.log`` and ``math.log`` differ in the last bit for some inputs.

* :class:`UsageBook` holds the lane usage per office, period and lane (the ``used`` /
  :attr:`~smartcustoms.risk.selection.Selection.usage` frame of the batch path) as a dict.
* :class:`SingleSelector` selects the lanes of a filing's candidates and updates the book
  exactly as the batch call would, and builds the JSON reasons of its decisions.

Both methods return ``None`` ("not covered: clear this filing through the batch path")
instead of raising, and leave the book untouched when they do. They decline:

* candidates the batch path rejects (missing keys, null ids, offices or periods, repeated
  ids, unknown forced lanes or AEO statuses), rows whose keys differ, ids or offices that
  are not ``str``, periods that are not ``date``, scores that are not ``float``/``None``
  or are infinite, and usage counts beyond 2**40 (NumPy's int64 arithmetic is not
  reproduced past that);
* reasons whose numbers the batch path could not format (non-finite values, a zero
  reference median, numbers past the int64 range of its integer formatting), hits or
  decisions that lack a column the batch expressions read, unexpected value types, and a
  tie for the lowest value percentile between items whose value reasons differ (the batch
  sort is not stable, so its choice is not defined).

Every lane-policy setting (capacity, rates, random share, strategy and mix, AEO weights,
blue capacity) is ported; the policy's effective dates only change the batch notes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Final

import numpy as np
import polars as pl

from smartcustoms.risk.columns import AeoStatus, Lane
from smartcustoms.risk.policy import LanePolicy, OfficePolicy
from smartcustoms.risk.selection import USAGE_SCHEMA, select_lanes

__all__ = ["SingleSelector", "UsageBook"]

_LANES: Final = (Lane.RED.value, Lane.YELLOW.value, Lane.BLUE.value, Lane.GREEN.value)
_LANE_INDEX: Final = {lane: i for i, lane in enumerate(_LANES)}
_RED, _YELLOW, _BLUE, _GREEN = 0, 1, 2, 3
_RULE, _SCORE, _RANDOM, _DEFAULT = "rule", "score", "random", "default"
_NO_LIMIT: Final = (2**63 - 1) // 4  # the batch path's stand-in for "no capacity"
_EPS: Final = 1e-9
_MAX_COUNT: Final = 2**40
_AEO_VALUES: Final = frozenset(s.value for s in AeoStatus)
_STREAM: Final = 4  # draws cached per office x period cover groups of up to this size
_CACHE_SIZE: Final = 4096
_INT64_SAFE: Final = float(2**62)

_REQUIRED: Final = ("consignment_id", "office_of_arrival", "period", "rule_score")
_OPTIONAL: Final = ("risk_score", "expected_revenue", "forced_lane", "aeo_status")
_USAGE_SCHEMA: Final = USAGE_SCHEMA
_CANDIDATE_SCHEMA: Final = pl.Schema(
    {
        "consignment_id": pl.String(),
        "office_of_arrival": pl.String(),
        "period": pl.Date(),
        "rule_score": pl.Float64(),
    }
)

UsageKey = tuple[str | None, date | None, str]
"""(office, period, lane) of a usage row (office and period null only if read so)."""


class _DeclinedError(Exception):
    """Internal: the filing is not covered; the public methods turn this into ``None``."""


# --- usage --------------------------------------------------------------------------------


def _canonical_usage(used: pl.DataFrame) -> pl.DataFrame:
    """``used`` as the batch path reads it (cast, validated, summed per key)."""
    # An empty selection returns the usage exactly as select_lanes prepared it.
    policy = LanePolicy(
        id="usage",
        version="1",
        legal_basis="",
        effective_from=date.min,
        effective_to=None,
        default=OfficePolicy("default", 0, 0, None, 0.0, 0.0, 0.0),
    )
    empty = pl.DataFrame(schema=_CANDIDATE_SCHEMA)
    return select_lanes(empty, policy, seed=0, used=used).usage


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)


class UsageBook:
    """Lane usage per (office, period, lane): ``count``, ``by_rule`` and ``by_random``.

    The row-wise twin of the ``used`` frame that
    :func:`~smartcustoms.risk.selection.select_lanes` takes and the
    :attr:`~smartcustoms.risk.selection.Selection.usage` frame it returns. Mutable:
    :meth:`SingleSelector.select` updates it in place.
    """

    __slots__ = ("_known", "_rows")

    def __init__(self) -> None:
        self._rows: dict[UsageKey, tuple[int, int, int]] = {}
        self._known: set[tuple[str | None, date | None]] = set()

    def copy(self) -> UsageBook:
        """An independent copy (a snapshot to restore when a later step declines)."""
        other = UsageBook()
        other._rows = dict(self._rows)
        other._known = set(self._known)
        return other

    @classmethod
    def from_frame(cls, used: pl.DataFrame | None) -> UsageBook:
        """A book holding ``used`` (``None``: empty).

        Raises:
            InvalidInputError: ``used`` is a frame the batch path rejects too.
        """
        book = cls()
        if used is not None:
            book.add_frame(used)
        return book

    def add_frame(self, used: pl.DataFrame, *, queried: Iterable[tuple[str, date]] = ()) -> None:
        """Merge rows read from the store (counts of a key already held are summed).

        Args:
            used: Usage rows in the shape of ``RiskRecords.lane_usage``.
            queried: The (office, period) pairs the rows were read for: each becomes known
                (:meth:`knows`) even when the store had no row for it.

        Raises:
            InvalidInputError: ``used`` is a frame the batch path rejects too.
        """
        for row in _canonical_usage(used).iter_rows():
            office, period, lane, count, by_rule, by_random = row
            key: UsageKey = (office, period, lane)
            held = self._rows.get(key, (0, 0, 0))
            self._rows[key] = (held[0] + count, held[1] + by_rule, held[2] + by_random)
            self._known.add((office, period))
        self._known.update(queried)

    def add_counts(
        self,
        rows: Sequence[tuple[str, date, str, int, int, int]],
        *,
        queried: Iterable[tuple[str, date]] = (),
    ) -> None:
        """:meth:`add_frame` for rows read as ``RiskRecords.lane_usage_rows`` gives them.

        The rows are summed per key exactly as the batch path sums its ``used`` frame, with
        no frame built; a row the batch path would refuse (an unknown lane, a value of
        another type) goes through :meth:`add_frame`, which raises as the batch does.
        """
        summed: dict[UsageKey, tuple[int, int, int]] = {}
        for row in rows:
            office, period, lane, count, by_rule, by_random = row
            if (
                lane not in _LANE_INDEX
                or type(office) is not str
                or type(period) is not date
                or not all(type(n) is int and abs(n) < _MAX_COUNT for n in row[3:])
            ):
                self.add_frame(
                    pl.DataFrame([list(r) for r in rows], schema=_USAGE_SCHEMA, orient="row"),
                    queried=queried,
                )
                return
            key: UsageKey = (office, period, lane)
            held = summed.get(key, (0, 0, 0))
            summed[key] = (held[0] + count, held[1] + by_rule, held[2] + by_random)
        for key, (count, by_rule, by_random) in summed.items():
            held = self._rows.get(key, (0, 0, 0))
            self._rows[key] = (held[0] + count, held[1] + by_rule, held[2] + by_random)
            self._known.add((key[0], key[1]))
        self._known.update(queried)

    def knows(self, office: str, period: date) -> bool:
        """Whether usage of ``office`` on ``period`` is held (read or selected already)."""
        return (office, period) in self._known

    def get(self, office: str, period: date, lane: str) -> tuple[int, int, int]:
        """``(count, by_rule, by_random)`` of one lane (zeros when no row is held)."""
        return self._rows.get((office, period, lane), (0, 0, 0))

    def to_frame(self) -> pl.DataFrame:
        """The book as the batch path's usage frame (same rows, order and dtypes)."""
        keys = sorted(
            self._rows,
            key=lambda k: (_null_first(k[0]), _null_first(k[1]), _LANE_INDEX[k[2]]),
        )
        columns: dict[str, list[Any]] = {name: [] for name in _USAGE_SCHEMA}
        for key in keys:
            for name, value in zip(_USAGE_SCHEMA, (*key, *self._rows[key]), strict=True):
                columns[name].append(value)
        return pl.DataFrame(columns, schema=_USAGE_SCHEMA)

    def _apply(self, updates: Mapping[UsageKey, tuple[int, int, int]]) -> None:
        self._rows.update(updates)
        self._known.update((k[0], k[1]) for k in updates)


# --- candidates ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """One candidate, normalised as the batch path's ``_prepare`` does."""

    index: int
    cid: str
    office: str
    period: date
    rule: float | None
    risk: float | None
    revenue: float | None
    forced: int
    aeo: str | None


def _float(value: Any) -> float | None:
    """A score as the batch reads it (NaN is null); declines anything but float/None."""
    if value is None:
        return None
    if type(value) is not float or math.isinf(value):
        raise _DeclinedError
    return None if math.isnan(value) else value


def _filled(value: float | None) -> float:
    """``fill_null(0.0)`` (a negative zero stays negative)."""
    return 0.0 if value is None else value


def _text(value: Any, allowed: Iterable[str] | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        raise _DeclinedError
    return value


def _rows(candidates: Sequence[Mapping[str, Any]]) -> list[_Row]:
    keys = list(candidates[0])
    if any(name not in keys for name in _REQUIRED):
        raise _DeclinedError
    rows: list[_Row] = []
    for index, cand in enumerate(candidates):
        if list(cand) != keys:
            raise _DeclinedError
        cid = _text(cand["consignment_id"])
        office = _text(cand["office_of_arrival"])
        period = cand["period"]
        if cid is None or office is None or type(period) is not date:
            raise _DeclinedError
        forced = _text(cand.get("forced_lane"), _LANES)
        rows.append(
            _Row(
                index=index,
                cid=cid,
                office=office,
                period=period,
                rule=_float(cand["rule_score"]),
                risk=_float(cand.get("risk_score")),
                revenue=_float(cand.get("expected_revenue")),
                forced=-1 if forced is None else _LANE_INDEX[forced],
                aeo=_text(cand.get("aeo_status"), _AEO_VALUES),
            )
        )
    if len({row.cid for row in rows}) != len(rows):
        raise _DeclinedError
    return rows


# --- one office x period ------------------------------------------------------------------


@dataclass(slots=True)
class _Draws:
    """The group's generator output: ``u`` (exploration), ``tie`` and ``log(u)``."""

    u: list[float]
    tie: list[float]
    log_u: list[float]


def _generator(seed: int, office: str, period: date) -> np.random.Generator:
    digest = hashlib.blake2b(
        f"{seed}\x1f{office}\x1f{period.isoformat()}".encode(), digest_size=16
    ).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


@dataclass(slots=True)
class _Group:
    """The inputs of one office x period, rows sorted by consignment id."""

    policy: OfficePolicy
    rows: list[_Row]
    before: list[tuple[int, int, int]]  # (count, by_rule, by_random) per lane code
    draws: _Draws
    risk: list[float]
    revenue: list[float]


@dataclass(slots=True)
class _Outcome:
    """What selection gave one group: per row (sorted order) and per lane code."""

    lane: list[int]
    basis: list[str]
    random: list[bool]
    priority: list[float]
    usage: list[tuple[int, int, int]] = field(default_factory=list)


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5 + _EPS)


def _first(order: Sequence[int], eligible: Sequence[bool], k: int) -> list[int]:
    """The first ``k`` eligible positions of ``order``."""
    out: list[int] = []
    for i in order:
        if len(out) >= k:
            break
        if eligible[i]:
            out.append(i)
    return out


def _by_desc(keys: Sequence[tuple[float, ...]]) -> list[int]:
    return sorted(range(len(keys)), key=keys.__getitem__, reverse=True)


class _GroupRun:
    """Selection of one office x period (the batch ``_Run.select`` for a single group)."""

    def __init__(self, group: _Group) -> None:
        self.g = group
        pol = group.policy
        n = len(group.rows)
        self.weight = [pol.aeo_weight(row.aeo) for row in group.rows]
        self.p_risk = [r * w for r, w in zip(group.risk, self.weight, strict=True)]
        self.p_revenue = [r * w for r, w in zip(group.revenue, self.weight, strict=True)]
        tie = group.draws.tie
        draw_key = [
            lu / max(w, 1e-300) if w > 0 else -math.inf
            for lu, w in zip(group.draws.log_u, self.weight, strict=True)
        ]
        self.order_random = _by_desc([(k,) for k in draw_key])
        self.order_risk = _by_desc(list(zip(self.p_risk, tie, strict=True)))
        self.order_revenue = _by_desc(list(zip(self.p_revenue, tie, strict=True)))
        self.lane = [_GREEN] * n
        self.basis = [_DEFAULT] * n
        self.random = [False] * n
        self.taken = [row.forced >= 0 for row in group.rows]
        for i, row in enumerate(group.rows):
            if row.forced >= 0:
                self.lane[i], self.basis[i] = row.forced, _RULE

    def _mark(self, picked: list[int], code: int, basis: str) -> int:
        for i in picked:
            self.lane[i], self.basis[i], self.taken[i] = code, basis, True
            self.random[i] = basis == _RANDOM
        return len(picked)

    def _lane(self, code: int, seen: int) -> tuple[int, int, int]:
        """Fill lane ``code``; return its usage row after this call."""
        pol, before = self.g.policy, self.g.before[code]
        lane = Lane(_LANES[code])
        capacity = pol.capacity(lane)
        used_before = before[0]
        forced = sum(1 for row in self.g.rows if row.forced == code)
        remaining = max((_NO_LIMIT if capacity is None else capacity) - used_before, 0)
        target = max(_round_half_up(pol.rate(lane) * seen) - used_before, 0)
        budget = max(min(remaining, target) - forced, 0)
        by_random = 0
        if code != _BLUE:
            unforced_before = used_before - before[1]
            want = math.ceil(pol.random_share * (unforced_before + budget) - _EPS)
            k = min(max(want - before[2], 0), budget)
            eligible = [not t and w > 0 for t, w in zip(self.taken, self.weight, strict=True)]
            by_random = self._mark(_first(self.order_random, eligible, k), code, _RANDOM)
        left = budget - by_random
        by_risk = 0
        if code != _BLUE:
            k = _round_half_up(pol.risk_share * left)
            by_risk = self._mark(_first(self.order_risk, self._free(), k), code, _SCORE)
        by_revenue = self._mark(
            _first(self.order_revenue, self._free(), left - by_risk), code, _SCORE
        )
        count = used_before + forced + by_risk + by_revenue + by_random
        return (count, before[1] + forced, before[2] + by_random)

    def _free(self) -> list[bool]:
        return [not t for t in self.taken]

    def _priority(self) -> list[float]:
        share = self.g.policy.risk_share
        if share >= 1.0:
            return list(self.p_risk)
        if share <= 0.0:
            return list(self.p_revenue)
        rank_risk = _ranks(self.order_risk)
        rank_revenue = _ranks(self.order_revenue)
        return [
            max(share / a, (1.0 - share) / b) for a, b in zip(rank_risk, rank_revenue, strict=True)
        ]

    def run(self) -> _Outcome:
        """Red, yellow, blue in turn, then green; the outcome in sorted row order."""
        before = self.g.before
        seen = sum(b[0] for b in before) + len(self.g.rows)
        usage = [self._lane(code, seen) for code in (_RED, _YELLOW, _BLUE)]
        green_rule = sum(1 for row in self.g.rows if row.forced == _GREEN)
        green_default = sum(1 for b in self.basis if b == _DEFAULT)
        usage.append(
            (
                before[_GREEN][0] + green_rule + green_default,
                before[_GREEN][1] + green_rule,
                before[_GREEN][2],
            )
        )
        return _Outcome(self.lane, self.basis, self.random, self._priority(), usage)


def _ranks(order: Sequence[int]) -> list[float]:
    rank = [0.0] * len(order)
    for position, i in enumerate(order):
        rank[i] = float(position + 1)
    return rank


# --- reasons: Polars' number and JSON formatting, reproduced ------------------------------


def _float_text(value: float) -> str:
    """A float as Polars casts it to text (shortest digits; exponent outside 1e-5..1e16)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    negative, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digit_tuple))
    sci = len(digits) - 1 + exponent  # power of ten of the first significant digit
    digits = digits.rstrip("0")
    sign = "-" if negative else ""
    if -5 <= sci < 16:
        return sign + _plain(digits, sci)
    tail = "." + digits[1:] if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{tail}e{'+' if sci >= 0 else '-'}{abs(sci)}"


def _plain(digits: str, sci: int) -> str:
    """``digits`` (first significant digit at 10**sci) in positional notation."""
    if sci < 0:
        return "0." + "0" * (-sci - 1) + digits
    whole = digits[: sci + 1].ljust(sci + 1, "0")
    fraction = digits[sci + 1 :] or "0"
    return f"{whole}.{fraction}"


def _json_float(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "null"
    return _float_text(value)


def _json_text(value: str | None) -> str:
    if value is None:
        return "null"
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'  # nothing to escape
    return json.dumps(value, ensure_ascii=False)


def _json_object(pairs: Sequence[tuple[str, str]]) -> str:
    """A JSON object from (key, already encoded value) pairs, Polars' compact style."""
    return "{" + ",".join(f'"{k}":{v}' for k, v in pairs) + "}"  # keys are plain literals


def _round(value: float | None, decimals: int) -> float | None:
    """Polars' ``round(decimals)``: scale, round half to even, unscale (sign kept)."""
    if value is None:
        return None
    scale = 10.0**decimals
    scaled = value * scale
    if not math.isfinite(scaled):
        return scaled / scale
    rounded = float(round(scaled))
    if rounded == 0.0:
        rounded = math.copysign(0.0, scaled)
    return rounded / scale


def _round_int(value: float) -> int:
    """Polars' ``round(0).cast(Int64)`` (declines where the strict cast would fail)."""
    if not math.isfinite(value) or abs(value) >= _INT64_SAFE:
        raise _DeclinedError
    return round(value)


def _fmt(value: float | None, decimals: int) -> str | None:
    """``explain._fmt``: fixed decimals through integer arithmetic."""
    if value is None:
        return None
    scale = 10**decimals
    scaled = _round_int(value * scale)
    whole = abs(scaled)
    sign = "-" if scaled < 0 else ""
    return f"{sign}{whole // scale}.{str(whole % scale).zfill(decimals)}"


def _checked(value: Any, kinds: tuple[type, ...]) -> Any:
    """``value`` if None or exactly one of ``kinds`` (finite when a float); else decline."""
    if value is None:
        return None
    if type(value) not in kinds or (type(value) is float and not math.isfinite(value)):
        raise _DeclinedError
    return value


def _concat(*parts: str | None) -> str | None:
    """``pl.concat_str`` / ``pl.format``: null when any part is null."""
    if any(p is None for p in parts):
        return None
    return "".join(p for p in parts if p is not None)


_NO_MODEL: Final = (
    '{"kind":"no_model","text":"no trained model was used: rules, value controls and '
    'the random share decided"}'
)
_VALUE_COLUMNS: Final = (
    "unit_value",
    "value_ref_median",
    "value_percentile",
    "value_ref_level",
    "value_ref_n",
)
_HIT_COLUMNS: Final = (
    "rule_id",
    "rule_version",
    "action_lane",
    "action_weight",
    "rule_description",
    "legal_basis",
)
_DECISION_COLUMNS: Final = (
    "consignment_id",
    "office_of_arrival",
    "aeo_status",
    "lane",
    "selection_basis",
    "is_random_pick",
    "risk_score",
    "expected_revenue",
    "model_version",
)


def _lane_reason(decision: Mapping[str, Any]) -> str:
    lane = _checked(decision["lane"], (str,))
    basis = _checked(decision["selection_basis"], (str,))
    is_random = _checked(decision["is_random_pick"], (bool,))
    if lane is None or basis is None or is_random is None:
        raise _DeclinedError
    if is_random:
        text = f"{lane}: picked at random for exploration (the minimum random share)"
    elif basis == _RULE:
        text = f"{lane}: forced by a targeting rule"
    elif basis == _SCORE:
        text = f"{lane}: among the highest priorities within the office's capacity"
    elif basis == _DEFAULT:
        text = f"{lane}: not selected for control"
    else:
        text = f"{lane}: {basis}"
    return _json_object(
        [
            ("kind", '"lane"'),
            ("lane", _json_text(lane)),
            ("basis", _json_text(basis)),
            ("text", _json_text(text)),
        ]
    )


def _rule_reason(hit: Mapping[str, Any]) -> str:
    rule_id = _checked(hit["rule_id"], (str,))
    version = _checked(hit["rule_version"], (str,))
    lane = _checked(hit["action_lane"], (str,))
    weight = _checked(hit["action_weight"], (float,))
    description = _checked(hit["rule_description"], (str,))
    legal_basis = _checked(hit["legal_basis"], (str,))
    if lane is not None:
        action = f"forces the {lane} lane"
    elif weight is not None:
        action = f"adds {_float_text(weight)} to the score"
    else:
        action = "hit"
    label = rule_id if version is None else _concat(rule_id, " v", version)
    basis = "" if legal_basis is None else f" [{legal_basis}]"
    text = _concat(
        "rule ",
        label,
        ": ",
        "no description" if description is None else description,
        " - ",
        action,
        basis,
    )
    return _json_object(
        [
            ("kind", '"rule"'),
            ("rule_id", _json_text(rule_id)),
            ("rule_version", _json_text(version)),
            ("lane", _json_text(lane)),
            ("weight", _json_float(weight)),
            ("text", _json_text(text)),
        ]
    )


def _score_reason(decision: Mapping[str, Any], currency: str) -> str:
    score = _checked(decision["risk_score"], (float,))
    revenue_value = _checked(decision["expected_revenue"], (float,))
    version = _checked(decision["model_version"], (str,))
    # the batch evaluates every branch for every row: format first, so failures decline
    percent = _fmt(None if score is None else score * 100, 1)
    revenue_text = _fmt(revenue_value, 2)
    if version is None:
        return _NO_MODEL
    revenue = (
        _concat("; expected revenue at stake ", currency, " ", revenue_text)
        if revenue_value is not None and revenue_value > 0
        else ""
    )
    text = _concat("model ", version, ": probability of non-compliance ", percent, "%", revenue)
    return _json_object(
        [
            ("kind", '"model"'),
            ("model_version", _json_text(version)),
            ("score", _json_float(_round(score, 4))),
            ("text", _json_text(text)),
        ]
    )


def _value_reason(item: Mapping[str, Any], currency: str) -> str | None:
    unit = _checked(item["unit_value"], (float,))
    median = _checked(item["value_ref_median"], (float,))
    pct = _checked(item["value_percentile"], (float,))
    level = _checked(item["value_ref_level"], (str,))
    n = _checked(item["value_ref_n"], (int,))
    if median == 0.0:
        raise _DeclinedError  # the batch divides by it before masking: not worth reproducing
    if unit is None or median is None or pct is None:
        return None
    level_text = "reference" if level is None else level
    text = (
        f"declared unit value {currency} {_fmt(unit, 2)}/kg is {_fmt(unit / median, 2)}x the"
        f" median of its {level_text} reference ({currency} {_fmt(median, 2)}/kg,"
        f" {0 if n is None else n} items); percentile {_round_int(pct)}"
    )
    return _json_object(
        [
            ("kind", '"value"'),
            ("unit_value", _json_float(_round(unit, 4))),
            ("reference_median", _json_float(_round(median, 4))),
            ("percentile", _json_float(_round(pct, 2))),
            ("reference", _json_text(level)),
            ("text", _json_text(text)),
        ]
    )


def _aeo_reason(policy: LanePolicy, office: str | None, status: str | None) -> str | None:
    if status is None:
        return None
    if office is None:
        raise _DeclinedError
    weight = policy.for_office(office).aeo_weight(status)
    who = (
        "an Authorised Economic Operator"
        if status == AeoStatus.NATIONAL.value
        else "AEO-recognised under a mutual recognition arrangement"
    )
    return _json_object(
        [
            ("kind", '"aeo"'),
            ("status", _json_text(status)),
            ("weight", _json_float(weight)),
            ("text", _json_text(f"operator is {who}: selection weight {_float_text(weight)}")),
        ]
    )


def _lowest_values(
    view: Sequence[Mapping[str, Any]], reason: Callable[[Mapping[str, Any]], str | None]
) -> dict[str, str | None]:
    """Per consignment, the value reason of its item with the lowest percentile.

    Declines when tied items (equal lowest percentile, or all null) give different reasons.
    """
    items: dict[str, list[Mapping[str, Any]]] = {}
    for item in view:
        cid = _checked(item["consignment_id"], (str,))
        if cid is None:
            raise _DeclinedError
        items.setdefault(cid, []).append(item)
    out: dict[str, str | None] = {}
    for cid, rows in items.items():
        pcts = [_checked(row["value_percentile"], (float,)) for row in rows]
        present = [p for p in pcts if p is not None]
        low = min(present) if present else None
        tied = [row for row, p in zip(rows, pcts, strict=True) if p == low]
        texts = {reason(row) for row in tied}
        if len(texts) != 1:
            raise _DeclinedError
        out[cid] = texts.pop()
    return out


# --- the selector -------------------------------------------------------------------------


class SingleSelector:
    """Lane selection and reasons for one filing, exactly as the batch path would give them.

    Args:
        policy: The lane policy of the :class:`~smartcustoms.risk.engine.RiskEngine`.
        seed: Its seed (random exploration and tie-breaks).
        currency: Its currency (reasons).
    """

    def __init__(self, policy: LanePolicy, *, seed: int, currency: str) -> None:
        self.policy = policy
        self.seed = seed
        self.currency = currency
        self._draws: OrderedDict[tuple[str, date], _Draws] = OrderedDict()

    # ------------------------------------------------------------ selection

    def select(
        self, candidates: list[dict[str, Any]], usage: UsageBook
    ) -> list[dict[str, Any]] | None:
        """The decisions of ``select_lanes(frame(candidates), policy, seed, used)``.

        Args:
            candidates: One dict per consignment of the filing, with the candidate columns
                of ``RiskEngine.assess`` (``consignment_id``, ``office_of_arrival``,
                ``period``, ``rule_score`` required).
            usage: Usage so far; updated in place to the batch call's ``usage``.

        Returns:
            The candidates (input order, values untouched) plus ``lane``,
            ``is_random_pick``, ``selection_basis`` and ``priority``; ``None`` when the
            filing is not covered (``usage`` is then left as it was).
        """
        try:
            return self._select(candidates, usage)
        except _DeclinedError:
            return None
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
            return None

    def _select(self, candidates: list[dict[str, Any]], usage: UsageBook) -> list[dict[str, Any]]:
        if not candidates:
            return []
        rows = _rows(candidates)
        all_null_risk = all(row.risk is None for row in rows)
        all_null_revenue = all(row.revenue is None for row in rows)
        groups: dict[tuple[str, date], list[_Row]] = {}
        for row in rows:
            groups.setdefault((row.office, row.period), []).append(row)
        out: list[dict[str, Any] | None] = [None] * len(rows)
        updates: dict[UsageKey, tuple[int, int, int]] = {}
        for (office, period), members in groups.items():
            members.sort(key=lambda r: r.cid)
            risk = [_filled(r.rule if all_null_risk else r.risk) for r in members]
            revenue = risk if all_null_revenue else [_filled(r.revenue) for r in members]
            before = [usage.get(office, period, lane) for lane in _LANES]
            if any(abs(v) > _MAX_COUNT for counts in before for v in counts):
                raise _DeclinedError
            group = _Group(
                policy=self.policy.for_office(office),
                rows=members,
                before=before,
                draws=self._group_draws(office, period, len(members)),
                risk=risk,
                revenue=revenue,
            )
            outcome = _GroupRun(group).run()
            for i, row in enumerate(members):
                out[row.index] = {
                    **candidates[row.index],
                    "lane": _LANES[outcome.lane[i]],
                    "is_random_pick": outcome.random[i],
                    "selection_basis": outcome.basis[i],
                    "priority": outcome.priority[i],
                }
            for lane, counts in zip(_LANES, outcome.usage, strict=True):
                updates[(office, period, lane)] = counts
        usage._apply(updates)
        return [d for d in out if d is not None]

    def _group_draws(self, office: str, period: date, n: int) -> _Draws:
        """``rng.random(n)`` twice from the group's generator, and ``numpy.log`` of the first."""
        key = (office, period)
        if n > _STREAM:
            stream = _generator(self.seed, office, period).random(2 * n)
            u = stream[:n]
            return _Draws(u.tolist(), stream[n:].tolist(), np.log(u).tolist())
        cached = self._draws.get(key)
        if cached is None:
            stream = _generator(self.seed, office, period).random(2 * _STREAM)
            cached = _Draws(stream.tolist(), stream.tolist(), np.log(stream).tolist())
            self._draws[key] = cached
            if len(self._draws) > _CACHE_SIZE:
                self._draws.popitem(last=False)
        else:
            self._draws.move_to_end(key)
        # one stream: rng.random(n) then rng.random(n) are its first 2n values
        return _Draws(cached.u[:n], cached.tie[n : 2 * n], cached.log_u[:n])

    # ------------------------------------------------------------ reasons

    def reasons(
        self,
        decisions: list[dict[str, Any]],
        view: list[dict[str, Any]],
        hits: list[dict[str, Any]],
        explained: dict[str, str],
    ) -> list[str] | None:
        """The ``reasons`` JSON of every decision, as ``RiskEngine._reasons`` builds it.

        Args:
            decisions: The engine's decision rows (``consignment_id``, ``office_of_arrival``,
                ``aeo_status``, ``lane``, ``selection_basis``, ``is_random_pick``,
                ``risk_score``, ``expected_revenue``, ``model_version``).
            view: The filing's risk-view rows after value controls (``consignment_id`` and
                the value-control columns).
            hits: The filing's rule hits, in the order of the hits frame.
            explained: What ``RiskEngine._explain_controlled`` returns for the filing
                (consignment id -> JSON list of model reasons).

        Returns:
            One JSON text per decision, in order; ``None`` when not covered.
        """
        try:
            return self._reasons(decisions, view, hits, explained)
        except _DeclinedError:
            return None
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
            return None

    def _reasons(
        self,
        decisions: list[dict[str, Any]],
        view: list[dict[str, Any]],
        hits: list[dict[str, Any]],
        explained: dict[str, str],
    ) -> list[str]:
        if any(name not in d for d in decisions for name in _DECISION_COLUMNS):
            raise _DeclinedError
        if any(name not in item for item in view for name in ("consignment_id", *_VALUE_COLUMNS)):
            raise _DeclinedError
        rules = self._rule_texts(hits)
        values = _lowest_values(view, lambda item: _value_reason(item, self.currency))
        out: list[str] = []
        for decision in decisions:
            cid = _checked(decision["consignment_id"], (str,))
            score = _score_reason(decision, self.currency)
            detail = explained.get(cid, "")[1:-1] if cid is not None else ""
            office = _checked(decision["office_of_arrival"], (str,))
            status = _checked(decision["aeo_status"], (str,))
            parts = [
                _lane_reason(decision),
                rules.get(cid) if cid is not None else None,
                detail or score,
                values.get(cid) if cid is not None else None,
                _aeo_reason(self.policy, office, status),
            ]
            out.append("[" + ",".join(p for p in parts if p is not None) + "]")
        return out

    def _rule_texts(self, hits: list[dict[str, Any]]) -> dict[str, str]:
        """Per consignment, its rule reasons joined by commas (hits order kept)."""
        if not hits or "action_lane" not in hits[0]:
            return {}
        by_id: dict[str, list[str]] = {}
        for hit in hits:
            if any(name not in hit for name in ("consignment_id", *_HIT_COLUMNS)):
                raise _DeclinedError
            cid = _checked(hit["consignment_id"], (str,))
            if cid is None:
                raise _DeclinedError
            by_id.setdefault(cid, []).append(_rule_reason(hit))
        return {cid: ",".join(texts) for cid, texts in by_id.items()}
