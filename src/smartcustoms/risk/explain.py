"""Reasons in plain words for every lane decision.

A customs officer opening a consignment must see *why* it was selected: which rules hit
(with their ids and legal basis), which facts moved the model's score (LightGBM's exact
TreeSHAP contributions, turned into sentences), where the declared unit value sits against
its learned reference, whether it was a random exploration pick, and whether an AEO or MRA
benefit lowered its chance. Each reason is a small JSON object with a ``kind`` and a
``text``; the store keeps the list with the decision.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from smartcustoms.risk.columns import Lane

__all__ = [
    "REASON_KINDS",
    "aeo_reason",
    "describe_feature",
    "model_reasons",
    "rule_reason",
    "value_reason",
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


def describe_feature(name: str, value: float | None) -> str:
    """A model feature and its value in words (``seller's past non-compliance rate 0.41``)."""
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


def rule_reason(
    rule_id: str,
    version: str | None,
    description: str | None,
    lane: str | None,
    weight: float | None,
    legal_basis: str | None,
) -> dict[str, Any]:
    """One rule hit as a reason object."""
    action = (
        f"forces the {Lane(lane).value} lane"
        if lane
        else f"adds {weight:g} to the score"
        if weight
        else "hit"
    )
    basis = f" [{legal_basis}]" if legal_basis else ""
    label = f"{rule_id} v{version}" if version else rule_id
    return {
        "kind": "rule",
        "rule_id": rule_id,
        "rule_version": version,
        "lane": lane,
        "weight": weight,
        "text": f"rule {label}: {description or 'no description'} - {action}{basis}",
    }


def value_reason(
    unit_value: float | None,
    median: float | None,
    percentile: float | None,
    level: str | None,
    n: int | None,
    currency: str,
) -> dict[str, Any] | None:
    """The value-control deviation of the riskiest item, when there is a reference."""
    if unit_value is None or median is None or percentile is None or not median:
        return None
    ratio = unit_value / median
    return {
        "kind": "value",
        "unit_value": round(unit_value, 4),
        "reference_median": round(median, 4),
        "percentile": round(percentile, 2),
        "reference": level,
        "text": f"declared unit value {currency} {unit_value:,.2f}/kg is {ratio:.2f}x the "
        f"median of its {level or 'reference'} reference ({currency} {median:,.2f}/kg, "
        f"{n or 0} items); percentile {percentile:.0f}",
    }


def aeo_reason(status: str | None, weight: float) -> dict[str, Any] | None:
    """The AEO/MRA benefit applied, if any."""
    if not status:
        return None
    who = (
        "an Authorised Economic Operator"
        if status == "national"
        else "AEO-recognised under a mutual recognition arrangement"
    )
    return {
        "kind": "aeo",
        "status": status,
        "weight": weight,
        "text": f"operator is {who}: selection weight {weight:g}",
    }
