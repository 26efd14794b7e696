"""Reasons in plain words for every lane decision.

A customs officer opening a consignment must see *why* it was selected: which rules hit
(with their ids and legal basis), which facts moved the model's score (LightGBM's exact
TreeSHAP contributions, turned into sentences), where the declared unit value sits against
its learned reference, whether it was a random exploration pick, and whether an AEO or MRA
benefit lowered its chance. Each reason is a small JSON object with a ``kind`` and a
``text``; the store keeps the list with the decision.

Reasons are built for a whole batch at once with Polars expressions (the ``*_expr``
functions); only the feature contributions of the consignments an officer will read are
turned into words in Python (:func:`model_reasons`).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import polars as pl

__all__ = [
    "REASON_KINDS",
    "aeo_reason_expr",
    "describe_feature",
    "lane_reason_expr",
    "model_reasons",
    "rule_reason_expr",
    "score_reason_expr",
    "value_reason_expr",
]

REASON_KINDS: Final = ("rule", "model", "feature", "value", "random", "aeo", "no_model", "lane")
"""The ``kind`` of every reason object."""

_COLUMN_WORDS: Final = {
    "importer_id": "importer",
    "seller_id": "seller",
    "buyer_id": "consignee",
    "filer_id": "declarant",
    "carrier_id": "carrier",
    "hs6": "HS subheading",
    "origin_country": "origin",
    "country_of_dispatch": "country of dispatch",
    "office_of_arrival": "office",
    "transport_mode": "transport mode",
    "aeo_status": "AEO status",
    "net_mass_kg": "net mass (kg)",
    "base_value": "item value",
    "dq_score": "data-quality score",
    "unit_value": "unit value per kg",
    "value_ratio": "unit value against its reference median",
    "value_z": "robust z-score of the unit value",
    "value_percentile": "percentile of the unit value in its reference",
    "value_ref_n": "size of the value reference",
    "value_ref_level": "value reference level",
}

_STAT_WORDS: Final = {
    "rate": "past non-compliance rate",
    "n": "number of past goods items",
    "n_labelled": "number of past controls",
    "revenue": "past revenue at stake",
}


def describe_feature(name: str, value: float | str | None) -> str:
    """A model feature and its value in words (``seller: past non-compliance rate 0.41``)."""
    if isinstance(value, str):
        shown = value
    else:
        shown = "missing" if value is None or not math.isfinite(value) else f"{value:.4g}"
    if name.startswith("hist_"):
        body = name.removeprefix("hist_")
        for stat in sorted(_STAT_WORDS, key=len, reverse=True):
            if body.endswith("_" + stat):
                key = body.removesuffix("_" + stat)
                parts = [_COLUMN_WORDS.get(p, p.replace("_", " ")) for p in key.split("__")]
                return f"{' x '.join(parts)}: {_STAT_WORDS[stat]} {shown}"
    words = _COLUMN_WORDS.get(name, name.replace("_", " "))
    return f"{words} {shown}"


def model_reasons(
    score: float | None,
    expected_revenue: float | None,
    model_version: str | None,
    contributions: str | None,
    currency: str,
) -> list[dict[str, Any]]:
    """The model's score and its top feature contributions as reason objects."""
    if score is None or model_version is None:
        return [
            {
                "kind": "no_model",
                "text": "no trained model was used: rules, value controls and the random "
                "share decided",
            }
        ]
    revenue = (
        f"; expected revenue at stake {currency} {expected_revenue:,.2f}"
        if expected_revenue is not None and expected_revenue > 0
        else ""
    )
    out: list[dict[str, Any]] = [
        {
            "kind": "model",
            "model_version": model_version,
            "score": round(score, 4),
            "text": f"model {model_version}: probability of non-compliance {score:.1%}{revenue}",
        }
    ]
    for name, value, logodds in json.loads(contributions or "[]"):
        direction = "raised" if logodds > 0 else "lowered"
        out.append(
            {
                "kind": "feature",
                "feature": name,
                "value": value,
                "contribution": logodds,
                "text": f"{describe_feature(name, value)} {direction} the score "
                f"({logodds:+.2f} log-odds)",
            }
        )
    return out


def _fmt(expr: pl.Expr, decimals: int) -> pl.Expr:
    """A number as text with ``decimals`` places (``1234.5`` -> ``1234.50``, no ``-0.00``).

    Integer arithmetic on the scaled value: about three times faster than formatting the
    float and patching its decimals with regular expressions.
    """
    scale = 10**decimals
    scaled = (expr * scale).round(0).cast(pl.Int64)
    whole = scaled.abs()
    return pl.concat_str(
        pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (whole // scale).cast(pl.String),
        pl.lit("."),
        (whole % scale).cast(pl.String).str.zfill(decimals),
    )


def rule_reason_expr() -> pl.Expr:
    """One rule hit as a JSON reason object, from the columns of a hits frame."""
    action = (
        pl.when(pl.col("action_lane").is_not_null())
        .then(pl.format("forces the {} lane", pl.col("action_lane")))
        .when(pl.col("action_weight").is_not_null())
        .then(pl.format("adds {} to the score", pl.col("action_weight")))
        .otherwise(pl.lit("hit"))
    )
    label = (
        pl.when(pl.col("rule_version").is_not_null())
        .then(pl.format("{} v{}", pl.col("rule_id"), pl.col("rule_version")))
        .otherwise(pl.col("rule_id"))
    )
    basis = (
        pl.when(pl.col("legal_basis").is_not_null())
        .then(pl.format(" [{}]", pl.col("legal_basis")))
        .otherwise(pl.lit(""))
    )
    text = pl.concat_str(
        pl.lit("rule "),
        label,
        pl.lit(": "),
        pl.col("rule_description").fill_null("no description"),
        pl.lit(" - "),
        action,
        basis,
    )
    return pl.struct(
        pl.lit("rule").alias("kind"),
        pl.col("rule_id"),
        pl.col("rule_version"),
        pl.col("action_lane").alias("lane"),
        pl.col("action_weight").alias("weight"),
        text.alias("text"),
    ).struct.json_encode()


def lane_reason_expr() -> pl.Expr:
    """The lane and its basis as a JSON reason object.

    Reads ``lane``, ``selection_basis`` and ``is_random_pick``.
    """
    lane, basis = pl.col("lane"), pl.col("selection_basis")
    text = (
        pl.when(pl.col("is_random_pick"))
        .then(pl.format("{}: picked at random for exploration (the minimum random share)", lane))
        .when(basis == "rule")
        .then(pl.format("{}: forced by a targeting rule", lane))
        .when(basis == "score")
        .then(pl.format("{}: among the highest priorities within the office's capacity", lane))
        .when(basis == "default")
        .then(pl.format("{}: not selected for control", lane))
        .otherwise(pl.format("{}: {}", lane, basis))
    )
    return pl.struct(
        pl.lit("lane").alias("kind"), lane, basis.alias("basis"), text.alias("text")
    ).struct.json_encode()


def score_reason_expr(currency: str) -> pl.Expr:
    """The model's score as a JSON reason object, or ``no_model`` when no model scored.

    Reads ``risk_score``, ``expected_revenue`` and ``model_version``.
    """
    revenue = (
        pl.when(pl.col("expected_revenue") > 0)
        .then(
            pl.format(
                "; expected revenue at stake {} {}",
                pl.lit(currency),
                _fmt(pl.col("expected_revenue"), 2),
            )
        )
        .otherwise(pl.lit(""))
    )
    model = pl.struct(
        pl.lit("model").alias("kind"),
        pl.col("model_version"),
        pl.col("risk_score").round(4).alias("score"),
        pl.format(
            "model {}: probability of non-compliance {}%{}",
            pl.col("model_version"),
            _fmt(pl.col("risk_score") * 100, 1),
            revenue,
        ).alias("text"),
    ).struct.json_encode()
    no_model = pl.lit(
        '{"kind":"no_model","text":"no trained model was used: rules, value controls and '
        'the random share decided"}'
    )
    return pl.when(pl.col("model_version").is_null()).then(no_model).otherwise(model)


def value_reason_expr(currency: str) -> pl.Expr:
    """The value-control deviation as a JSON reason object (null without a reference).

    Reads ``unit_value``, ``value_ref_median``, ``value_percentile``, ``value_ref_level`` and
    ``value_ref_n``.
    """
    unit, median, pct = pl.col("unit_value"), pl.col("value_ref_median"), pl.col("value_percentile")
    text = pl.format(
        "declared unit value {} {}/kg is {}x the median of its {} reference ({} {}/kg, {} "
        "items); percentile {}",
        pl.lit(currency),
        _fmt(unit, 2),
        _fmt(unit / median, 2),
        pl.col("value_ref_level").fill_null("reference"),
        pl.lit(currency),
        _fmt(median, 2),
        pl.col("value_ref_n").fill_null(0),
        pct.round(0).cast(pl.Int64),
    )
    reason = pl.struct(
        pl.lit("value").alias("kind"),
        unit.round(4).alias("unit_value"),
        median.round(4).alias("reference_median"),
        pct.round(2).alias("percentile"),
        pl.col("value_ref_level").alias("reference"),
        text.alias("text"),
    ).struct.json_encode()
    usable = unit.is_not_null() & median.is_not_null() & pct.is_not_null() & (median != 0)
    return pl.when(usable).then(reason)


def aeo_reason_expr() -> pl.Expr:
    """The AEO or MRA benefit (``aeo_status``, ``aeo_weight``) as a JSON reason object."""
    who = (
        pl.when(pl.col("aeo_status") == "national")
        .then(pl.lit("an Authorised Economic Operator"))
        .otherwise(pl.lit("AEO-recognised under a mutual recognition arrangement"))
    )
    reason = pl.struct(
        pl.lit("aeo").alias("kind"),
        pl.col("aeo_status").alias("status"),
        pl.col("aeo_weight").alias("weight"),
        pl.format("operator is {}: selection weight {}", who, pl.col("aeo_weight")).alias("text"),
    ).struct.json_encode()
    return pl.when(pl.col("aeo_status").is_not_null()).then(reason)
