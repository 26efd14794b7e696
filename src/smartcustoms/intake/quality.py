"""Data-quality score: how useful a filing is for risk assessment, with the reasons.

The WCO Cross-Border E-Commerce Framework of Standards asks for advance data of *sufficient
quality* for risk management. A filing can be valid and still useless to a targeting officer:
"gift" as the only description, no seller identifier, a value of exactly 100.00. Each
consignment starts at 100 and loses the penalty of every reason found; the reasons go back to
the filer in the result, so the filer can fix the data at source. The score never rejects a
filing; risk rules may use it.

Reasons (code, penalty):

====================  =======  =================================================================
dq.vague_description  25 each  description is a generic word ("gift", "sample", "goods", "parts")
dq.short_description  10 each  description of fewer than two words or ten characters
dq.hs_not_subheading  10 each  HS code declared at chapter or heading level only
dq.missing_net_mass   10       an item has no net mass
dq.missing_quantity   5        an item has no quantity
dq.missing_seller     15       no seller identifier
dq.missing_seller_address  5   no seller name or country
dq.missing_buyer_address   10  no buyer street, city or postcode
dq.missing_transport_document  5  neither a transport document nor a postal item id
dq.missing_arrival    5        no expected arrival
dq.round_value        10       every item value is a round amount (a multiple of 5, no cents)
====================  =======  =================================================================
"""

from __future__ import annotations

from typing import Final

import polars as pl

from smartcustoms.model import columns as c

__all__ = [
    "QUALITY_CONSIGNMENT_COLUMNS",
    "QUALITY_REASONS",
    "VAGUE_DESCRIPTIONS",
    "explain_reasons",
    "score_quality",
]

VAGUE_DESCRIPTIONS: Final = frozenset(
    {
        "gift",
        "gifts",
        "present",
        "sample",
        "samples",
        "goods",
        "good",
        "parts",
        "part",
        "spare parts",
        "item",
        "items",
        "product",
        "products",
        "merchandise",
        "stuff",
        "misc",
        "miscellaneous",
        "various",
        "accessories",
        "accessory",
        "clothes",
        "clothing",
        "electronics",
        "electronic",
        "toy",
        "toys",
        "personal effects",
        "general merchandise",
        "commodity",
        "commodities",
        "package",
        "parcel",
        "daily necessities",
        "articles",
        "cadeau",
        "echantillon",
        "marchandise",
        "regalo",
        "muestra",
    }
)
"""Descriptions that say nothing about what the goods are."""

QUALITY_REASONS: Final[dict[str, tuple[int, str]]] = {
    "dq.vague_description": (25, "the description is too vague to classify the goods"),
    "dq.short_description": (10, "the description is very short"),
    "dq.hs_not_subheading": (10, "the HS code is declared at chapter or heading level only"),
    "dq.missing_net_mass": (10, "an item has no net mass"),
    "dq.missing_quantity": (5, "an item has no quantity"),
    "dq.missing_seller": (15, "the seller is not identified"),
    "dq.missing_seller_address": (5, "the seller's name or country is missing"),
    "dq.missing_buyer_address": (10, "the buyer's street, city or postcode is missing"),
    "dq.missing_transport_document": (5, "there is no transport document or postal item id"),
    "dq.missing_arrival": (5, "the expected arrival is missing"),
    "dq.round_value": (10, "every item value is a round amount"),
}
"""Every quality reason code with its penalty and message."""


def _reason(code: str, path: pl.Expr | str | None = None) -> pl.Expr:
    if path is None:
        return pl.lit(code)
    return pl.concat_str(pl.lit(code + "@"), path if isinstance(path, pl.Expr) else pl.lit(path))


QUALITY_CONSIGNMENT_COLUMNS: Final = (
    c.CONSIGNMENT_ID,
    c.SELLER_ID,
    "seller_name",
    c.SELLER_COUNTRY,
    "buyer_street",
    "buyer_city",
    "buyer_postcode",
    "transport_document_id",
    c.POSTAL_ITEM_ID,
    c.EXPECTED_ARRIVAL_AT,
)
"""The consignment columns :func:`score_quality` reads."""


def score_quality(consignments: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Score every consignment; one row per consignment.

    Args:
        consignments: Canonical consignments (``consignment_id``, party and transport fields).
        items: Canonical goods items.

    Returns:
        ``consignment_id``, ``dq_score`` (0-100, Int64) and ``dq_reasons``: the reason codes,
        ``;``-separated, each optionally followed by ``@`` and the path it concerns
        (``dq.vague_description@items[0].description``). :func:`explain_reasons` expands them.
    """
    desc = pl.col(c.DESCRIPTION).str.to_lowercase().str.strip_chars(" .,;:-")
    item_path = pl.format("items[{}].", pl.col(c.ITEM_NO) - 1)
    vague = desc.is_in(list(VAGUE_DESCRIPTIONS))
    short = ~vague & ((desc.str.len_chars() < 10) | ~desc.str.contains(r"\S\s+\S"))
    broad = pl.col(c.HS_CODE).str.len_chars() < 6
    value = pl.col(c.VALUE)
    per_item = items.select(
        c.CONSIGNMENT_ID,
        pl.concat_str(
            pl.when(vague).then(
                _reason("dq.vague_description", pl.concat_str(item_path, pl.lit("description")))
            ),
            pl.when(short).then(
                _reason("dq.short_description", pl.concat_str(item_path, pl.lit("description")))
            ),
            pl.when(broad).then(
                _reason("dq.hs_not_subheading", pl.concat_str(item_path, pl.lit("hs_code")))
            ),
            separator=";",
            ignore_nulls=True,
        ).alias("_r"),
        (
            vague.cast(pl.Int64) * QUALITY_REASONS["dq.vague_description"][0]
            + short.cast(pl.Int64) * QUALITY_REASONS["dq.short_description"][0]
            + broad.cast(pl.Int64) * QUALITY_REASONS["dq.hs_not_subheading"][0]
        )
        .fill_null(0)
        .alias("_p"),
        pl.col(c.NET_MASS_KG).is_null().alias("_no_mass"),
        pl.col(c.QUANTITY).is_null().alias("_no_qty"),
        ((value % 5 == 0) & (value >= 5)).fill_null(False).alias("_round"),
    )
    per_cons = per_item.group_by(c.CONSIGNMENT_ID).agg(
        pl.col("_r").filter(pl.col("_r") != "").str.join(";").alias("_item_reasons"),
        pl.col("_p").sum().alias("_item_penalty"),
        pl.col("_no_mass").any(),
        pl.col("_no_qty").any(),
        pl.col("_round").all(),
    )
    flags = {
        "dq.missing_net_mass": (pl.col("_no_mass"), "items"),
        "dq.missing_quantity": (pl.col("_no_qty"), "items"),
        "dq.missing_seller": (pl.col(c.SELLER_ID).is_null(), "seller.id"),
        "dq.missing_seller_address": (
            pl.col("seller_name").is_null() | pl.col(c.SELLER_COUNTRY).is_null(),
            "seller",
        ),
        "dq.missing_buyer_address": (
            pl.col("buyer_street").is_null()
            | pl.col("buyer_city").is_null()
            | pl.col("buyer_postcode").is_null(),
            "buyer",
        ),
        "dq.missing_transport_document": (
            pl.col("transport_document_id").is_null() & pl.col(c.POSTAL_ITEM_ID).is_null(),
            "transport_document_id",
        ),
        "dq.missing_arrival": (pl.col(c.EXPECTED_ARRIVAL_AT).is_null(), "expected_arrival_at"),
        "dq.round_value": (pl.col("_round"), "items"),
    }
    joined = consignments.select(QUALITY_CONSIGNMENT_COLUMNS).join(
        per_cons, on=c.CONSIGNMENT_ID, how="left"
    )
    penalty = pl.col("_item_penalty").fill_null(0) + pl.sum_horizontal(
        mask.fill_null(False).cast(pl.Int64) * QUALITY_REASONS[code][0]
        for code, (mask, _) in flags.items()
    )
    reasons = pl.concat_str(
        pl.when(pl.col("_item_reasons") != "").then(pl.col("_item_reasons")),
        *(pl.when(mask).then(_reason(code, path)) for code, (mask, path) in flags.items()),
        separator=";",
        ignore_nulls=True,
    )
    return joined.select(
        c.CONSIGNMENT_ID,
        (100 - penalty).clip(0, 100).cast(pl.Int64).alias("dq_score"),
        reasons.alias("dq_reasons"),
    )


def explain_reasons(reasons: str | None) -> list[dict[str, str | int]]:
    """Expand a ``dq_reasons`` string into ``code``, ``path``, ``message``, ``penalty`` dicts."""
    out: list[dict[str, str | int]] = []
    for token in (reasons or "").split(";"):
        if not token:
            continue
        code, _, path = token.partition("@")
        penalty, message = QUALITY_REASONS.get(code, (0, code))
        out.append({"code": code, "path": path, "message": message, "penalty": penalty})
    return out
