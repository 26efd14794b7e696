"""ISO 8601 text to UTC timestamps, one parser for filings and lifecycle events."""

from __future__ import annotations

from typing import Final

import polars as pl

from smartcustoms.model.columns import TIMESTAMP

__all__ = ["DATETIME_FORMATS", "parse_timestamp"]

DATETIME_FORMATS: Final = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
)
"""Accepted date-time layouts (with or without an offset; ``Z`` counts as one)."""


def parse_timestamp(expr: pl.Expr, *, allow_dates: bool = True) -> pl.Expr:
    """Parse ISO 8601 text to a UTC :data:`TIMESTAMP`; null where it does not parse.

    Naive times are taken as UTC. With ``allow_dates`` a bare date means midnight UTC
    (filings); without it a bare date is null (an event needs its time of day).
    """
    attempts = [
        expr.str.to_datetime(fmt, strict=False, time_unit="us").dt.convert_time_zone("UTC")
        if "%#z" in fmt
        else expr.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone(
            "UTC", non_existent="null"
        )
        for fmt in DATETIME_FORMATS
    ]
    if allow_dates:
        attempts.append(
            expr.str.to_date("%Y-%m-%d", strict=False)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
        )
    return pl.coalesce(*attempts).cast(TIMESTAMP)
