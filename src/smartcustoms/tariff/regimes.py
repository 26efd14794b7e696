"""Import regimes: how duties and VAT apply to low-value consignments, as data.

A regime (TOML in ``tariff/data/regimes/``, format in ``docs/tariff-files.md``, presets and
their legal sources in ``docs/regimes.md``) states:

* the currency and its minor unit, the rounding rule, the valuation basis (CIF or FOB);
* a **duty de minimis**: consignments whose intrinsic value does not exceed it pay no customs
  duty (except goods whose HS code starts with an excluded prefix);
* an optional **flat per-item duty** for low-value consignments (an amount per distinct tariff
  subheading in the consignment), which replaces the tariff duty below its threshold;
* a **VAT de minimis**, set separately from the duty one;
* VAT **collected at sale** (IOSS-like) instead of at the border, below a threshold, when the
  consignment carries a collection number (or always, where the law makes it mandatory);
* the VAT rate: per destination country (dated) or a default; a tariff line may set its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from smartcustoms.errors import Problem, UnknownRegimeError
from smartcustoms.tariff._files import CODE_INVALID, FileReader, currency_ok, data_path

__all__ = [
    "CountryVatRate",
    "FlatDuty",
    "FlatDutyScope",
    "Regime",
    "RegimeSource",
    "ValuationBasis",
    "VatAtSale",
    "list_regimes",
    "load_regime",
    "shipped_regime_ids",
]


class ValuationBasis(StrEnum):
    """What the customs value includes.

    ``CIF``: the price of the goods plus transport and insurance to the border of entry
    (EU: Art. 71(1)(e) of Regulation (EU) No 952/2013, the Union Customs Code).
    ``FOB``: the price of the goods only (US practice under 19 U.S.C. 1401a).
    """

    CIF = "CIF"
    FOB = "FOB"


class FlatDutyScope(StrEnum):
    """Which low-value consignments pay the flat per-item duty."""

    ALL = "all"
    IOSS_ONLY = "ioss_only"


@dataclass(frozen=True, slots=True)
class RegimeSource:
    """A document a regime preset relies on.

    Attributes:
        title: Title of the act or page.
        url: Where to read it.
        date: Date of the act, publication or consultation.
        note: What it supports, and any caveat.
    """

    title: str
    url: str
    date: date | None
    note: str


@dataclass(frozen=True, slots=True)
class FlatDuty:
    """A fixed customs duty per "item" of a low-value consignment.

    Attributes:
        amount: Duty per item, in the regime currency.
        threshold: Applies when the consignment's intrinsic value does not exceed this.
        item_digits: An "item" is a distinct HS code truncated to this many digits (6: the
            tariff subheading) within the consignment; quantities do not multiply it.
        scope: ``all`` low-value consignments, or only those with a collection (IOSS) number.
        legal_basis: The act.
    """

    amount: Decimal
    threshold: Decimal
    item_digits: int
    scope: FlatDutyScope
    legal_basis: str


@dataclass(frozen=True, slots=True)
class VatAtSale:
    """VAT collected by the seller or marketplace at the time of sale (EU IOSS, UK £135).

    Attributes:
        threshold: Applies when the consignment's intrinsic value does not exceed this.
        requires_number: Only consignments carrying a collection number (``ioss_number``)
            qualify; ``False`` where collection at sale is mandatory (UK).
        excludes_excise_goods: Items whose tariff line levies excise stay at the border.
        legal_basis: The act.
    """

    threshold: Decimal
    requires_number: bool
    excludes_excise_goods: bool
    legal_basis: str


@dataclass(frozen=True, slots=True)
class CountryVatRate:
    """The standard VAT rate of a destination country over a period.

    Attributes:
        country: ISO 3166-1 alpha-2 code (Greece is ``GR``).
        pct: Rate in percent.
        effective_from: First day (``None``: since the regime starts).
        effective_to: Last day (``None``: open-ended).
    """

    country: str
    pct: Decimal
    effective_from: date | None
    effective_to: date | None


@dataclass(frozen=True)
class Regime:
    """An import regime preset or file (see the module docstring).

    Attributes:
        id: Regime id (``eu-2026-07``), the prefix of regime rule ids.
        version: Version of the file.
        name: Human title.
        description: What the regime is.
        currency: ISO 4217 currency of thresholds, amounts and results.
        minor_unit: Decimal places of the currency's minor unit (2 for EUR, 0 for JPY).
        rounding: The rounding rule; only ``half_up`` (half away from zero) is supported.
        valuation_basis: CIF or FOB.
        effective_from: First day in force (``None``: not stated).
        effective_to: Last day in force (``None``: open-ended).
        legal_basis: The acts that make the regime.
        sources: Documents relied on, with dates.
        duty_de_minimis: Duty relief threshold on intrinsic value (``None``: no relief).
        duty_relief_excluded: HS prefixes that never get the duty relief.
        flat_duty: The flat per-item duty, if any.
        vat_pct: Default VAT rate in percent.
        vat_country_rates: Dated rates by destination country.
        vat_de_minimis: VAT relief threshold on intrinsic value (``None``: no relief).
        vat_relief_excluded: HS prefixes that never get the VAT relief.
        vat_base_includes_duty: Whether duty is part of the VAT base.
        vat_base_includes_excise: Whether excise is part of the VAT base.
        vat_at_sale: Collection of VAT at sale, if the regime has it.
        notes: Caveats.
        origin: The file it was loaded from.
    """

    id: str
    version: str
    name: str
    description: str
    currency: str
    minor_unit: int
    rounding: str
    valuation_basis: ValuationBasis
    effective_from: date | None
    effective_to: date | None
    legal_basis: str
    sources: tuple[RegimeSource, ...]
    duty_de_minimis: Decimal | None
    duty_relief_excluded: tuple[str, ...]
    flat_duty: FlatDuty | None
    vat_pct: Decimal
    vat_country_rates: tuple[CountryVatRate, ...]
    vat_de_minimis: Decimal | None
    vat_relief_excluded: tuple[str, ...]
    vat_base_includes_duty: bool
    vat_base_includes_excise: bool
    vat_at_sale: VatAtSale | None
    notes: str = ""
    origin: str = ""

    def is_in_force(self, on: date) -> bool:
        """Whether ``on`` falls in the regime's stated period."""
        if self.effective_from is not None and on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to

    @property
    def vat_collection(self) -> str:
        """``at_sale_below_threshold`` or ``at_border``."""
        return "at_sale_below_threshold" if self.vat_at_sale is not None else "at_border"


# -- loading ---------------------------------------------------------------------------------

_TOP_KEYS: Final = frozenset(
    {
        "id",
        "version",
        "name",
        "description",
        "currency",
        "minor_unit",
        "rounding",
        "valuation_basis",
        "effective_from",
        "effective_to",
        "legal_basis",
        "notes",
        "sources",
        "duty",
        "flat_duty",
        "vat",
    }
)
_SOURCE_KEYS: Final = frozenset({"title", "url", "date", "note"})
_DUTY_KEYS: Final = frozenset({"de_minimis", "relief_excluded_hs_prefixes", "legal_basis"})
_FLAT_KEYS: Final = frozenset(
    {"amount", "threshold", "item_digits", "scope", "legal_basis", "note"}
)
_VAT_KEYS: Final = frozenset(
    {
        "rate_pct",
        "de_minimis",
        "relief_excluded_hs_prefixes",
        "base_includes_duty",
        "base_includes_excise",
        "legal_basis",
        "country_rates",
        "at_sale",
    }
)
_AT_SALE_KEYS: Final = frozenset(
    {"threshold", "requires_number", "excludes_excise_goods", "legal_basis"}
)
_COUNTRY_KEYS: Final = frozenset({"country", "pct", "effective_from", "effective_to"})


def shipped_regime_ids() -> list[str]:
    """Ids of the regime presets shipped with the package, sorted."""
    return sorted(p.stem for p in data_path("regimes").glob("*.toml"))


def load_regime(regime: str | Path) -> Regime:
    """Load a regime preset by id (``eu-2026-07``) or a regime TOML file by path.

    Raises:
        UnknownRegimeError: When ``regime`` is neither a preset id nor an existing file.
        InvalidTariffFileError: Listing every problem of the file with ``file:LINE``.
    """
    text = str(regime)
    if text in shipped_regime_ids() and not Path(text).is_file():
        return _load_shipped(text)
    path = Path(regime)
    if path.is_file():
        return _parse_regime(path, str(path))
    known = ", ".join(shipped_regime_ids())
    raise UnknownRegimeError(
        f"no regime preset or file {text!r}; presets: {known}",
        (Problem(code=UnknownRegimeError.code, path=text, message=f"presets: {known}"),),
    )


def list_regimes() -> list[Regime]:
    """Every shipped regime preset, sorted by id."""
    return [_load_shipped(rid) for rid in shipped_regime_ids()]


@cache
def _load_shipped(regime_id: str) -> Regime:
    return _parse_regime(data_path("regimes", f"{regime_id}.toml"), f"regimes/{regime_id}.toml")


def _section(
    reader: FileReader, data: dict[str, Any], key: str, parent: str = ""
) -> dict[str, Any]:
    raw = data.get(key, {})
    if isinstance(raw, dict):
        return raw
    table = f"{parent}.{key}" if parent else ""
    reader.add(CODE_INVALID, reader.where(table, None, key), f"[{key}] must be a table")
    return {}


def _prefixes(reader: FileReader, data: dict[str, Any], table: str) -> tuple[str, ...]:
    raw = data.get("relief_excluded_hs_prefixes", [])
    line = reader.where(table, None, "relief_excluded_hs_prefixes")
    if not isinstance(raw, list) or not all(
        isinstance(p, str) and p.isdigit() and 2 <= len(p) <= 10 for p in raw
    ):
        reader.add(
            CODE_INVALID, line, "relief_excluded_hs_prefixes must be a list of 2-10 digit strings"
        )
        return ()
    return tuple(raw)


def _parse_regime(path: Path, label: str) -> Regime:
    reader, data = FileReader.parse_toml(path, label)
    reader.check_keys(data, _TOP_KEYS)
    rid = reader.text(data, "id", required=True) or ""
    currency = reader.text(data, "currency", required=True)
    if currency is not None and not currency_ok(currency):
        reader.add(CODE_INVALID, reader.where(key="currency"), f"not an ISO 4217 code: {currency}")
    minor_unit = data.get("minor_unit", 2)
    if not isinstance(minor_unit, int) or isinstance(minor_unit, bool) or not 0 <= minor_unit <= 4:
        reader.add(CODE_INVALID, reader.where(key="minor_unit"), "minor_unit must be 0 to 4")
        minor_unit = 2
    rounding = reader.text(data, "rounding", default="half_up") or "half_up"
    if rounding != "half_up":
        reader.add(
            CODE_INVALID,
            reader.where(key="rounding"),
            f"unsupported rounding {rounding!r}: half_up",
        )
    basis_text = reader.text(data, "valuation_basis", required=True) or "CIF"
    if basis_text not in ValuationBasis.__members__:
        reader.add(
            CODE_INVALID, reader.where(key="valuation_basis"), "valuation_basis must be CIF or FOB"
        )
        basis_text = "CIF"
    start = reader.day(data, "effective_from")
    end = reader.day(data, "effective_to")
    reader.check_period(start, end)
    legal_basis = reader.text(data, "legal_basis", required=True) or ""
    sources = _sources(reader, data)

    duty = _section(reader, data, "duty")
    reader.check_keys(duty, _DUTY_KEYS, "duty")
    duty_de_minimis = reader.number(duty, "de_minimis", table="duty")
    duty_excluded = _prefixes(reader, duty, "duty")

    flat: FlatDuty | None = None
    if "flat_duty" in data:
        flat = _flat_duty(reader, _section(reader, data, "flat_duty"), legal_basis)

    vat = _section(reader, data, "vat")
    reader.check_keys(vat, _VAT_KEYS, "vat")
    vat_pct = reader.number(vat, "rate_pct", table="vat", required=True, maximum=Decimal(100))
    at_sale: VatAtSale | None = None
    if "at_sale" in vat:
        at_sale = _at_sale(reader, _section(reader, vat, "at_sale", "vat"), legal_basis)

    reader.raise_if_any("regime")
    assert currency is not None
    assert vat_pct is not None
    return Regime(
        id=rid,
        version=reader.text(data, "version") or "1",
        name=reader.text(data, "name") or rid,
        description=reader.text(data, "description") or "",
        currency=currency,
        minor_unit=minor_unit,
        rounding=rounding,
        valuation_basis=ValuationBasis(basis_text),
        effective_from=start,
        effective_to=end,
        legal_basis=legal_basis,
        sources=sources,
        duty_de_minimis=duty_de_minimis,
        duty_relief_excluded=duty_excluded,
        flat_duty=flat,
        vat_pct=vat_pct,
        vat_country_rates=_country_rates(reader, vat),
        vat_de_minimis=reader.number(vat, "de_minimis", table="vat"),
        vat_relief_excluded=_prefixes(reader, vat, "vat"),
        vat_base_includes_duty=reader.flag(vat, "base_includes_duty", default=True, table="vat"),
        vat_base_includes_excise=reader.flag(
            vat, "base_includes_excise", default=True, table="vat"
        ),
        vat_at_sale=at_sale,
        notes=reader.text(data, "notes") or "",
        origin=label,
    )


def _sources(reader: FileReader, data: dict[str, Any]) -> tuple[RegimeSource, ...]:
    raw = data.get("sources", [])
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        reader.add(CODE_INVALID, reader.where(key="sources"), "sources must be [[sources]] tables")
        return ()
    out: list[RegimeSource] = []
    for i, item in enumerate(raw):
        reader.check_keys(item, _SOURCE_KEYS, "sources", i)
        out.append(
            RegimeSource(
                title=reader.text(item, "title", table="sources", index=i, required=True) or "",
                url=reader.text(item, "url", table="sources", index=i) or "",
                date=reader.day(item, "date", table="sources", index=i),
                note=reader.text(item, "note", table="sources", index=i) or "",
            )
        )
    return tuple(out)


def _flat_duty(reader: FileReader, raw: dict[str, Any], legal_basis: str) -> FlatDuty | None:
    table = "flat_duty"
    reader.check_keys(raw, _FLAT_KEYS, table)
    amount = reader.number(raw, "amount", table=table, required=True)
    threshold = reader.number(raw, "threshold", table=table, required=True)
    digits = raw.get("item_digits", 6)
    if not isinstance(digits, int) or isinstance(digits, bool) or not 2 <= digits <= 10:
        reader.add(CODE_INVALID, reader.where(table, None, "item_digits"), "item_digits: 2 to 10")
        digits = 6
    scope = reader.text(raw, "scope", table=table, default="all") or "all"
    if scope not in {s.value for s in FlatDutyScope}:
        reader.add(CODE_INVALID, reader.where(table, None, "scope"), "scope: all or ioss_only")
        scope = "all"
    if amount is None or threshold is None:
        return None
    return FlatDuty(
        amount=amount,
        threshold=threshold,
        item_digits=digits,
        scope=FlatDutyScope(scope),
        legal_basis=reader.text(raw, "legal_basis", table=table) or legal_basis,
    )


def _at_sale(reader: FileReader, raw: dict[str, Any], legal_basis: str) -> VatAtSale | None:
    table = "vat.at_sale"
    reader.check_keys(raw, _AT_SALE_KEYS, table)
    threshold = reader.number(raw, "threshold", table=table, required=True)
    if threshold is None:
        return None
    return VatAtSale(
        threshold=threshold,
        requires_number=reader.flag(raw, "requires_number", default=True, table=table),
        excludes_excise_goods=reader.flag(raw, "excludes_excise_goods", default=True, table=table),
        legal_basis=reader.text(raw, "legal_basis", table=table) or legal_basis,
    )


def _country_rates(reader: FileReader, vat: dict[str, Any]) -> tuple[CountryVatRate, ...]:
    raw = vat.get("country_rates", [])
    line = reader.where("vat", None, "country_rates")
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        reader.add(CODE_INVALID, line, "country_rates must be a list of {country, pct} tables")
        return ()
    out: list[CountryVatRate] = []
    for entry in raw:
        unknown = set(entry) - _COUNTRY_KEYS
        if unknown:
            reader.add(CODE_INVALID, line, f"unknown keys in a country rate: {sorted(unknown)}")
        country = entry.get("country")
        if not (isinstance(country, str) and len(country) == 2 and country.isupper()):
            reader.add(CODE_INVALID, line, f"country must be ISO 3166-1 alpha-2: {country!r}")
            continue
        pct = reader.to_decimal(entry.get("pct"), f"pct of {country}", line, maximum=Decimal(100))
        start = entry.get("effective_from")
        end = entry.get("effective_to")
        start_day = None if start is None else reader.to_date(start, "effective_from", line)
        end_day = None if end is None else reader.to_date(end, "effective_to", line)
        if pct is not None:
            out.append(CountryVatRate(country, pct, start_day, end_day))
    by_country: dict[str, list[CountryVatRate]] = {}
    for rate in out:
        by_country.setdefault(rate.country, []).append(rate)
    for country, rates in by_country.items():
        ordered = sorted(rates, key=lambda r: r.effective_from or date.min)
        for a, b in pairwise(ordered):
            if a.effective_to is None or (b.effective_from or date.min) <= a.effective_to:
                reader.add(CODE_INVALID, line, f"VAT rates of {country} overlap in time")
    return tuple(out)
