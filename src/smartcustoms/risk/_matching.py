"""Vectorised set-membership and prefix matching shared by conditions and watch lists."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

__all__ = ["is_in", "prefix_in"]


def is_in(column: pl.Expr, values: Iterable[str]) -> pl.Expr:
    """Whether the string ``column`` equals one of ``values`` (null stays null)."""
    return column.is_in(pl.Series(sorted(set(values)), dtype=pl.String).implode())


def prefix_in(column: pl.Expr, prefixes: Iterable[str]) -> pl.Expr:
    """Whether the string ``column`` starts with one of ``prefixes``.

    One hash lookup per distinct prefix length (``str.slice(0, n).is_in(...)``) rather than
    one ``starts_with`` per prefix, so a list of 500 HS prefixes costs two or three passes.
    """
    by_length: dict[int, set[str]] = {}
    for prefix in prefixes:
        by_length.setdefault(len(prefix), set()).add(prefix)
    if not by_length:  # shaped like the column, not a one-row literal
        return column.is_null() & pl.lit(False)
    parts = [is_in(column.str.slice(0, n), values) for n, values in sorted(by_length.items())]
    return pl.any_horizontal(parts) if len(parts) > 1 else parts[0]
