"""Generated traffic: canonical, valid, deterministic, chunk-invariant and realistic."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcustoms.errors import InvalidInputError
from smartcustoms.model import CONSIGNMENT_SCHEMA, EVENT_SCHEMA, ITEM_SCHEMA, EventType
from smartcustoms.synth import (
    LABEL_SCHEMA,
    FraudRates,
    FraudType,
    TrafficChunk,
    TrafficConfig,
    generate_traffic,
    s10_check_digit,
)
from smartcustoms.synth.config import FILING_WINDOW
from smartcustoms.tariff import load_nomenclature

from .conftest import concat, share


def test_chunks_have_the_canonical_schemas(chunks: list[TrafficChunk]) -> None:
    for chunk in chunks:
        assert chunk.consignments.schema == CONSIGNMENT_SCHEMA
        assert chunk.true_consignments.schema == CONSIGNMENT_SCHEMA
        assert chunk.items.schema == ITEM_SCHEMA
        assert chunk.true_items.schema == ITEM_SCHEMA
        assert chunk.events.schema == EVENT_SCHEMA
        assert chunk.labels.schema == LABEL_SCHEMA


def test_run_has_the_requested_size(config: TrafficConfig, consignments: pl.DataFrame) -> None:
    assert consignments.height == config.consignments
    assert consignments["consignment_id"].is_unique().all()


def test_same_seed_same_traffic(config: TrafficConfig, consignments: pl.DataFrame) -> None:
    again = concat(list(generate_traffic(config)), "consignments")
    assert again.equals(consignments)


def test_other_seed_other_traffic(consignments: pl.DataFrame) -> None:
    other = concat(list(generate_traffic(TrafficConfig(consignments=500, seed=43))), "consignments")
    assert not other["consignment_id"].equals(consignments["consignment_id"].head(500))
    assert not other["seller_id"].equals(consignments["seller_id"].head(500))


@pytest.mark.parametrize("chunk_size", [250, 6_000])
def test_output_does_not_depend_on_chunk_size(
    chunk_size: int, config: TrafficConfig, chunks: list[TrafficChunk]
) -> None:
    other = list(generate_traffic(replace(config, chunk_size=chunk_size)))
    assert len(other) != len(chunks)
    for attr in ("consignments", "items", "true_consignments", "true_items", "events", "labels"):
        assert concat(other, attr).equals(concat(chunks, attr)), attr


def test_chunks_never_cut_a_filing(chunks: list[TrafficChunk]) -> None:
    seen: set[str] = set()
    for chunk in chunks:
        assert chunk.first % FILING_WINDOW == 0
        ids = set(chunk.consignments["filing_id"].to_list())
        assert not ids & seen
        seen |= ids


def test_filings_group_contiguous_consignments_of_one_filer(
    consignments: pl.DataFrame,
) -> None:
    runs = consignments["filing_id"].rle()
    assert runs.len() == consignments["filing_id"].n_unique()
    per_filing = consignments.group_by("filing_id").agg(
        pl.len(), pl.col("filer_id").n_unique().alias("filers"), pl.col("filed_at").n_unique()
    )
    assert (per_filing["filers"] == 1).all()
    assert (per_filing["filed_at"] == 1).all()
    multi = per_filing.filter(pl.col("len") > 1)
    assert multi.height > 0, "some filers send several consignments per filing"
    roles = consignments.join(multi.select("filing_id"), on="filing_id")["filer_role"]
    assert set(roles.unique().to_list()) <= {"broker", "marketplace"}


def test_totals_are_the_sum_of_item_values(chunks: list[TrafficChunk]) -> None:
    for chunk in chunks:
        for cons, items in (
            (chunk.consignments, chunk.items),
            (chunk.true_consignments, chunk.true_items),
        ):
            sums = items.group_by("consignment_id").agg(pl.col("value").sum().alias("s"))
            joined = cons.join(sums, on="consignment_id", how="left")
            assert (joined["total_value"] == joined["s"]).all()


def test_values_are_positive_with_at_most_the_currency_minor_unit(
    consignments: pl.DataFrame, items: pl.DataFrame
) -> None:
    assert (items["value"] > 0).all()
    cents = items["value"] * 100
    assert (cents == cents.cast(pl.Int64).cast(cents.dtype)).all()
    yen = items.join(consignments.select("consignment_id", "currency"), on="consignment_id").filter(
        pl.col("currency").is_in(["JPY", "KRW"])
    )
    if yen.height:
        assert (yen["value"] == yen["value"].cast(pl.Int64).cast(yen["value"].dtype)).all()


def test_gross_mass_is_never_below_net(items: pl.DataFrame, consignments: pl.DataFrame) -> None:
    both = items.drop_nulls(["net_mass_kg", "gross_mass_kg"])
    assert (both["gross_mass_kg"] >= both["net_mass_kg"]).all()
    assert (items["net_mass_kg"].drop_nulls() > 0).all()
    assert (consignments["total_gross_mass_kg"].drop_nulls() > 0).all()


def test_hs_codes_are_known_to_the_nomenclature(
    items: pl.DataFrame, true_items: pl.DataFrame
) -> None:
    nomenclature = load_nomenclature()
    for frame in (items, true_items):
        codes = frame["hs_code"].unique().to_list()
        assert all(nomenclature.is_known(c) for c in codes), codes
        lengths = set(frame["hs_code"].str.len_chars().unique().to_list())
        assert lengths == {6, 8, 10}


def test_postal_items_have_valid_s10_ids(consignments: pl.DataFrame) -> None:
    postal = consignments.filter(pl.col("transport_mode") == "5")
    assert postal.height > consignments.height // 5
    ids = postal["postal_item_id"].to_list()
    assert all(len(i) == 13 and i[:2].isalpha() and i[11:].isalpha() for i in ids)
    assert all(s10_check_digit(i[2:10]) == int(i[10]) for i in ids)
    assert postal["postal_receptacle_id"].str.len_chars().eq(29).all()
    assert postal["master_transport_document_id"].is_null().all()


def test_express_consignments_have_air_waybills(consignments: pl.DataFrame) -> None:
    express = consignments.filter(pl.col("transport_mode") == "4")
    assert express.height > consignments.height // 5
    assert express["postal_item_id"].is_null().all()
    assert express["transport_document_id"].is_not_null().all()
    mawb = express["master_transport_document_id"].to_list()
    assert all(m[3] == "-" and int(m[4:11]) % 7 == int(m[11]) for m in mawb)
    # Consignments on one flight share a master air waybill.
    assert express["master_transport_document_id"].n_unique() < express.height // 2


def test_ioss_numbers_only_on_low_value_consignments(consignments: pl.DataFrame) -> None:
    ioss = consignments["ioss_number"].drop_nulls()
    assert ioss.len() > consignments.height // 10
    assert ioss.str.contains(r"^IM[0-9]{10}$").all()


def test_heavy_tailed_sellers_and_repeat_buyers(consignments: pl.DataFrame) -> None:
    sellers = consignments["seller_id"].value_counts(sort=True)
    top = sellers["count"].head(consignments.height // 100 or 1).sum()
    assert top > 0.2 * consignments.height, "the top 1 % of sellers ship a large share"
    buyers = consignments["buyer_id"].drop_nulls().value_counts()
    assert (buyers["count"] > 1).any(), "some buyers buy again"
    regular = consignments.filter(pl.col("buyer_id") == buyers.sort("count")["buyer_id"][-1])
    assert regular.select("buyer_name", "buyer_city").n_unique() == 1
    one_seller = consignments.filter(pl.col("seller_id") == sellers["seller_id"][0])
    assert one_seller["seller_name"].n_unique() == 1
    assert one_seller["seller_country"].n_unique() == 1


def test_origins_and_categories_look_like_e_commerce(
    consignments: pl.DataFrame, items: pl.DataFrame
) -> None:
    dispatch = consignments["country_of_dispatch"].value_counts(normalize=True, sort=True)
    assert dispatch["country_of_dispatch"][0] == "CN"
    assert dispatch["proportion"][0] > 0.5
    assert dispatch.height >= 8
    chapters = items["hs_code"].str.slice(0, 2).value_counts(normalize=True)
    share = dict(zip(chapters["hs_code"], chapters["proportion"], strict=True))
    assert share.get("61", 0) + share.get("62", 0) > 0.15  # apparel
    assert share.get("85", 0) > 0.1  # electronics
    assert share.get("95", 0) > 0.03  # toys


def test_some_descriptions_are_vague_and_some_fields_missing(
    consignments: pl.DataFrame, items: pl.DataFrame
) -> None:
    assert 0 < share(items["description"].is_in(["gift", "goods", "sample", "parts"])) < 0.05
    assert consignments["buyer_postcode"].null_count() > 0
    assert consignments["transport_cost"].null_count() > 0


def test_events_are_ordered_and_consistent(
    events: pl.DataFrame, consignments: pl.DataFrame
) -> None:
    assert events["source"].eq("synth").all()
    assert set(events["event_type"].unique()) <= {e.value for e in EventType}
    assert events["consignment_id"].n_unique() == consignments.height
    ordered = events.with_columns(pl.col("occurred_at").diff().over("consignment_id").alias("step"))
    assert (ordered["step"].drop_nulls() >= timedelta(0)).all()
    wide = events.pivot(
        on="event_type", index="consignment_id", values="occurred_at", aggregate_function="first"
    )
    for event in ("lodgement", "arrival", "acceptance", "risk_decision", "release", "exit"):
        assert wide[event].null_count() == 0, event
    assert (wide["release"] >= wide["arrival"]).all()
    assert (wide["release"] >= wide["acceptance"]).all()
    assert (wide["acceptance"] >= wide["lodgement"]).all()
    assert (wide["exit"] > wide["release"]).all()
    inspected = wide.drop_nulls("physical_inspection_start")
    assert inspected.height > 0
    assert (inspected["physical_inspection_start"] >= inspected["arrival"]).all()
    assert (inspected["physical_inspection_end"] > inspected["physical_inspection_start"]).all()
    assert wide["document_check_start"].drop_nulls().len() > 0
    assert wide["agency_hold"].drop_nulls().len() > 0
    pre = share(wide["lodgement"] < wide["arrival"])
    assert 0.5 < pre < 0.98, "most but not all filings arrive before the goods"


def test_manual_controls_start_in_office_hours(events: pl.DataFrame) -> None:
    starts = events.filter(
        pl.col("event_type").is_in(["physical_inspection_start", "document_check_start"])
    ).with_columns(local=pl.col("occurred_at").dt.convert_time_zone("Europe/Paris"))
    weekday = starts["local"].dt.weekday()
    hour = starts["local"].dt.hour()
    assert (weekday <= 6).all()  # never on Sunday
    weekday_ok = (weekday <= 5) & (hour >= 7) & (hour < 20)
    saturday_ok = (weekday == 6) & (hour >= 8) & (hour < 13)
    assert (weekday_ok | saturday_ok).all()


def test_filed_at_is_the_lodgement_event(events: pl.DataFrame, consignments: pl.DataFrame) -> None:
    lodged = events.filter(pl.col("event_type") == "lodgement").select(
        "consignment_id", "occurred_at"
    )
    joined = consignments.select("consignment_id", "filed_at").join(lodged, on="consignment_id")
    assert (joined["filed_at"] == joined["occurred_at"]).all()


def test_fraud_shares_match_the_configured_rates() -> None:
    rates = FraudRates()
    config = TrafficConfig(consignments=30_000, seed=7, chunk_size=10_000)
    labels = concat(list(generate_traffic(config, with_events=False)), "labels")
    shares = labels["fraud_type"].value_counts(normalize=True)
    share = dict(zip(shares["fraud_type"], shares["proportion"], strict=True))
    for fraud_type, rate in rates.by_type().items():
        assert share.get(fraud_type.value, 0.0) == pytest.approx(rate, rel=0.3), fraud_type
    offenders = labels.filter(pl.col("seller_is_repeat_offender"))
    assert offenders.height > 0
    offender_rate = offenders["is_noncompliant"].mean()
    assert offender_rate == pytest.approx(rates.repeat_offender_rate, abs=0.1)


def test_compliant_traffic_has_no_fraud() -> None:
    config = TrafficConfig(consignments=2_000, fraud=FraudRates.none())
    labels = concat(list(generate_traffic(config, with_events=False)), "labels")
    assert not labels["is_noncompliant"].any()
    assert labels["fraud_type"].is_null().all()


def test_labels_describe_what_was_planted(
    labels: pl.DataFrame, items: pl.DataFrame, true_items: pl.DataFrame
) -> None:
    assert labels["is_noncompliant"].eq(labels["fraud_type"].is_not_null()).all()
    honest = labels.filter(~pl.col("is_noncompliant"))
    assert honest["true_total_value"].equals(honest["declared_total_value"])
    assert honest["true_hs_codes"].equals(honest["declared_hs_codes"])

    under = labels.filter(pl.col("fraud_type") == FraudType.UNDERVALUATION)
    assert (under["declared_total_value"] < under["true_total_value"]).all()

    mis = labels.filter(pl.col("fraud_type") == FraudType.MISCLASSIFICATION)
    assert (mis["true_hs_codes"] != mis["declared_hs_codes"]).all()
    assert mis["true_total_value"].equals(mis["declared_total_value"])

    hidden = labels.filter(pl.col("fraud_type") == FraudType.VAGUE_DESCRIPTION_RESTRICTED)
    assert hidden["has_restricted_goods"].all()
    ids = hidden["consignment_id"].implode()
    first = items.filter(pl.col("consignment_id").is_in(ids) & (pl.col("item_no") == 1))
    assert (
        first["description"]
        .is_in(
            [
                "gift",
                "sample",
                "parts",
                "goods",
                "accessories",
                "daily necessities",
                "spare parts",
                "household item",
                "tool",
                "personal effects",
            ]
        )
        .all()
    )
    truth = true_items.filter(pl.col("consignment_id").is_in(ids) & (pl.col("item_no") == 1))
    assert not truth["description"].is_in(["gift", "sample", "parts", "goods"]).any()

    split = labels.filter(pl.col("fraud_type") == FraudType.SPLIT_SHIPMENT)
    groups = split.group_by("split_group_id").agg(pl.len(), pl.col("seller_id").n_unique())
    assert groups["len"].is_between(2, 3).all()
    assert (groups["seller_id"] == 1).all()
    assert (
        labels.filter(pl.col("fraud_type") != FraudType.SPLIT_SHIPMENT)["split_group_id"]
        .is_null()
        .all()
    )


def test_split_parts_share_order_buyer_and_stay_under_threshold(
    labels: pl.DataFrame, consignments: pl.DataFrame
) -> None:
    split = labels.filter(pl.col("fraud_type") == FraudType.SPLIT_SHIPMENT).join(
        consignments, on="consignment_id"
    )
    per_order = split.group_by("split_group_id").agg(
        pl.col("buyer_name").n_unique(),
        pl.col("office_of_arrival").n_unique(),
        pl.col("currency").n_unique(),
    )
    assert (per_order["buyer_name"] == 1).all()
    assert (per_order["office_of_arrival"] == 1).all()
    assert (per_order["currency"] == 1).all()
    eur = split.filter(pl.col("currency") == "EUR")
    assert (eur["total_value"] < 150).all()


def test_labels_never_leak_into_filings(consignments: pl.DataFrame, items: pl.DataFrame) -> None:
    label_only = set(LABEL_SCHEMA.names()) - {
        "consignment_id",
        "filing_id",
        "seller_id",
        "currency",
    }
    assert not label_only & set(consignments.columns)
    assert not label_only & set(items.columns)


def test_several_offices(seed: int) -> None:
    config = TrafficConfig(consignments=800, seed=seed, offices=("FR000730", "DE004701"))
    cons = concat(list(generate_traffic(config, with_events=False)), "consignments")
    pairs = set(cons.select("office_of_arrival", "country_of_destination").unique().iter_rows())
    assert pairs == {("FR000730", "FR"), ("DE004701", "DE")}
    assert (cons["buyer_country"] == cons["country_of_destination"]).all()


def test_arrivals_fall_in_the_period(config: TrafficConfig, events: pl.DataFrame) -> None:
    arrivals = events.filter(pl.col("event_type") == "arrival")["occurred_at"]
    assert arrivals.min() >= config.start  # type: ignore[operator]
    assert arrivals.max() < config.start + timedelta(days=config.days)  # type: ignore[operator]
    hours = arrivals.dt.convert_time_zone("Europe/Paris").dt.hour().value_counts()
    counts = dict(zip(hours["occurred_at"], hours["count"], strict=True))
    assert counts[3] > counts[12], "night flights bring more parcels than midday ones"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"consignments": -1}, "consignments"),
        ({"days": 0}, "days"),
        ({"offices": ()}, "offices"),
        ({"fraud": FraudRates(undervaluation=0.9)}, "fraud"),
        ({"vague_description_share": 1.5}, "vague_description_share"),
    ],
)
def test_invalid_configurations_are_refused(changes: dict[str, object], path: str) -> None:
    kwargs: dict[str, object] = {"consignments": 10, **changes}
    with pytest.raises(InvalidInputError) as info:
        TrafficConfig(**kwargs)  # type: ignore[arg-type]
    assert path in [p.path for p in info.value.problems]


def test_unknown_office_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="XX999999"):
        next(generate_traffic(TrafficConfig(consignments=10, offices=("XX999999",))))


def test_empty_run_yields_nothing() -> None:
    assert list(generate_traffic(TrafficConfig(consignments=0))) == []


def test_item_numbers_run_from_one(items: pl.DataFrame) -> None:
    per = items.group_by("consignment_id").agg(
        pl.col("item_no").min().alias("lo"), pl.col("item_no").max().alias("hi"), pl.len()
    )
    assert (per["lo"] == 1).all()
    assert (per["hi"] == per["len"]).all()
    mean_items = items.height / per.height
    assert 2.5 < mean_items < 3.5
    assert np.isclose(per.height, items["consignment_id"].n_unique())


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**40), n=st.integers(1, 200))
def test_invariants_hold_for_any_seed(seed: int, n: int) -> None:
    """Totals add up, masses are sane, ids are unique and S10 check digits valid, any seed."""
    config = TrafficConfig(consignments=n, seed=seed, chunk_size=64)
    chunks = list(generate_traffic(config, with_events=False))
    cons, items = concat(chunks, "consignments"), concat(chunks, "items")
    assert cons.height == n
    assert cons["consignment_id"].is_unique().all()
    sums = items.group_by("consignment_id").agg(pl.col("value").sum())
    joined = cons.join(sums, on="consignment_id")
    assert (joined["total_value"] == joined["value"]).all()
    both = items.drop_nulls(["net_mass_kg", "gross_mass_kg"])
    assert (both["gross_mass_kg"] >= both["net_mass_kg"]).all()
    for s10 in cons["postal_item_id"].drop_nulls():
        assert s10_check_digit(s10[2:10]) == int(s10[10])
