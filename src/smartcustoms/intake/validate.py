"""Vectorised validation: every problem of every record, with a stable code and a path.

Checks are Polars expressions over the whole batch (see :class:`~.problems.Check`); nothing is
evaluated record by record, and nothing stops at the first problem. Codes and their meaning
are in :data:`~smartcustoms.intake.problems.PROBLEM_CODES`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

import polars as pl

from smartcustoms.intake.batch import PATH, FieldLabel, ParsedBatch
from smartcustoms.intake.problems import Check, empty_problems, run_checks
from smartcustoms.intake.reference import TRANSPORT_MODES, countries, currencies
from smartcustoms.model import columns as c
from smartcustoms.model.columns import RECORD, column_catalogue
from smartcustoms.tariff import Nomenclature, load_nomenclature

__all__ = [
    "REQUIRED_CONSIGNMENT_COLUMNS",
    "REQUIRED_ITEM_COLUMNS",
    "ValidationContext",
    "normalise_codes",
    "s10_check_digit",
    "validate_batch",
]

REQUIRED_CONSIGNMENT_COLUMNS: Final = (
    *(col.name for col in column_catalogue() if col.frame == "consignments" and col.required),
    c.FILER_ID,
)
"""Consignment-frame columns a filing must carry (the filer must identify itself)."""

REQUIRED_ITEM_COLUMNS: Final = tuple(
    col.name
    for col in column_catalogue()
    if col.frame == "items" and col.required and col.name != c.CONSIGNMENT_ID
)
"""Goods-item columns a filing must carry."""

_COUNTRY_COLUMNS: Final = (
    c.COUNTRY_OF_DISPATCH,
    c.COUNTRY_OF_DESTINATION,
    *(f"{role}_country" for role in c.PARTY_ROLES),
)
_S10_WEIGHTS: Final = (8, 6, 4, 2, 3, 5, 9, 7)


@dataclass(frozen=True)
class ValidationContext:
    """Reference data and limits validation needs.

    Attributes:
        now: The present, for the sane date window (UTC).
        max_days_past: Oldest acceptable date, in days before ``now``.
        max_days_future: Latest acceptable date, in days after ``now``.
        value_tolerance: Relative tolerance of item values against the declared total.
        nomenclature: HS nomenclature to check codes against.
        unchecked_code_columns: Columns whose code-list check is skipped, for sources whose
            codes are anonymised (a column map declares them).
    """

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    max_days_past: int = 365
    max_days_future: int = 60
    value_tolerance: Decimal = Decimal("0.01")
    nomenclature: Nomenclature = field(default_factory=load_nomenclature)
    unchecked_code_columns: frozenset[str] = frozenset()


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an 8-digit serial number (weights 8 6 4 2 3 5 9 7, mod 11)."""
    total = sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def _s10_expr(col: str) -> pl.Expr:
    """Vectorised S10 check digit of the serial in characters 3-10 of ``col``."""
    total = pl.sum_horizontal(
        pl.col(col).str.slice(2 + i, 1).cast(pl.Int32, strict=False) * w
        for i, w in enumerate(_S10_WEIGHTS)
    )
    check = 11 - total % 11
    return pl.when(check == 10).then(0).when(check == 11).then(5).otherwise(check)


def normalise_codes(
    consignments: pl.DataFrame, items: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Upper-case code columns and strip HS codes of dots and spaces (``6109.10`` -> ``610910``).

    Filers write codes in many harmless ways; normalising before validation means a code is
    judged on what it says, not on how it was typed.
    """
    code_cols = [
        col
        for col in (*_COUNTRY_COLUMNS, c.CURRENCY, c.POSTAL_ITEM_ID)
        if col in consignments.columns
    ]
    # rechunk: adapters may hand over frames concatenated from several parts, and some
    # Polars 2.1 expressions (is_first_distinct) can panic on multi-chunk columns
    consignments = consignments.rechunk().with_columns(pl.col(code_cols).str.to_uppercase())
    items = items.rechunk().with_columns(
        pl.col(c.HS_CODE).str.replace_all(r"[.\s]", ""),
        pl.col(c.ORIGIN_COUNTRY).str.to_uppercase(),
    )
    return consignments, items


def _required(batch: ParsedBatch, cols: Iterable[str], prefix: str = "") -> list[Check]:
    checks = []
    for col in cols:
        label = batch.labels.get(prefix + col, FieldLabel(col)).label
        checks.append(
            Check(
                pl.col(col).is_null(),
                "field.required",
                _path(batch, prefix + col),
                f"{label} is required",
            )
        )
    return checks


def _path(batch: ParsedBatch, key: str) -> pl.Expr:
    lab = batch.labels.get(key, FieldLabel(key.removeprefix("item.")))
    if lab.absolute:
        return pl.lit(lab.label)
    return pl.concat_str(pl.col(PATH), pl.lit(batch.separator + lab.label)).str.strip_prefix(
        batch.separator
    )


def _consignment_checks(batch: ParsedBatch, ctx: ValidationContext) -> list[Check]:
    checks = _required(batch, REQUIRED_CONSIGNMENT_COLUMNS)
    known_countries = list(countries())
    for col in _COUNTRY_COLUMNS:
        if col in ctx.unchecked_code_columns:
            continue
        checks.append(
            Check(
                pl.col(col).is_not_null() & ~pl.col(col).is_in(known_countries),
                "country.unknown",
                _path(batch, col),
                pl.format("{} is not an ISO 3166-1 alpha-2 country code", pl.col(col)),
            )
        )
    if c.CURRENCY not in ctx.unchecked_code_columns:
        checks.append(
            Check(
                pl.col(c.CURRENCY).is_not_null() & ~pl.col(c.CURRENCY).is_in(list(currencies())),
                "currency.unknown",
                _path(batch, c.CURRENCY),
                pl.format("{} is not an ISO 4217 currency code", pl.col(c.CURRENCY)),
            )
        )
    s10 = pl.col(c.POSTAL_ITEM_ID)
    well_formed = s10.str.contains(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$") & s10.str.slice(11, 2).is_in(
        known_countries
    )
    checks += [
        Check(
            s10.is_not_null() & ~well_formed,
            "s10.format",
            _path(batch, c.POSTAL_ITEM_ID),
            pl.format("{} is not a UPU S10 item id (2 letters, 9 digits, ISO country code)", s10),
        ),
        Check(
            s10.is_not_null()
            & well_formed
            & (s10.str.slice(10, 1).cast(pl.Int32, strict=False) != _s10_expr(c.POSTAL_ITEM_ID)),
            "s10.check_digit",
            _path(batch, c.POSTAL_ITEM_ID),
            pl.format(
                "{} has check digit {}, expected {}",
                s10,
                s10.str.slice(10, 1),
                _s10_expr(c.POSTAL_ITEM_ID).cast(pl.String),
            ),
        ),
        Check(
            pl.col(c.TRANSPORT_MODE).is_not_null()
            & ~pl.col(c.TRANSPORT_MODE).is_in(list(TRANSPORT_MODES)),
            "transport_mode.unknown",
            _path(batch, c.TRANSPORT_MODE),
            pl.format(
                "{} is not a UN/ECE Rec. 19 mode of transport (0-9)", pl.col(c.TRANSPORT_MODE)
            ),
        ),
    ]
    for col in (c.TOTAL_VALUE, c.TOTAL_GROSS_MASS_KG, "total_packages"):
        checks.append(
            Check(
                pl.col(col) <= 0,
                "value.not_positive",
                _path(batch, col),
                pl.format(f"{col} must be positive, got {{}}", pl.col(col).cast(pl.String)),
            )
        )
    for col in (c.TRANSPORT_COST, c.INSURANCE_COST):
        checks.append(
            Check(
                pl.col(col) < 0,
                "value.not_positive",
                _path(batch, col),
                pl.format(f"{col} must not be negative, got {{}}", pl.col(col).cast(pl.String)),
            )
        )
    lo = ctx.now - timedelta(days=ctx.max_days_past)
    hi = ctx.now + timedelta(days=ctx.max_days_future)
    for col in (c.FILED_AT, c.EXPECTED_ARRIVAL_AT):
        checks.append(
            Check(
                (pl.col(col) < lo) | (pl.col(col) > hi),
                "date.out_of_window",
                _path(batch, col),
                pl.format(
                    f"{{}} is outside the accepted window {lo:%Y-%m-%d} .. {hi:%Y-%m-%d}",
                    pl.col(col).dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
                ),
            )
        )
    dup = pl.col(c.CONSIGNMENT_ID).is_not_null() & ~pl.col(c.CONSIGNMENT_ID).is_first_distinct()
    checks.append(
        Check(
            dup,
            "consignment.duplicate",
            _path(batch, c.CONSIGNMENT_ID),
            pl.format(
                "consignment {} appears more than once in this batch", pl.col(c.CONSIGNMENT_ID)
            ),
        )
    )
    return checks


def _item_checks(batch: ParsedBatch, ctx: ValidationContext) -> list[Check]:
    checks = _required(batch, REQUIRED_ITEM_COLUMNS, prefix="item.")
    nom = ctx.nomenclature
    hs = pl.col(c.HS_CODE)
    n = hs.str.len_chars()
    well_formed = hs.str.contains(r"^[0-9]+$") & n.is_in([2, 4, 6, 8, 10])
    level_known = (
        pl.when(n == 2)
        .then(hs.is_in(list(nom.chapters)))
        .when(n == 4)
        .then(hs.is_in(list(nom.headings)))
        .otherwise(hs.str.slice(0, 6).is_in(list(nom.subheadings)))
    )
    checks += [
        Check(
            hs.is_not_null() & ~well_formed,
            "hs.format",
            _path(batch, "item." + c.HS_CODE),
            pl.format("{} is not an HS code of 2, 4, 6, 8 or 10 digits", hs),
        ),
        Check(
            hs.is_not_null() & well_formed & ~level_known,
            "hs.unknown",
            _path(batch, "item." + c.HS_CODE),
            pl.format(
                "{} does not exist in HS 2022{}",
                hs,
                pl.when(n > 6)
                .then(pl.lit(" (its 6-digit subheading is unknown)"))
                .otherwise(pl.lit("")),
            ),
        ),
    ]
    if c.ORIGIN_COUNTRY not in ctx.unchecked_code_columns:
        checks.append(
            Check(
                pl.col(c.ORIGIN_COUNTRY).is_not_null()
                & ~pl.col(c.ORIGIN_COUNTRY).is_in(list(countries())),
                "country.unknown",
                _path(batch, "item." + c.ORIGIN_COUNTRY),
                pl.format("{} is not an ISO 3166-1 alpha-2 country code", pl.col(c.ORIGIN_COUNTRY)),
            )
        )
    for col in (c.VALUE, c.NET_MASS_KG, c.GROSS_MASS_KG, c.QUANTITY):
        checks.append(
            Check(
                pl.col(col) <= 0,
                "value.not_positive",
                _path(batch, "item." + col),
                pl.format(f"{col} must be positive, got {{}}", pl.col(col).cast(pl.String)),
            )
        )
    checks += [
        Check(
            pl.col(c.GROSS_MASS_KG) < pl.col(c.NET_MASS_KG),
            "mass.gross_below_net",
            _path(batch, "item." + c.GROSS_MASS_KG),
            pl.format(
                "gross mass {} kg is below net mass {} kg",
                pl.col(c.GROSS_MASS_KG),
                pl.col(c.NET_MASS_KG),
            ),
        ),
        Check(
            pl.col(c.ITEM_NO).is_not_null()
            & pl.struct(RECORD, c.CONSIGNMENT_ID, c.ITEM_NO).is_duplicated(),
            "item.duplicate",
            _path(batch, "item." + c.ITEM_NO),
            pl.format("item number {} is used more than once", pl.col(c.ITEM_NO)),
        ),
    ]
    return checks


def _total_checks(batch: ParsedBatch, items: pl.DataFrame, ctx: ValidationContext) -> list[Check]:
    """Checks that need the item sums joined onto the consignments."""
    tol = float(ctx.value_tolerance)
    total = pl.col(c.TOTAL_VALUE).cast(pl.Float64)
    item_sum = pl.col("_item_sum").cast(pl.Float64)
    return [
        Check(
            pl.col("_items_complete")
            & total.is_not_null()
            & ((item_sum - total).abs() > pl.max_horizontal(total.abs() * tol, pl.lit(0.01))),
            "value.total_mismatch",
            _path(batch, c.TOTAL_VALUE),
            pl.format(
                "item values add up to {}, the declared total is {}",
                pl.col("_item_sum").cast(pl.String),
                pl.col(c.TOTAL_VALUE).cast(pl.String),
            ),
        )
    ]


def validate_batch(
    batch: ParsedBatch,
    ctx: ValidationContext,
    *,
    consignments: pl.DataFrame | None = None,
    items: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every problem in ``batch`` beyond those found while parsing.

    Args:
        batch: The parsed batch.
        ctx: Reference data and limits.
        consignments: Normalised consignments (defaults to ``batch.consignments``).
        items: Normalised items (defaults to ``batch.items``).

    Returns:
        A problem frame (parse problems not included). Where a value failed to convert, the
        conversion problem stands alone: no ``field.required`` is reported for the same path.
    """
    cons = batch.consignments if consignments is None else consignments
    its = batch.items if items is None else items
    if batch.unchecked_code_columns:
        ctx = replace(
            ctx, unchecked_code_columns=ctx.unchecked_code_columns | batch.unchecked_code_columns
        )
    parts = [run_checks(cons, _consignment_checks(batch, ctx))]
    parts.append(run_checks(its, _item_checks(batch, ctx)))
    sums = its.group_by(c.CONSIGNMENT_ID, RECORD).agg(
        pl.col(c.VALUE).sum().alias("_item_sum"),
        pl.col(c.VALUE).is_not_null().all().alias("_items_complete"),
    )
    joined = cons.join(sums, on=[c.CONSIGNMENT_ID, RECORD], how="inner")
    parts.append(run_checks(joined, _total_checks(batch, its, ctx)))
    found = pl.concat(parts) if parts else empty_problems()
    if batch.problems.height:
        # A value that failed to convert is null now; do not also call it "required" - nor
        # the fields inside an object that had the wrong shape (``seller`` given as text).
        converted = batch.problems.filter(pl.col("severity") == "error").select(
            RECORD, pl.col("path").alias("_bad")
        )
        required = found.filter(pl.col("code") == "field.required")
        covered = required.join(converted, on=RECORD, how="inner").filter(
            (pl.col("path") == pl.col("_bad"))
            | pl.col("path").str.starts_with(pl.concat_str(pl.col("_bad"), pl.lit(".")))
        )
        required = required.join(
            covered.select(RECORD, "path").unique(), on=[RECORD, "path"], how="anti"
        )
        found = pl.concat([found.filter(pl.col("code") != "field.required"), required])
    return found
