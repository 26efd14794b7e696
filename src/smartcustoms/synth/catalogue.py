"""The reference data synthetic traffic is drawn from, loaded from the shipped data files.

Two files in ``smartcustoms/synth/data`` hold every number that shapes the traffic, so a
scenario is changed by editing data, not code:

* ``hs_profiles.csv`` - one row per HS 2022 subheading traded in e-commerce parcels: its
  category (apparel, footwear, electronics, ...), share of goods items, plain-language
  descriptions, log-normal value (EUR per unit) and mass (kg per unit) profiles, maximum
  quantity, the lower-duty codes a fraudster would declare instead (``misclassify_as``,
  candidates in order of preference, kept only where the tariff in use is cheaper), whether
  the goods are restricted and the innocuous code that hides them (``decoy_hs6``), an optional
  national 8-digit line, and the approximate EU third-country duty rate that justified the
  misclassification pair (documentation only: revenue comes from :mod:`smartcustoms.tariff`).
* ``world.toml`` - countries sellers ship from (currencies, cities, postal offices of exchange,
  airlines), offices of arrival with their opening hours, where buyers live (cities, postcodes,
  names, streets), express carriers, brokers, marketplaces and seller-name styles.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "Catalogue",
    "Destination",
    "Marketplace",
    "Office",
    "Operator",
    "Origin",
    "ProfileTable",
    "SellerNameStyle",
    "load_catalogue",
]


@dataclass(frozen=True)
class ProfileTable:
    """HS subheading profiles as NumPy arrays, aligned by profile index.

    Attributes:
        frame: The CSV as a frame (``hs6`` as text).
        categories: Category names; ``category`` holds indices into it.
        category: Category index per profile.
        weight: Share of goods items (unnormalised).
        value_median: Median value per unit, EUR.
        value_sigma: Log-space standard deviation of the value.
        unit_mass: Median net mass per unit, kg.
        mass_sigma: Log-space standard deviation of the mass.
        max_quantity: Largest quantity drawn for one item.
        misclassify_as: Profile index of the lower-duty code a fraudster declares instead,
            -1 where there is none: the first of ``misclassify_candidates`` whose duty rate
            is lower than the profile's own (see :meth:`with_duty_rates`).
        misclassify_candidates: Candidate lower-duty profiles, in order of preference.
        approx_duty_pct: Approximate EU duty rate from the data file (percent).
        decoy: Profile index of the innocuous code hiding restricted goods, -1 where none.
        restricted: Whether the goods are restricted (prohibitions and restrictions).
        hs6: The subheading codes, as a string Series.
        national_line: 8-digit national line or null, as a string Series.
        quantity_unit: UN/ECE Rec. 20 unit code per profile.
        descriptions: Every description variant, flattened.
        description_start: Offset of each profile's variants in ``descriptions``.
        description_count: Number of variants per profile.
    """

    frame: pl.DataFrame
    categories: tuple[str, ...]
    category: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    value_median: npt.NDArray[np.float64]
    value_sigma: npt.NDArray[np.float64]
    unit_mass: npt.NDArray[np.float64]
    mass_sigma: npt.NDArray[np.float64]
    max_quantity: npt.NDArray[np.int64]
    misclassify_as: npt.NDArray[np.int64]
    misclassify_candidates: tuple[tuple[int, ...], ...]
    approx_duty_pct: npt.NDArray[np.float64]
    decoy: npt.NDArray[np.int64]
    restricted: npt.NDArray[np.bool_]
    hs6: pl.Series
    national_line: pl.Series
    quantity_unit: pl.Series
    descriptions: pl.Series
    description_start: npt.NDArray[np.int64]
    description_count: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.weight)

    def with_duty_rates(self, rates: npt.ArrayLike) -> ProfileTable:
        """The table with ``misclassify_as`` chosen under the given duty rates.

        Args:
            rates: Duty rate (percent) of each profile's subheading, e.g. from the tariff
                schedule in use; a candidate qualifies only when strictly cheaper.
        """
        r = np.asarray(rates, dtype=np.float64)
        targets = np.full(len(self.weight), -1, dtype=np.int64)
        for i, candidates in enumerate(self.misclassify_candidates):
            cheaper = [c for c in candidates if r[c] < r[i]]
            if cheaper:
                targets[i] = cheaper[0]
        return replace(self, misclassify_as=targets)

    def index_of(self, hs6: str) -> int:
        """Profile index of a subheading.

        Raises:
            KeyError: When no profile has that code.
        """
        hits = np.flatnonzero((self.hs6 == hs6).to_numpy())
        if len(hits) == 0:
            raise KeyError(hs6)
        return int(hits[0])


@dataclass(frozen=True)
class Origin:
    """A country sellers ship from."""

    country: str
    weight: float
    postal_share: float
    currencies: dict[str, float]
    item_origins: dict[str, float]
    cities: tuple[tuple[str, str], ...]
    impc: tuple[str, ...]
    airlines: tuple[str, ...]
    s10_services: tuple[str, ...]
    postal_operator: str
    name_style: str


@dataclass(frozen=True)
class Office:
    """A customs office of arrival and its opening hours for manual work."""

    code: str
    name: str
    country: str
    timezone: str
    impc: str
    postal_operator: dict[str, str]
    hours: tuple[tuple[int, str, str], ...]

    def open_minutes(self) -> npt.NDArray[np.bool_]:
        """Open flag for each minute of the week (Monday 00:00 local = 0), 10 080 values."""
        week = np.zeros(7 * 1440, dtype=np.bool_)
        for day, opens, closes in self.hours:
            lo = day * 1440 + _minutes(opens)
            hi = day * 1440 + _minutes(closes)
            week[lo:hi] = True
        return week


@dataclass(frozen=True)
class Destination:
    """Where buyers live: one EU member state."""

    country: str
    ioss_country: str
    street_format: str
    cities: tuple[tuple[str, float, tuple[str, ...]], ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]


@dataclass(frozen=True)
class Operator:
    """An express carrier or customs broker."""

    id: str
    name: str
    country: str
    weight: float
    is_aeo: bool
    awb_prefix: str


@dataclass(frozen=True)
class Marketplace:
    """An electronic interface (marketplace) facilitating sales."""

    id: str
    name: str
    country: str
    weight: float
    files_directly: bool
    ioss_country: str
    ioss_share: float


@dataclass(frozen=True)
class SellerNameStyle:
    """Word lists that make plausible company names and addresses for one country."""

    words: tuple[str, ...]
    suffixes: tuple[str, ...]
    streets: tuple[str, ...]
    street_format: str
    pinyin: bool


@dataclass(frozen=True)
class Catalogue:
    """Everything synthetic traffic is drawn from."""

    profiles: ProfileTable
    origins: tuple[Origin, ...]
    offices: dict[str, Office]
    destinations: dict[str, Destination]
    express_carriers: tuple[Operator, ...]
    brokers: tuple[Operator, ...]
    marketplaces: tuple[Marketplace, ...]
    seller_names: dict[str, SellerNameStyle]
    rates_to_eur: dict[str, float]
    minor_units: dict[str, int]
    vague_descriptions: tuple[str, ...]
    concealing_descriptions: tuple[str, ...]
    details: dict[str, tuple[str, ...]]

    def currencies(self) -> tuple[str, ...]:
        """Every invoice currency used by some origin, sorted."""
        return tuple(sorted({c for o in self.origins for c in o.currencies}))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _profiles(raw: pl.DataFrame) -> ProfileTable:
    categories = tuple(dict.fromkeys(raw["category"].to_list()))
    hs6 = raw["hs6"]
    position = {code: i for i, code in enumerate(hs6.to_list())}

    def index_column(name: str) -> npt.NDArray[np.int64]:
        return np.array(
            [position[c] if c else -1 for c in raw[name].fill_null("").to_list()],
            dtype=np.int64,
        )

    candidates = tuple(
        tuple(position[c] for c in str(cell).split("|")) if cell else ()
        for cell in raw["misclassify_as"].to_list()
    )
    approx = raw["approx_eu_duty_pct"].cast(pl.Float64).to_numpy()

    variants = [str(d).split("|") for d in raw["descriptions"].to_list()]
    counts = np.array([len(v) for v in variants], dtype=np.int64)
    table = ProfileTable(
        frame=raw,
        categories=categories,
        category=np.array([categories.index(c) for c in raw["category"]], dtype=np.int64),
        weight=raw["weight"].cast(pl.Float64).to_numpy(),
        value_median=raw["value_eur_median"].cast(pl.Float64).to_numpy(),
        value_sigma=raw["value_sigma"].cast(pl.Float64).to_numpy(),
        unit_mass=raw["unit_mass_kg"].cast(pl.Float64).to_numpy(),
        mass_sigma=raw["mass_sigma"].cast(pl.Float64).to_numpy(),
        max_quantity=raw["max_quantity"].cast(pl.Int64).to_numpy(),
        misclassify_as=np.full(len(raw), -1, dtype=np.int64),
        misclassify_candidates=candidates,
        approx_duty_pct=approx,
        decoy=index_column("decoy_hs6"),
        restricted=raw["restricted"].cast(pl.Boolean).to_numpy(),
        hs6=hs6,
        national_line=raw["national_line"],
        quantity_unit=raw["quantity_unit"],
        descriptions=pl.Series("descriptions", [d for v in variants for d in v], pl.String),
        description_start=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        description_count=counts,
    )
    return table.with_duty_rates(approx)


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


@cache
def load_catalogue() -> Catalogue:
    """Load the shipped reference data (cached; treat the result as read-only)."""
    data = resources.files("smartcustoms.synth") / "data"
    with resources.as_file(data / "hs_profiles.csv") as path:
        raw = pl.read_csv(
            path,
            schema_overrides={
                "hs6": pl.String,
                "misclassify_as": pl.String,
                "decoy_hs6": pl.String,
                "national_line": pl.String,
                "restricted": pl.Boolean,
            },
        )
    world = tomllib.loads((data / "world.toml").read_text(encoding="utf-8"))
    origins = tuple(
        Origin(
            country=code,
            weight=float(o["weight"]),
            postal_share=float(o["postal_share"]),
            currencies={k: float(v) for k, v in o["currencies"].items()},
            item_origins={k: float(v) for k, v in o["item_origins"].items()},
            cities=tuple((str(c), str(p)) for c, p in o["cities"]),
            impc=_tuple_of_str(o["impc"]),
            airlines=_tuple_of_str(o["airlines"]),
            s10_services=_tuple_of_str(o["s10_services"]),
            postal_operator=str(o["postal_operator"]),
            name_style=str(o["name_style"]),
        )
        for code, o in world["origins"].items()
    )
    offices = {
        code: Office(
            code=code,
            name=str(o["name"]),
            country=str(o["country"]),
            timezone=str(o["timezone"]),
            impc=str(o["impc"]),
            postal_operator={k: str(v) for k, v in o["postal_operator"].items()},
            hours=tuple((int(d), str(a), str(b)) for d, a, b in o["hours"]),
        )
        for code, o in world["offices"].items()
    }
    destinations = {
        code: Destination(
            country=code,
            ioss_country=str(d["ioss_country"]),
            street_format=str(d["street_format"]),
            cities=tuple(
                (str(c[0]), float(c[1]), tuple(str(p) for p in c[2:])) for c in d["cities"]
            ),
            first_names=_tuple_of_str(d["first_names"]),
            last_names=_tuple_of_str(d["last_names"]),
            streets=_tuple_of_str(d["streets"]),
        )
        for code, d in world["destinations"].items()
    }

    def operators(key: str) -> tuple[Operator, ...]:
        return tuple(
            Operator(
                id=str(o["id"]),
                name=str(o["name"]),
                country=str(o["country"]),
                weight=float(o["weight"]),
                is_aeo=bool(o["is_aeo"]),
                awb_prefix=str(o.get("awb_prefix", "")),
            )
            for o in world[key]
        )

    descriptions = world["descriptions"]
    return Catalogue(
        profiles=_profiles(raw),
        origins=origins,
        offices=offices,
        destinations=destinations,
        express_carriers=operators("express_carriers"),
        brokers=operators("brokers"),
        marketplaces=tuple(
            Marketplace(
                id=str(m["id"]),
                name=str(m["name"]),
                country=str(m["country"]),
                weight=float(m["weight"]),
                files_directly=bool(m["files_directly"]),
                ioss_country=str(m["ioss_country"]),
                ioss_share=float(m["ioss_share"]),
            )
            for m in world["marketplaces"]
        ),
        seller_names={
            style: SellerNameStyle(
                words=_tuple_of_str(s["words"]),
                suffixes=_tuple_of_str(s["suffixes"]),
                streets=_tuple_of_str(s["streets"]),
                street_format=str(s["street_format"]),
                pinyin=bool(s.get("pinyin", False)),
            )
            for style, s in world["seller_names"].items()
        },
        rates_to_eur={k: float(v) for k, v in world["generation_rates_to_eur"].items()},
        minor_units={k: int(v) for k, v in world["minor_units"].items()},
        vague_descriptions=_tuple_of_str(descriptions["vague"]),
        concealing_descriptions=_tuple_of_str(descriptions["concealing"]),
        details={k: _tuple_of_str(v) for k, v in descriptions["details"].items()},
    )
