"""Lane-selection policies as data: capacity, expected rates, random share, AEO benefits.

How many consignments an office can physically examine in a day, how many it means to send
to each lane, how much of its inspection budget it spends on random exploration and how much
less often it controls trusted traders are management decisions with a legal basis, not code.
They live in a versioned TOML file (format in ``docs/risk-lanes.md``; the shipped default is
``risk/data/policies/default.toml``):

.. code-block:: toml

    id = "default"
    version = "1"
    legal_basis = "Revised Kyoto Convention, General Annex, Chapter 6; ..."
    effective_from = 2026-01-01

    [offices.default]                      # any office not listed below
    capacity = { red = 40, yellow = 150 }  # per day; blue only if stated
    rates = { red = 0.02, yellow = 0.06, blue = 0.03 }
    random_share = 0.10                    # of the red and of the yellow budget
    strategy = "mix"                       # "risk", "revenue" or "mix"
    mix = { risk = 0.6, revenue = 0.4 }
    aeo_weights = { national = 0.5, mra = 0.6 }

    [offices.BEBRU000]                     # overrides only what it states
    capacity = { red = 12, yellow = 60 }

Every office table overrides the ``default`` one key by key (a whole inline table such as
``capacity`` counts as one key's value, merged per lane). :func:`load_policy` reports every
problem of a file at once, each as ``file.toml:LINE``.

Why each knob exists:

* **capacity** - inspection is the scarce resource; selection must never plan more red or
  yellow controls than the office can do in the period (only rule-forced lanes may exceed it,
  and that is reported), otherwise consignments wait and release times suffer (WCO Time
  Release Study).
* **random share** - a minimum share of the budget drawn at random keeps measuring the
  compliance of the whole population, so hit rates and models are not only ever trained on
  what they chose to inspect (WCO Risk Management Compendium: random selection as a control
  on profiles).
* **strategy** - rank by probability of non-compliance (``risk``), by expected revenue at
  stake (``revenue``), or split the score-based budget between both (``mix``).
* **AEO weights** - Authorised Economic Operators, and those recognised under a mutual
  recognition arrangement, are to be controlled less (WCO SAFE Framework of Standards,
  Pillar 2, AEO benefits; Art. 38 of Regulation (EU) No 952/2013, the Union Customs Code:
  fewer physical and document-based controls). A weight below 1 multiplies both their score
  priority and their chance of a random pick; 0 exempts them from random picks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from smartcustoms.datafiles import FileReader, line_of, package_data_path, parse_decimal
from smartcustoms.errors import InvalidLanePolicyError, Problem
from smartcustoms.risk.columns import AeoStatus, Lane

__all__ = [
    "CODE_INCONSISTENT",
    "CODE_INVALID",
    "CODE_MISSING",
    "CODE_NO_EXPLORATION",
    "CODE_OUT_OF_RANGE",
    "CODE_SYNTAX",
    "CODE_UNKNOWN_KEY",
    "CODE_UNREADABLE",
    "DEFAULT_OFFICE",
    "DEFAULT_RANDOM_SHARE",
    "LanePolicy",
    "OfficePolicy",
    "SelectionStrategy",
    "check_policy",
    "default_policy",
    "default_policy_path",
    "load_policy",
]

CODE_UNREADABLE: Final = "lanes.unreadable"
"""The file cannot be read (missing, not UTF-8)."""
CODE_SYNTAX: Final = "lanes.syntax"
"""The file is not valid TOML."""
CODE_MISSING: Final = "lanes.missing_key"
"""A required key is absent."""
CODE_UNKNOWN_KEY: Final = "lanes.unknown_key"
"""A key the format does not know (usually a typo)."""
CODE_INVALID: Final = "lanes.invalid_value"
"""A value of the wrong kind (text where a number is expected, a float capacity...)."""
CODE_OUT_OF_RANGE: Final = "lanes.out_of_range"
"""A number outside its range (rates, shares and weights in [0, 1], capacity >= 0)."""
CODE_INCONSISTENT: Final = "lanes.inconsistent"
"""Values that contradict each other (mix shares not summing to 1, rates above 1 in total,
``effective_to`` before ``effective_from``, ``mix`` without ``strategy = "mix"``)."""
CODE_NO_EXPLORATION: Final = "lanes.no_exploration"
"""Warning (:func:`check_policy` only): an office draws no random picks."""

DEFAULT_OFFICE: Final = "default"
"""Key of the office table that applies to every office not listed."""
DEFAULT_RANDOM_SHARE: Final = 0.10
"""Random share of the inspection budget when a policy does not state one."""

_TOP_KEYS: Final = frozenset(
    {
        "id",
        "version",
        "name",
        "description",
        "legal_basis",
        "effective_from",
        "effective_to",
        "notes",
        "offices",
    }
)
_OFFICE_KEYS: Final = frozenset(
    {"capacity", "rates", "random_share", "strategy", "mix", "aeo_weights"}
)
_CAPACITY_KEYS: Final = (Lane.RED.value, Lane.YELLOW.value, Lane.BLUE.value)
_RATE_KEYS: Final = (Lane.RED.value, Lane.YELLOW.value, Lane.BLUE.value)
_WEIGHT_KEYS: Final = (AeoStatus.NATIONAL.value, AeoStatus.MRA.value)


class SelectionStrategy(StrEnum):
    """What the score-based part of an inspection budget ranks by.

    * ``risk`` - probability of non-compliance (the rule score when no model is loaded);
    * ``revenue`` - expected revenue at stake (probability x predicted revenue);
    * ``mix`` - the score budget split between the top by risk and the top by revenue, in
      the shares the policy states.
    """

    RISK = "risk"
    REVENUE = "revenue"
    MIX = "mix"


@dataclass(frozen=True, slots=True)
class OfficePolicy:
    """The resolved selection settings of one office of arrival (or of the default).

    Attributes:
        office: Office code, or :data:`DEFAULT_OFFICE`.
        red_capacity: Physical inspections the office can do per period (a day).
        yellow_capacity: Documentary checks per period.
        blue_capacity: Post-clearance audit flags per period (``None``: unlimited).
        red_rate: Share of the period's consignments the office aims to inspect physically.
        yellow_rate: Share aimed at for documentary checks.
        blue_rate: Share flagged for post-clearance audit.
        random_share: Minimum share of the red and of the yellow budget drawn at random.
        strategy: What the rest of the budget ranks by.
        risk_share: Share of the score budget taken by the top-by-risk ranking (1 for
            ``risk``, 0 for ``revenue``, the stated share for ``mix``).
        national_weight: Selection weight of consignments of a national AEO.
        mra_weight: Selection weight of consignments of an operator recognised under an MRA.

    Raises:
        InvalidLanePolicyError: A value is out of range (built in code, not from a file).
    """

    office: str
    red_capacity: int
    yellow_capacity: int
    blue_capacity: int | None
    red_rate: float
    yellow_rate: float
    blue_rate: float
    random_share: float = DEFAULT_RANDOM_SHARE
    strategy: SelectionStrategy = SelectionStrategy.RISK
    risk_share: float = 1.0
    national_weight: float = 1.0
    mra_weight: float = 1.0

    def __post_init__(self) -> None:
        problems = [Problem(CODE_OUT_OF_RANGE, f"{self.office}.{n}", m) for n, m in self._bad()]
        if problems:
            raise InvalidLanePolicyError(
                f"office policy {self.office!r} is invalid: {problems[0].message}",
                tuple(problems),
            )

    def _bad(self) -> list[tuple[str, str]]:
        bad: list[tuple[str, str]] = []
        for name in ("red_capacity", "yellow_capacity", "blue_capacity"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 0):
                bad.append((name, f"{name} must be a whole number >= 0, got {value!r}"))
        for name in (
            "red_rate",
            "yellow_rate",
            "blue_rate",
            "random_share",
            "risk_share",
            "national_weight",
            "mra_weight",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                bad.append((name, f"{name} must be between 0 and 1, got {value!r}"))
        if self.red_rate + self.yellow_rate + self.blue_rate > 1.0 + 1e-12:
            bad.append(("rates", "red, yellow and blue rates add up to more than 1"))
        return bad

    @property
    def revenue_share(self) -> float:
        """Share of the score budget taken by the top-by-expected-revenue ranking."""
        return 1.0 - self.risk_share

    def capacity(self, lane: Lane) -> int | None:
        """Capacity per period of ``lane`` (``None``: no limit; green never has one)."""
        if lane is Lane.RED:
            return self.red_capacity
        if lane is Lane.YELLOW:
            return self.yellow_capacity
        if lane is Lane.BLUE:
            return self.blue_capacity
        return None

    def rate(self, lane: Lane) -> float:
        """Expected share of consignments sent to ``lane`` (green: what is left)."""
        if lane is Lane.RED:
            return self.red_rate
        if lane is Lane.YELLOW:
            return self.yellow_rate
        if lane is Lane.BLUE:
            return self.blue_rate
        return max(0.0, 1.0 - self.red_rate - self.yellow_rate - self.blue_rate)

    def aeo_weight(self, status: str | None) -> float:
        """Selection weight for a consignment whose operator has AEO ``status`` (or none)."""
        if status == AeoStatus.NATIONAL:
            return self.national_weight
        if status == AeoStatus.MRA:
            return self.mra_weight
        return 1.0


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """A versioned lane-selection policy: one :class:`OfficePolicy` per office, and a default.

    Attributes:
        id: Policy id (``default``).
        version: Version of the file.
        legal_basis: The acts or decisions the policy implements.
        effective_from: First day in force.
        effective_to: Last day in force (``None``: open-ended).
        default: Settings of every office not listed in :attr:`offices`.
        offices: Settings of the listed offices, defaults already merged in.
        name: Human title.
        description: What the policy is for.
        notes: Caveats.
        origin: The file it was loaded from.
    """

    id: str
    version: str
    legal_basis: str
    effective_from: date
    effective_to: date | None
    default: OfficePolicy
    offices: tuple[OfficePolicy, ...] = ()
    name: str = ""
    description: str = ""
    notes: str = ""
    origin: str = ""

    def for_office(self, office: str | None) -> OfficePolicy:
        """The settings that apply at ``office`` (the default when it is not listed)."""
        for listed in self.offices:
            if listed.office == office:
                return listed
        return self.default

    def is_in_force(self, on: date) -> bool:
        """Whether ``on`` falls within the policy's effective dates."""
        if on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to


def default_policy_path() -> Path:
    """Filesystem path of the shipped default policy (``risk/data/policies/default.toml``)."""
    return package_data_path("smartcustoms.risk", "policies", "default.toml")


def default_policy() -> LanePolicy:
    """Load the shipped default policy (a starting point to copy and adapt, not a standard)."""
    return load_policy(default_policy_path())


def load_policy(path: Path | str) -> LanePolicy:
    """Read a lane policy file, reporting every problem at once.

    Args:
        path: The TOML file.

    Returns:
        The policy, with each listed office's settings merged over the default ones.

    Raises:
        InvalidLanePolicyError: The file cannot be read or parsed, or has problems; each
            :class:`~smartcustoms.errors.Problem` has ``path`` = ``file:LINE``.
    """
    policy, reader = _read(Path(path))
    reader.raise_if_any("lane policy")
    assert policy is not None  # no error was recorded, so the policy was built
    return policy


def check_policy(path: Path | str) -> list[Problem]:
    """Every problem of a lane policy file, errors and warnings, in line order.

    Unlike :func:`load_policy` this never raises for a bad file: it is what ``risk lanes
    check`` and a policy editor show. An empty list means the file loads cleanly.

    Args:
        path: The TOML file.

    Returns:
        The problems (``severity`` ``"error"`` makes :func:`load_policy` refuse the file;
        ``"warning"`` is advice, such as an office with no random exploration).
    """
    _, reader = _read(Path(path))
    return sorted(reader.problems, key=line_of)


# --- reading ------------------------------------------------------------------------------


class _PolicyReader(FileReader):
    """The shared data-file reader, with lane-policy problem codes and a few conversions."""

    error = InvalidLanePolicyError
    code_syntax = CODE_SYNTAX
    code_missing = CODE_MISSING
    code_unknown_key = CODE_UNKNOWN_KEY
    code_invalid = CODE_INVALID
    code_unreadable = CODE_UNREADABLE

    def line(self, table: str = "", key: str | None = None) -> int:
        return self.where(table, None, key)

    def fraction(self, raw: Any, name: str, line: int) -> Decimal | None:
        """A number in [0, 1], read exactly (``0.1`` is ``Decimal("0.1")``)."""
        value = parse_decimal(raw)
        if value is None or not value.is_finite():
            self.add(CODE_INVALID, line, f"{name} must be a number, got {raw!r}")
            return None
        if not Decimal(0) <= value <= Decimal(1):
            self.add(CODE_OUT_OF_RANGE, line, f"{name} must be between 0 and 1, got {value}")
            return None
        return value

    def count(self, raw: Any, name: str, line: int) -> int | None:
        """A whole number >= 0."""
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.add(CODE_INVALID, line, f"{name} must be a whole number, got {raw!r}")
            return None
        if raw < 0:
            self.add(CODE_OUT_OF_RANGE, line, f"{name} must not be negative, got {raw}")
            return None
        return raw

    def table(self, data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add(CODE_INVALID, self.line(where, key), f"{key} must be a table")
            return None
        return value


def _read(path: Path) -> tuple[LanePolicy | None, _PolicyReader]:
    reader, data = _PolicyReader.read_toml(path)
    if data is None:
        return None, reader
    return _build(data, reader), reader


def _build(data: Mapping[str, Any], reader: _PolicyReader) -> LanePolicy | None:
    reader.check_keys(data, _TOP_KEYS, "")
    policy_id = reader.text(data, "id", required=True) or ""
    version = reader.text(data, "version", required=True) or ""
    legal_basis = reader.text(data, "legal_basis", required=True) or ""
    name = reader.text(data, "name") or ""
    description = reader.text(data, "description") or ""
    notes = reader.text(data, "notes") or ""
    start = reader.day(data, "effective_from", required=True)
    end = reader.day(data, "effective_to", required=False)
    reader.check_period(start, end, code=CODE_INCONSISTENT)
    offices_raw = reader.table(data, "offices", "")
    if offices_raw is None:
        if "offices" not in data:
            reader.add(CODE_MISSING, 1, "an [offices.default] table is required")
        return None
    if DEFAULT_OFFICE not in offices_raw:
        reader.add(CODE_MISSING, reader.line("offices"), "an [offices.default] table is required")
    raw_tables: dict[str, dict[str, Any]] = {}
    for office, raw in offices_raw.items():
        where = f"offices.{office}"
        if not isinstance(raw, Mapping):
            reader.add(CODE_INVALID, reader.line("offices", office), f"[{where}] must be a table")
            continue
        raw_tables[office] = _read_office(raw, where, reader, is_default=office == DEFAULT_OFFICE)
    default_raw = raw_tables.get(DEFAULT_OFFICE)
    resolved: dict[str, OfficePolicy | None] = {}
    if default_raw is not None:
        for office, raw in raw_tables.items():
            merged = dict(default_raw)
            for key, value in raw.items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            resolved[office] = _resolve(office, merged, raw, reader)
    if reader.errors:
        return None
    default = resolved.pop(DEFAULT_OFFICE)
    assert default is not None  # no errors means every office resolved
    assert start is not None
    offices = tuple(p for _, p in sorted(resolved.items()) if p is not None)
    return LanePolicy(
        id=policy_id,
        version=version,
        legal_basis=legal_basis,
        effective_from=start,
        effective_to=end,
        default=default,
        offices=offices,
        name=name,
        description=description,
        notes=notes,
        origin=reader.label,
    )


def _read_office(
    raw: Mapping[str, Any], where: str, reader: _PolicyReader, *, is_default: bool
) -> dict[str, Any]:
    """Convert one office table's own keys (no merging yet); record every problem."""
    reader.check_keys(raw, _OFFICE_KEYS, where)
    out: dict[str, Any] = {"_line": reader.line(where)}
    capacity = reader.table(raw, "capacity", where)
    if capacity is not None:
        reader.check_keys(capacity, _CAPACITY_KEYS, f"{where}.capacity")
        out["capacity"] = {
            lane: reader.count(
                capacity[lane], f"capacity.{lane}", reader.line(f"{where}.capacity", lane)
            )
            for lane in _CAPACITY_KEYS
            if lane in capacity
        }
    rates = reader.table(raw, "rates", where)
    if rates is not None:
        reader.check_keys(rates, _RATE_KEYS, f"{where}.rates")
        out["rates"] = {
            lane: reader.fraction(rates[lane], f"rates.{lane}", reader.line(f"{where}.rates", lane))
            for lane in _RATE_KEYS
            if lane in rates
        }
    if "random_share" in raw:
        out["random_share"] = reader.fraction(
            raw["random_share"], "random_share", reader.line(where, "random_share")
        )
    if "strategy" in raw:
        value = raw["strategy"]
        choices = ", ".join(s.value for s in SelectionStrategy)
        if isinstance(value, str) and value in SelectionStrategy._value2member_map_:
            out["strategy"] = SelectionStrategy(value)
        else:
            out["strategy"] = None
            reader.add(
                CODE_INVALID,
                reader.line(where, "strategy"),
                f"strategy must be one of {choices}, got {value!r}",
            )
    mix = reader.table(raw, "mix", where)
    if mix is not None:
        reader.check_keys(mix, ("risk", "revenue"), f"{where}.mix")
        line = reader.line(where, "mix")
        shares = {
            k: reader.fraction(mix[k], f"mix.{k}", reader.line(f"{where}.mix", k))
            for k in ("risk", "revenue")
            if k in mix
        }
        if len(shares) < 2:
            reader.add(CODE_MISSING, line, "mix must state both risk and revenue shares")
        elif None not in shares.values() and sum(v for v in shares.values() if v) != 1:
            reader.add(
                CODE_INCONSISTENT,
                line,
                f"mix shares must add up to 1, got {shares['risk']} + {shares['revenue']}",
            )
        out["mix"] = shares
        out["_mix_line"] = line
    weights = reader.table(raw, "aeo_weights", where)
    if weights is not None:
        reader.check_keys(weights, _WEIGHT_KEYS, f"{where}.aeo_weights")
        out["aeo_weights"] = {
            k: reader.fraction(
                weights[k], f"aeo_weights.{k}", reader.line(f"{where}.aeo_weights", k)
            )
            for k in _WEIGHT_KEYS
            if k in weights
        }
    if is_default:
        for key, lanes in (("capacity", ("red", "yellow")), ("rates", ("red", "yellow"))):
            given = out.get(key, {})
            missing = [lane for lane in lanes if lane not in given]
            if missing and (key in out or key not in raw):
                reader.add(
                    CODE_MISSING,
                    reader.line(where, key) if key in raw else out["_line"],
                    f"{key}.{' and '.join(missing)} required in [{where}]",
                )
    return out


def _resolve(
    office: str, merged: Mapping[str, Any], own: Mapping[str, Any], reader: _PolicyReader
) -> OfficePolicy | None:
    """Check the merged settings of one office and build it (``None`` when invalid)."""
    where = f"offices.{office}"
    capacity = merged.get("capacity", {})
    rates = merged.get("rates", {})
    weights = merged.get("aeo_weights", {})
    strategy = merged.get("strategy", SelectionStrategy.RISK)
    random_share = merged.get("random_share", Decimal(str(DEFAULT_RANDOM_SHARE)))
    rate_values = [rates.get(lane, Decimal(0)) for lane in _RATE_KEYS]
    if None not in rate_values and sum(rate_values) > 1:
        reader.add(
            CODE_INCONSISTENT,
            reader.line(where, "rates"),
            f"[offices.{office}]: red, yellow and blue rates add up to {sum(rate_values)}, more"
            " than 1",
        )
        return None
    mix = merged.get("mix")
    risk_share = Decimal(1) if strategy is not SelectionStrategy.REVENUE else Decimal(0)
    if strategy is SelectionStrategy.MIX:
        if not mix:
            reader.add(
                CODE_MISSING,
                reader.line(where, "strategy"),
                f'[offices.{office}] has strategy = "mix" but no'
                " mix = { risk = .., revenue = .. }",
            )
            return None
        risk_share = mix.get("risk")
    elif "mix" in own and strategy is not None:
        reader.add(
            CODE_INCONSISTENT,
            own["_mix_line"],
            f'[offices.{office}] states a mix but its strategy is "{strategy}";'
            ' set strategy = "mix"',
        )
        return None
    if random_share == 0 and ("random_share" in own or office == DEFAULT_OFFICE):
        reader.warn(
            CODE_NO_EXPLORATION,
            reader.line(where, "random_share"),
            f"[offices.{office}] draws no random picks: hit rates and retrained models will"
            " only ever see what the score chose",
        )
    values = (
        capacity.get("red"),
        capacity.get("yellow"),
        rates.get("red"),
        rates.get("yellow"),
        rates.get("blue", Decimal(0)),
        random_share,
        strategy,
        risk_share,
        weights.get("national", Decimal(1)),
        weights.get("mra", Decimal(1)),
    )
    if any(v is None for v in values) or ("blue" in capacity and capacity["blue"] is None):
        return None  # the problem is already recorded
    return OfficePolicy(
        office=office,
        red_capacity=capacity["red"],
        yellow_capacity=capacity["yellow"],
        blue_capacity=capacity.get("blue"),
        red_rate=float(rates["red"]),
        yellow_rate=float(rates["yellow"]),
        blue_rate=float(rates.get("blue", Decimal(0))),
        random_share=float(random_share),
        strategy=strategy,
        risk_share=float(risk_share),
        national_weight=float(weights.get("national", Decimal(1))),
        mra_weight=float(weights.get("mra", Decimal(1))),
    )
