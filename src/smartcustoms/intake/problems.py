"""Problem frames: every problem found in a batch, one row each, with a stable code.

A problem frame has the columns of :data:`PROBLEM_SCHEMA`. ``_record`` ties the problem to
the raw record (JSON line, CSV filing group, postal item) it was found in; a record with at
least one problem of severity ``error`` is quarantined whole. The codes are listed, with their
meaning, in :data:`PROBLEM_CODES` and in ``docs/validation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from smartcustoms.errors import Problem
from smartcustoms.model.columns import RECORD

__all__ = [
    "PROBLEM_CODES",
    "PROBLEM_SCHEMA",
    "Check",
    "empty_problems",
    "problem_rows",
    "problems_where",
    "run_checks",
    "to_problems",
]

PROBLEM_SCHEMA: Final = pl.Schema(
    [
        (RECORD, pl.Int64()),
        ("code", pl.String()),
        ("path", pl.String()),
        ("message", pl.String()),
        ("severity", pl.String()),
    ]
)

PROBLEM_CODES: Final[dict[str, str]] = {
    "encoding.invalid": "The record holds bytes that are not valid in the file's encoding.",
    "json.malformed": "The record is not valid JSON.",
    "json.not_object": "The record is valid JSON but not an object.",
    "json.schema": "A field has the wrong JSON shape (object where a value is expected, ...).",
    "file.truncated": "The file ends in the middle of a record.",
    "csv.malformed": "A CSV row has the wrong number of fields or broken quoting.",
    "field.required": "A required field is missing or empty.",
    "field.unknown": "A field is not part of the format (warning; it is ignored).",
    "value.not_number": "A numeric field does not hold a number.",
    "value.not_integer": "A field that counts things holds a fraction.",
    "value.not_positive": "A value, mass or quantity is zero or negative.",
    "value.total_mismatch": "Item values do not add up to the declared total value.",
    "mass.gross_below_net": "Gross mass is below net mass.",
    "hs.format": "An HS code is not 2, 4, 6, 8 or 10 digits.",
    "hs.unknown": "An HS code does not exist in HS 2022 at the level declared.",
    "country.unknown": "A country code is not an ISO 3166-1 alpha-2 code.",
    "currency.unknown": "A currency code is not an ISO 4217 code.",
    "s10.format": "A postal item id is not a UPU S10 identifier (AA123456789CC).",
    "s10.check_digit": "A postal item id has the wrong S10 check digit.",
    "transport_mode.unknown": "A mode of transport is not a UN/ECE Recommendation 19 code.",
    "date.unparseable": "A date or time is not in ISO 8601 (or the column map's) format.",
    "date.out_of_window": "A date lies outside the sane window around today.",
    "consignments.missing": "A filing has no consignments.",
    "items.missing": "A consignment has no goods items.",
    "item.duplicate": "Two goods items of a consignment have the same item number.",
    "consignment.duplicate": "A consignment id is used twice (in the batch or already on file).",
    "filing.conflict": "A filing id is already on file with different content.",
    "filing.filer_mismatch": "A filer submitted, through the service, a filing of another filer.",
    "exchange_rate.missing": "No exchange rate converts the currency on the filing's date.",
}
"""Every validation problem code with its meaning. Codes are stable once released."""


def empty_problems() -> pl.DataFrame:
    """An empty problem frame."""
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def problems_where(
    frame: pl.DataFrame,
    mask: pl.Expr,
    *,
    code: str,
    path: pl.Expr,
    message: pl.Expr | str,
    severity: str = "error",
) -> pl.DataFrame:
    """Vectorised problem rows for every row of ``frame`` where ``mask`` holds.

    Args:
        frame: A frame with a ``_record`` column (consignments, items, ...).
        mask: Boolean expression selecting the offending rows (nulls count as false).
        code: The problem code (must be in :data:`PROBLEM_CODES`).
        path: Expression building each problem's path.
        message: Expression or literal text for each problem's message.
        severity: ``"error"`` or ``"warning"``.

    Returns:
        A problem frame.
    """
    msg = pl.lit(message) if isinstance(message, str) else message
    return frame.filter(mask.fill_null(False)).select(
        pl.col(RECORD).cast(pl.Int64),
        pl.lit(code).alias("code"),
        path.cast(pl.String).alias("path"),
        msg.cast(pl.String).alias("message"),
        pl.lit(severity).alias("severity"),
    )


@dataclass(frozen=True)
class Check:
    """A vectorised check: rows where ``mask`` holds have the problem ``code``.

    Attributes:
        mask: Boolean expression over the frame (nulls count as false).
        code: Problem code, a key of :data:`PROBLEM_CODES`.
        path: Expression building each problem's path.
        message: Expression or literal text of each problem's message.
        severity: ``"error"`` (rejects the record) or ``"warning"``.
    """

    mask: pl.Expr
    code: str
    path: pl.Expr
    message: pl.Expr | str
    severity: str = "error"


def run_checks(frame: pl.DataFrame, checks: list[Check]) -> pl.DataFrame:
    """Evaluate ``checks`` over ``frame`` and return every problem found.

    All masks are evaluated in one pass first; problem rows are only built for the checks
    that fired, so clean data costs a single scan.
    """
    if not checks or frame.is_empty():
        return empty_problems()
    fired = frame.select(
        [c.mask.fill_null(False).any().alias(f"c{i}") for i, c in enumerate(checks)]
    ).row(0)
    parts = [
        problems_where(
            frame, c.mask, code=c.code, path=c.path, message=c.message, severity=c.severity
        )
        for c, hit in zip(checks, fired, strict=True)
        if hit
    ]
    return pl.concat(parts) if parts else empty_problems()


def problem_rows(rows: list[tuple[int, Problem]]) -> pl.DataFrame:
    """A problem frame from ``(record, Problem)`` pairs found off the vectorised path."""
    if not rows:
        return empty_problems()
    return pl.DataFrame(
        {
            RECORD: [r for r, _ in rows],
            "code": [p.code for _, p in rows],
            "path": [p.path for _, p in rows],
            "message": [p.message for _, p in rows],
            "severity": [p.severity for _, p in rows],
        },
        schema=PROBLEM_SCHEMA,
    )


def to_problems(frame: pl.DataFrame) -> list[Problem]:
    """Turn a problem frame into :class:`~smartcustoms.errors.Problem` objects, in order."""
    return [
        Problem(code=c, path=p, message=m, severity=s)
        for c, p, m, s in frame.select("code", "path", "message", "severity").iter_rows()
    ]
