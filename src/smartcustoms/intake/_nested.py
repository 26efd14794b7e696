"""Nested records (JSON filings, postal items) -> canonical frames, vectorised.

The input is a Polars frame straight from Arrow's JSON reader: one row per record, nested
structs and lists as the filer wrote them. A :class:`NestedLayout` says where each canonical
field sits in the record. Every field is converted to its canonical dtype; values that do not
convert become problems (``value.not_number``, ``date.unparseable``, ``json.schema``) rather
than errors, so one bad field never hides the other problems of the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from smartcustoms.intake.batch import PATH, FieldLabel
from smartcustoms.intake.problems import (
    PROBLEM_SCHEMA,
    Check,
    empty_problems,
    problems_where,
    run_checks,
)
from smartcustoms.model.columns import (
    CONSIGNMENT_ID,
    CONSIGNMENT_SCHEMA,
    ITEM_NO,
    ITEM_SCHEMA,
    MONEY,
    RECORD,
    TIMESTAMP,
)
from smartcustoms.model.timestamps import parse_timestamp

__all__ = ["NESTED_MARK", "NestedLayout", "convert_column", "normalise_nested"]

NESTED_MARK = "\x00nested:"
"""Prefix the JSON reader gives an object or list found where a single value belongs."""

_CIDX = "_cidx"
_IIDX = "_iidx"


@dataclass(frozen=True)
class NestedLayout:
    """Where each canonical field sits in a nested record.

    Attributes:
        name: Layout name (``wco-json``, ``postal``).
        filing: Canonical filing-level column -> key at the top of the record.
        filing_parties: Party role -> key at the top of the record (the filer).
        consignments_key: Key of the list of consignments; ``None`` when the record itself is
            the (only) consignment, as a postal item is.
        consignment: Canonical consignment column -> key in a consignment object.
        consignment_parties: Party role -> key in a consignment object.
        party: Party field (``id``, ``name``, ...) -> key in a party object.
        items_key: Key of the list of goods items in a consignment object.
        item: Canonical item column -> key in an item object.
        static: Canonical column -> constant value filled in by the layout (postal mode 5).
    """

    name: str
    filing: Mapping[str, str]
    filing_parties: Mapping[str, str]
    consignments_key: str | None
    consignment: Mapping[str, str]
    consignment_parties: Mapping[str, str]
    party: Mapping[str, str]
    items_key: str
    item: Mapping[str, str]
    static: Mapping[str, str] = field(default_factory=dict)

    def datetime_keys(self) -> tuple[list[str], list[str], list[str]]:
        """Source keys of datetime fields: (top level, consignment level, item level)."""

        def keys(fields: Mapping[str, str], schema: Mapping[str, pl.DataType]) -> list[str]:
            return [k for col, k in fields.items() if schema.get(col) == TIMESTAMP]

        top = keys(self.filing, CONSIGNMENT_SCHEMA)
        cons = keys(self.consignment, CONSIGNMENT_SCHEMA)
        if self.consignments_key is None:
            top, cons = top + cons, []
        return top, cons, keys(self.item, ITEM_SCHEMA)

    def labels(self) -> dict[str, FieldLabel]:
        """Canonical column -> label (path) in the filer's own terms."""
        top = self.consignments_key is not None
        out: dict[str, FieldLabel] = {}
        for col, key in self.filing.items():
            out[col] = FieldLabel(key, absolute=top)
        for role, key in self.filing_parties.items():
            for pf, pk in self.party.items():
                out[f"{role}_{pf}"] = FieldLabel(f"{key}.{pk}", absolute=top)
        for col, key in self.consignment.items():
            out[col] = FieldLabel(key)
        for role, key in self.consignment_parties.items():
            for pf, pk in self.party.items():
                out[f"{role}_{pf}"] = FieldLabel(f"{key}.{pk}")
        for col, key in self.item.items():
            out[f"item.{col}"] = FieldLabel(key)
        return out


def _is_nested(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Struct | pl.List | pl.Array)


def convert_column(src: pl.Expr, src_dtype: pl.DataType, target: pl.DataType) -> pl.Expr:
    """Expression converting a source column to its canonical dtype (null when it cannot).

    Strings are stripped and empty strings count as missing. Numbers written as JSON strings
    (``"12.50"``) are accepted, as many filers send amounts that way to keep them exact.
    """
    if isinstance(src_dtype, pl.Null):
        return pl.lit(None, dtype=target)
    if src_dtype == pl.String:
        text = src.str.strip_chars()
        src = pl.when(text == "").then(None).otherwise(text)
    if target == pl.String:
        if src_dtype == pl.Float64:
            # 12.0 -> "12", keep others as written
            return (
                pl.when(src.cast(pl.Float64) == src.cast(pl.Float64).round(0))
                .then(src.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(src.cast(pl.String))
            )
        return src.cast(pl.String)
    if target == MONEY:
        if src_dtype == pl.Float64:
            # via text, so 0.1 becomes 0.1000 and not the binary expansion of 0.1
            return src.round(6).cast(pl.String).cast(MONEY, strict=False)
        return src.cast(MONEY, strict=False)
    if target == TIMESTAMP:
        if isinstance(src_dtype, pl.Datetime):
            if src_dtype.time_zone is None:
                return src.dt.replace_time_zone("UTC").cast(TIMESTAMP)
            return src.dt.convert_time_zone("UTC").cast(TIMESTAMP)
        if isinstance(src_dtype, pl.Date):
            return src.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        if src_dtype != pl.String:
            return pl.lit(None, dtype=TIMESTAMP)
        return parse_timestamp(src)
    if target == pl.Int64 and src_dtype in (pl.Float64, pl.String):
        as_float = src.cast(pl.Float64, strict=False)
        # a whole number beyond the 64-bit range is not an integer we can keep: null, reported
        fits = (as_float == as_float.round(0)) & (as_float.abs() < 2.0**63)
        return pl.when(fits).then(as_float.cast(pl.Int64, strict=False))
    if target == pl.Boolean and src_dtype == pl.String:
        low = src.str.to_lowercase()
        return (
            pl.when(low.is_in(["true", "1", "yes", "y"]))
            .then(True)
            .when(low.is_in(["false", "0", "no", "n"]))
            .then(False)
        )
    return src.cast(target, strict=False)


def _failure_code(target: pl.DataType) -> tuple[str, str]:
    if target == TIMESTAMP:
        return "date.unparseable", "is not an ISO 8601 date or date-time"
    if target == pl.Int64:
        return "value.not_integer", "is not a whole number"
    return "value.not_number", "is not a number"


def _convert_level(
    frame: pl.DataFrame,
    fields: Mapping[str, str],
    schema: Mapping[str, pl.DataType],
    labels: Mapping[str, FieldLabel],
    label_prefix: str,
    separator: str,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Add the canonical columns of one level to ``frame``, with the problems they raise.

    Each conversion is computed once: the failure checks read the converted column instead
    of converting again.
    """
    converted: list[pl.Expr] = []
    problems: list[pl.DataFrame] = []
    checks: list[Check] = []
    final: dict[str, str] = {}
    for col, key in fields.items():
        target = schema[col]
        tmp = f"__conv_{col}"
        final[tmp] = col
        lab = labels.get(label_prefix + col, FieldLabel(key))
        path = (
            pl.lit(lab.label)
            if lab.absolute
            else pl.concat_str(pl.col(PATH), pl.lit(separator + lab.label)).str.strip_prefix(
                separator
            )
        )
        if key not in frame.columns:
            converted.append(pl.lit(None, dtype=target).alias(tmp))
            continue
        src_dtype = frame.schema[key]
        if _is_nested(src_dtype):
            problems.append(
                problems_where(
                    frame,
                    pl.col(key).is_not_null(),
                    code="json.schema",
                    path=path,
                    message=f"{lab.label} must be a single value, not an object or a list",
                )
            )
            converted.append(pl.lit(None, dtype=target).alias(tmp))
            continue
        source: pl.Expr
        if src_dtype == pl.String:
            # an object or list where a value belongs, marked by the JSON reader's fallback
            nested = pl.col(key).str.starts_with(NESTED_MARK)
            checks.append(
                Check(
                    nested,
                    "json.schema",
                    path,
                    f"{lab.label} must be a single value, not an object or a list",
                )
            )
            source = pl.when(~nested).then(pl.col(key))
        else:
            source = pl.col(key)
        converted.append(convert_column(source, src_dtype, target).alias(tmp))
        if target == pl.String and src_dtype in (pl.String, pl.Int64, pl.Float64, pl.Boolean):
            continue  # text always converts
        code, text = _failure_code(target)
        present = pl.col(key).is_not_null()
        if src_dtype == pl.String:
            present = (
                present
                & ~pl.col(key).str.starts_with(NESTED_MARK)
                & (pl.col(key).str.strip_chars() != "")
            )
        checks.append(
            Check(
                present & pl.col(tmp).is_null(),
                code,
                path,
                pl.format(f"{lab.label} {text}: {{}}", pl.col(key).cast(pl.String)),
            )
        )
    frame = frame.with_columns(converted)
    problems.append(run_checks(frame, checks))
    frame = frame.drop([c for c in final.values() if c in frame.columns]).rename(final)
    return frame, problems


def _party_columns(
    frame: pl.DataFrame,
    roles: Mapping[str, str],
    party_fields: Mapping[str, str],
    labels: Mapping[str, FieldLabel],
    separator: str,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Flatten party objects into ``<role>_<field>`` columns."""
    problems: list[pl.DataFrame] = []
    for role, key in roles.items():
        prefixed = {f"{role}_{pf}": f"{key}.{pk}" for pf, pk in party_fields.items()}
        if key in frame.columns and isinstance(frame.schema[key], pl.Struct):
            struct = frame.schema[key]
            assert isinstance(struct, pl.Struct)
            inner = {f.name for f in struct.fields}
            frame = frame.with_columns(
                pl.col(key).struct.field(pk).alias(f"{key}.{pk}")
                for pk in party_fields.values()
                if pk in inner
            )
            unknown = sorted(inner - set(party_fields.values()))
            for name in unknown:
                problems.append(_unknown(frame, pl.col(key).struct.field(name), f"{key}.{name}"))
        elif key in frame.columns and not isinstance(frame.schema[key], pl.Null):
            lab = labels.get(f"{role}_id", FieldLabel(key))
            problems.append(
                problems_where(
                    frame,
                    pl.col(key).is_not_null(),
                    code="json.schema",
                    path=pl.lit(lab.label.rsplit(".", 1)[0])
                    if lab.absolute
                    else pl.concat_str(pl.col(PATH), pl.lit(separator + key)).str.strip_prefix(
                        separator
                    ),
                    message=f"{key} must be an object (a party)",
                )
            )
        schema = {c: pl.String() for c in prefixed}
        frame, probs = _convert_level(frame, prefixed, schema, labels, "", separator)
        problems.extend(probs)
    return frame, problems


def _unknown(frame: pl.DataFrame, expr: pl.Expr, label: str) -> pl.DataFrame:
    return problems_where(
        frame,
        expr.is_not_null(),
        code="field.unknown",
        path=pl.concat_str(pl.col(PATH), pl.lit("." + label)).str.strip_prefix("."),
        message=f"{label} is not a field of this format; it was ignored",
        severity="warning",
    )


def _unknown_top(frame: pl.DataFrame, known: set[str]) -> list[pl.DataFrame]:
    out = []
    for name in frame.columns:
        if name.startswith("_") or name in known:
            continue
        out.append(_unknown(frame, pl.col(name), name))
    return out


def _list_problem(
    frame: pl.DataFrame, key: str, code: str, what: str, separator: str
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Check that ``key`` is a non-empty list of objects; return rows that are and problems."""
    path = pl.concat_str(pl.col(PATH), pl.lit(separator + key)).str.strip_prefix(separator)
    if key not in frame.columns or isinstance(frame.schema[key], pl.Null):
        return frame.clear(), [
            problems_where(frame, pl.lit(True), code=code, path=path, message=f"no {what}")
        ]
    dtype = frame.schema[key]
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Null):
        # only empty lists (or lists of nulls) in this part of the input
        return frame.clear(), [
            problems_where(frame, pl.lit(True), code=code, path=path, message=f"no {what}")
        ]
    if not (isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)):
        shape = problems_where(
            frame,
            pl.col(key).is_not_null(),
            code="json.schema",
            path=path,
            message=f"{key} must be a list of objects",
        )
        missing = problems_where(
            frame, pl.col(key).is_null(), code=code, path=path, message=f"no {what}"
        )
        return frame.clear(), [shape, missing]
    empty = pl.col(key).is_null() | (pl.col(key).list.len() == 0)
    return frame.filter(~empty), [
        problems_where(frame, empty, code=code, path=path, message=f"no {what}")
    ]


def _empty_frames(
    problems: list[pl.DataFrame],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    cons = pl.DataFrame(schema={**CONSIGNMENT_SCHEMA, RECORD: pl.Int64(), PATH: pl.String()})
    items = pl.DataFrame(schema={**ITEM_SCHEMA, RECORD: pl.Int64(), PATH: pl.String()})
    parts = [p for p in problems if p.height]
    probs = pl.concat(parts) if parts else empty_problems()
    return cons, items, probs.cast(PROBLEM_SCHEMA)


def normalise_nested(
    frame: pl.DataFrame, layout: NestedLayout, *, separator: str = "."
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Canonical consignments, items and problems from a frame of nested records.

    Args:
        frame: One row per record, with a ``_record`` column, as read from JSON.
        layout: Where the canonical fields sit.
        separator: Path separator.

    Returns:
        ``(consignments, items, problems)``; the frames carry ``_record`` and ``_path``.
    """
    labels = layout.labels()
    problems: list[pl.DataFrame] = []
    top = frame.with_columns(pl.lit("").alias(PATH), pl.col(RECORD).cast(pl.Int64))
    known_top = set(layout.filing.values()) | set(layout.filing_parties.values())
    if layout.consignments_key is None:
        known_top |= set(layout.consignment.values()) | set(layout.consignment_parties.values())
        known_top.add(layout.items_key)
    else:
        known_top.add(layout.consignments_key)
    problems.extend(_unknown_top(top, known_top))

    top, probs = _party_columns(top, layout.filing_parties, layout.party, labels, separator)
    problems.extend(probs)
    top, probs = _convert_level(top, layout.filing, CONSIGNMENT_SCHEMA, labels, "", separator)
    problems.extend(probs)
    filing_cols = list(layout.filing) + [
        f"{role}_{pf}" for role in layout.filing_parties for pf in layout.party
    ]

    # --- consignment level
    if layout.consignments_key is None:
        cons = top.with_columns(pl.lit(0, dtype=pl.Int64).alias(_CIDX))
    else:
        key = layout.consignments_key
        with_list, probs = _list_problem(top, key, "consignments.missing", "consignments", ".")
        problems.extend(probs)
        if with_list.is_empty():
            return _empty_frames(problems)
        cons = (
            with_list.select(
                RECORD,
                *filing_cols,
                pl.col(key),
                pl.int_ranges(pl.col(key).list.len()).alias(_CIDX),
            )
            .explode([key, _CIDX])
            .with_columns(pl.format(f"{key}[{{}}]", pl.col(_CIDX)).alias(PATH))
        )
        struct = cons.schema[key]
        assert isinstance(struct, pl.Struct)
        inner = [f.name for f in struct.fields]
        cons = cons.with_columns(pl.col(key).struct.field(n).alias(n) for n in inner).drop(key)
        known = (
            set(layout.consignment.values())
            | set(layout.consignment_parties.values())
            | {layout.items_key}
        )
        for name in inner:
            if name not in known:
                problems.append(_unknown(cons, pl.col(name), name))

    cons, probs = _party_columns(cons, layout.consignment_parties, layout.party, labels, separator)
    problems.extend(probs)
    cons, probs = _convert_level(
        cons, layout.consignment, CONSIGNMENT_SCHEMA, labels, "", separator
    )
    problems.extend(probs)
    cons = cons.with_columns(
        pl.lit(v, dtype=CONSIGNMENT_SCHEMA[c]).alias(c)
        for c, v in layout.static.items()
        if c in CONSIGNMENT_SCHEMA
    )

    # --- item level
    ikey = layout.items_key
    with_items, probs = _list_problem(cons, ikey, "items.missing", "goods items", separator)
    problems.extend(probs)
    if with_items.is_empty():
        with_items = pl.DataFrame(
            schema={
                RECORD: pl.Int64(),
                CONSIGNMENT_ID: pl.String(),
                PATH: pl.String(),
                ikey: pl.List(pl.Struct({"_": pl.Null()})),
            }
        )
    items = (
        with_items.select(
            RECORD,
            CONSIGNMENT_ID,
            PATH,
            pl.col(ikey),
            pl.int_ranges(pl.col(ikey).list.len()).alias(_IIDX),
        )
        .explode([ikey, _IIDX])
        .with_columns(
            pl.concat_str(pl.col(PATH), pl.format(f"{separator}{ikey}[{{}}]", pl.col(_IIDX)))
            .str.strip_prefix(separator)
            .alias(PATH)
        )
    )
    istruct = items.schema[ikey]
    assert isinstance(istruct, pl.Struct)
    inner_items = [f.name for f in istruct.fields]
    items = items.with_columns(
        pl.col(ikey).struct.field(n).alias(f"i.{n}") for n in inner_items
    ).drop(ikey)
    for name in inner_items:
        if name not in set(layout.item.values()):
            problems.append(_unknown(items, pl.col(f"i.{name}"), name))
    item_fields = {c: f"i.{k}" for c, k in layout.item.items()}
    item_labels = {f"item.{c}": FieldLabel(k) for c, k in layout.item.items()}
    items, probs = _convert_level(items, item_fields, ITEM_SCHEMA, item_labels, "item.", separator)
    problems.extend(probs)
    if ITEM_NO not in layout.item:
        # formats without item numbers (postal contents lines) number items by position
        items = items.with_columns((pl.col(_IIDX) + 1).cast(pl.Int64).alias(ITEM_NO))

    cons_out = cons.select(
        [
            pl.col(c) if c in cons.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in CONSIGNMENT_SCHEMA.items()
        ]
        + [pl.col(RECORD), pl.col(PATH)]
    )
    items_out = items.select(
        [
            pl.col(c) if c in items.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in ITEM_SCHEMA.items()
        ]
        + [pl.col(RECORD), pl.col(PATH)]
    )
    _, _, probs_out = _empty_frames(problems)
    return cons_out, items_out, probs_out
