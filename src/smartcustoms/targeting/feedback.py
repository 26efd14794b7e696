"""Control outcomes in: inspection results become the labels the risk model learns from.

An officer (or a bulk file from the inspection system) records, per consignment, whether the
control found it compliant, and optionally the corrected HS code or value, the revenue
recovered and a free-text finding. The latest result of a consignment is its label.

Every problem in a submission is reported at once (``InvalidInspectionResultError``), and a
bulk file is all-or-nothing: a broken line never leaves half a file recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import polars as pl

from smartcustoms.errors import InvalidInspectionResultError, Problem
from smartcustoms.model.columns import MONEY
from smartcustoms.store import Store
from smartcustoms.tariff import Nomenclature

__all__ = ["RESULTS", "InspectionResult", "read_results_file", "validate_results"]

RESULTS: Final = ("compliant", "noncompliant")
"""The outcomes a control can record."""

_MAX_AMOUNT: Final = Decimal(10) ** 14
_HS = re.compile(r"^\d{6}(\d{2}){0,2}$")


@dataclass(frozen=True, slots=True)
class InspectionResult:
    """One control outcome.

    Attributes:
        consignment_id: The consignment controlled.
        result: ``compliant`` or ``noncompliant``.
        officer: Who recorded it.
        corrected_hs_code: The HS code the goods really fall under, when misclassified.
        corrected_value: The value found, when undervalued (in ``currency``).
        currency: Currency of ``corrected_value`` and ``revenue_recovered``.
        revenue_recovered: Duties and taxes recovered by the control.
        finding: What the officer found, in words.
        recorded_at: When (default: now).
    """

    consignment_id: str
    result: str
    officer: str
    corrected_hs_code: str | None = None
    corrected_value: Decimal | None = None
    currency: str | None = None
    revenue_recovered: Decimal | None = None
    finding: str | None = None
    recorded_at: datetime | None = None


_SCHEMA: Final = {
    "consignment_id": pl.String(),
    "result": pl.String(),
    "corrected_hs_code": pl.String(),
    "corrected_value": MONEY,
    "currency": pl.String(),
    "revenue_recovered": MONEY,
    "finding": pl.String(),
    "officer": pl.String(),
    "recorded_at": pl.Datetime("us", "UTC"),
}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(str(value)) from None
    if not amount.is_finite():  # NaN or Infinity: no amount of money, and NaN cannot compare
        raise ValueError(str(value))
    return amount


def read_results_file(path: Path, *, officer: str) -> list[dict[str, Any]]:
    """Rows of a CSV, JSON Lines or Parquet results file, as plain dicts.

    Columns as :class:`InspectionResult`. Synthetic-traffic label files are accepted too
    (``is_noncompliant`` and ``revenue_at_stake`` instead of ``result`` and
    ``revenue_recovered``), so a demo can replay what controls would have found.
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
    elif suffix in (".jsonl", ".ndjson"):
        frame = pl.read_ndjson(path, infer_schema_length=None)
    else:
        frame = pl.read_csv(path, infer_schema=False)
    if "result" not in frame.columns and "is_noncompliant" in frame.columns:
        truth = pl.col("is_noncompliant").cast(pl.String).str.to_lowercase()
        frame = frame.with_columns(
            pl.when(truth.is_in(["true", "1"]))
            .then(pl.lit("noncompliant"))
            .when(truth.is_in(["false", "0"]))
            .then(pl.lit("compliant"))
            .otherwise(truth)
            .alias("result")
        )
        if "revenue_at_stake" in frame.columns and "revenue_recovered" not in frame.columns:
            frame = frame.with_columns(
                pl.when(pl.col("result") == "noncompliant")
                .then(pl.col("revenue_at_stake"))
                .alias("revenue_recovered")
            )
        if "fraud_type" in frame.columns and "finding" not in frame.columns:
            frame = frame.with_columns(pl.col("fraud_type").cast(pl.String).alias("finding"))
    keep = [c for c in _SCHEMA if c in frame.columns]
    rows = frame.select(keep).to_dicts()
    for row in rows:
        row.setdefault("officer", officer)
        if row.get("officer") in (None, ""):
            row["officer"] = officer
    return rows


def validate_results(
    rows: list[dict[str, Any]],
    *,
    store: Store,
    nomenclature: Nomenclature,
    source: str = "result",
) -> pl.DataFrame:
    """Check every row; return the rows as an ``inspection_results`` frame.

    Raises:
        InvalidInspectionResultError: With every problem of every row (nothing is recorded).
    """
    problems: list[Problem] = []
    clean: list[dict[str, Any]] = []
    ids = [str(r.get("consignment_id") or "") for r in rows]
    known = _known_consignments(store, [i for i in ids if i])
    now = datetime.now(UTC)
    for index, row in enumerate(rows):
        where = f"{source}[{index}]" if len(rows) > 1 else source
        cid = str(row.get("consignment_id") or "")
        if not cid:
            problems.append(Problem("inspection.missing", f"{where}.consignment_id", "required"))
        elif cid not in known:
            problems.append(
                Problem(
                    "consignment.not_found",
                    f"{where}.consignment_id",
                    f"no consignment {cid!r} on file",
                )
            )
        result = str(row.get("result") or "").strip().lower()
        if result not in RESULTS:
            problems.append(
                Problem(
                    "inspection.result",
                    f"{where}.result",
                    f"result must be one of {', '.join(RESULTS)}; got {row.get('result')!r}",
                )
            )
        hs = row.get("corrected_hs_code")
        hs = str(hs).strip() if hs not in (None, "") else None
        if hs is not None and (not _HS.match(hs) or not nomenclature.is_known(hs[:6])):
            problems.append(
                Problem(
                    "hs.unknown",
                    f"{where}.corrected_hs_code",
                    f"{hs!r} is not an HS 2022 subheading (6, 8 or 10 digits)",
                )
            )
        amounts: dict[str, Decimal | None] = {}
        for key in ("corrected_value", "revenue_recovered"):
            try:
                amounts[key] = _decimal(row.get(key))
            except ValueError:
                problems.append(
                    Problem("inspection.amount", f"{where}.{key}", f"not a number: {row[key]!r}")
                )
                amounts[key] = None
                continue
            amount = amounts[key]
            if amount is not None and amount < 0:
                problems.append(
                    Problem("inspection.amount", f"{where}.{key}", "must not be negative")
                )
            elif amount is not None and amount >= _MAX_AMOUNT:
                problems.append(
                    Problem(
                        "inspection.amount",
                        f"{where}.{key}",
                        f"must be below {_MAX_AMOUNT:,} (amounts are stored as 18 digits, 4 "
                        "decimals)",
                    )
                )
                amounts[key] = None
        recovered = amounts["revenue_recovered"]
        if result == "compliant" and recovered is not None and recovered > 0:
            problems.append(
                Problem(
                    "inspection.inconsistent",
                    f"{where}.revenue_recovered",
                    "a compliant consignment cannot have revenue recovered",
                )
            )
        if result == "compliant" and hs is not None:
            problems.append(
                Problem(
                    "inspection.inconsistent",
                    f"{where}.corrected_hs_code",
                    "a compliant consignment cannot have a corrected HS code",
                )
            )
        officer = str(row.get("officer") or "").strip()
        if not officer:
            problems.append(Problem("inspection.missing", f"{where}.officer", "required"))
        at = row.get("recorded_at")
        clean.append(
            {
                "consignment_id": cid,
                "result": result,
                "corrected_hs_code": hs,
                "corrected_value": amounts["corrected_value"],
                "currency": row.get("currency") or None,
                "revenue_recovered": recovered,
                "finding": row.get("finding") or None,
                "officer": officer,
                "recorded_at": at if isinstance(at, datetime) else now,
            }
        )
    if problems:
        raise InvalidInspectionResultError(
            f"{len(problems)} problem(s) in the inspection results; nothing was recorded",
            tuple(problems),
        )
    return pl.DataFrame(clean, schema=_SCHEMA)


def _known_consignments(store: Store, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    with store.writer() as writer:
        found = writer.lookup("consignments", "consignment_id", pl.Series(ids), [])
    return set(found["consignment_id"].to_list())
