"""Differential tests: the row-wise single-filing parser against the batch intake path.

The oracle is exactly what ``DecisionBatcher`` does with one decoded body: ``parse_json_lines``
on ``orjson.dumps(doc)``, ``normalise_codes``, ``content_hashes``. The row-wise parser must
return ``None`` or the same rows, value for value and type for type; and it must cover
(return non-``None`` for) nearly all clean synthetic filings.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcustoms.clearance.identity import content_hashes
from smartcustoms.clearance.single.parse import PARSERS, ParsedFiling, parse_single
from smartcustoms.intake._json import parse_json_lines
from smartcustoms.intake.layouts import POSTAL_LAYOUT, WCO_JSON_LAYOUT
from smartcustoms.intake.validate import normalise_codes
from smartcustoms.synth import TrafficConfig, generate_traffic
from smartcustoms.synth.writers import filing_records
from smartcustoms.testing import make_filing, make_postal_item

LAYOUTS = {"json": WCO_JSON_LAYOUT, "postal": POSTAL_LAYOUT}


@dataclass(frozen=True)
class BatchView:
    """What the batch path makes of one filing."""

    problems: int
    record: dict[str, Any]
    consignments: list[dict[str, Any]]
    items: list[dict[str, Any]]
    content_hash: str | None
    filing_id: str | None
    labels: dict[str, Any]


def batch_parse(doc: Any, fmt: str) -> BatchView:
    """The batch path on one decoded filing, as DecisionBatcher._clear/_clear_group run it."""
    return batch_parse_many([doc], fmt)[0]


def batch_parse_many(docs: list[Any], fmt: str) -> list[BatchView]:
    """The batch path on several filings at once, split back per record (renumbered 0).

    Only for filings whose JSON types agree across records (Arrow infers one type per
    column for the whole batch), such as clean synthetic traffic; it saves the fixed cost of
    one batch per filing.
    """
    lines = [orjson.dumps(doc) for doc in docs]
    batch = parse_json_lines(
        lines, [None] * len(lines), first_record=0, source="api", fmt=fmt, layout=LAYOUTS[fmt]
    )
    cons, items = normalise_codes(batch.consignments, batch.items)
    hashes = {h["_record"]: h for h in content_hashes(cons, items).to_dicts()}
    renumber = [pl.lit(0, dtype=pl.Int64).alias("_record")]

    def rows(frame: pl.DataFrame, record: int) -> list[dict[str, Any]]:
        return frame.filter(pl.col("_record") == record).with_columns(renumber).to_dicts()

    views = []
    for record in range(len(docs)):
        found = hashes.get(record, {})
        views.append(
            BatchView(
                problems=batch.problems.filter(pl.col("_record") == record).height,
                record={**batch.records.to_dicts()[record], "_record": 0},
                consignments=rows(cons, record),
                items=rows(items, record),
                content_hash=found.get("content_hash"),
                filing_id=found.get("filing_id"),
                labels=dict(batch.labels),
            )
        )
    return views


def assert_same(ours: Any, theirs: Any, where: str = "$") -> None:
    """Strict equality: same types, same keys in the same order, same values."""
    assert type(ours) is type(theirs), f"{where}: {type(ours)} vs {type(theirs)}"
    if isinstance(ours, dict):
        assert list(ours) == list(theirs), f"{where}: keys differ"
        for key in ours:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(ours, Decimal):
        assert ours.as_tuple() == theirs.as_tuple(), f"{where}: {ours!r} vs {theirs!r}"
    elif isinstance(ours, datetime):
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"
        assert ours.tzinfo is theirs.tzinfo, f"{where}: {ours.tzinfo!r} vs {theirs.tzinfo!r}"
        assert ours.utcoffset() == theirs.utcoffset()
    elif isinstance(ours, float):
        assert ours == theirs or (math.isnan(ours) and math.isnan(theirs)), where
        assert math.copysign(1, ours) == math.copysign(1, theirs), f"{where}: sign of zero"
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


def check(doc: Any, fmt: str, theirs: BatchView | None = None) -> ParsedFiling | None:
    """Run both paths; assert "None or exactly equal"; return ours."""
    ours = parse_single(copy.deepcopy(doc), fmt)
    if ours is None:
        return None
    theirs = batch_parse(doc, fmt) if theirs is None else theirs
    assert theirs.problems == 0, "covered a filing whose batch parse has problems"
    assert_same(ours.record, theirs.record, "record")
    assert_same(ours.consignments, theirs.consignments, "consignments")
    assert_same(ours.items, theirs.items, "items")
    assert ours.content_hash == theirs.content_hash
    assert ours.filing_id == theirs.filing_id
    assert dict(ours.labels) == theirs.labels
    return ours


# --- synthetic traffic


def to_postal(filing: dict[str, Any], cons: dict[str, Any]) -> dict[str, Any]:
    """A postal item (POSTAL_LAYOUT keys) carrying one synthetic consignment."""
    doc = {
        "item_id": cons["postal_item_id"],
        "posted_at": filing["filed_at"],
        "postal_operator": cons["carrier"] or filing["filer"],
        "receptacle_id": cons["postal_receptacle_id"],
        "destination_office": cons["office_of_arrival"],
        "expected_arrival": cons["expected_arrival_at"],
        "dispatch_country": cons["country_of_dispatch"],
        "destination_country": cons["country_of_destination"],
        "currency": cons["currency"],
        "total_value": cons["total_value"],
        "postage": cons["transport_cost"],
        "insurance": cons["insurance_cost"],
        "gross_weight_kg": cons["total_gross_mass_kg"],
        "pieces": cons["total_packages"],
        "ioss_number": cons["ioss_number"],
        "order_ref": cons["marketplace_order_ref"],
        "sender": cons["seller"],
        "addressee": cons["buyer"],
        "contents": [
            {
                "description": i["description"],
                "hs_tariff_number": i["hs_code"],
                "origin_country": i["origin_country"],
                "quantity": i["quantity"],
                "net_weight_kg": i["net_mass_kg"],
                "value": i["value"],
            }
            for i in cons["items"]
        ],
    }
    return doc


@cache
def synthetic(seed: int, n: int = 500) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """WCO JSON filings and postal items generated from one synthetic run."""
    filings: list[dict[str, Any]] = []
    for chunk in generate_traffic(TrafficConfig(consignments=n, seed=seed)):
        text = filing_records(chunk.consignments, chunk.items).write_ndjson()
        filings.extend(orjson.loads(line) for line in text.splitlines())
    postal = [
        to_postal(f, cons) for f in filings for cons in f["consignments"] if cons["postal_item_id"]
    ]
    return filings, postal


SEEDS = (1, 7, 2026)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fmt", ["json", "postal"])
def test_synthetic_filings_are_covered_and_exact(seed: int, fmt: str) -> None:
    filings, postal = synthetic(seed)
    docs = filings if fmt == "json" else postal
    assert len(docs) >= 200
    views = batch_parse_many(docs, fmt)
    assert sum(v.problems for v in views) == 0, "synthetic traffic should parse cleanly"
    covered = sum(check(doc, fmt, view) is not None for doc, view in zip(docs, views, strict=True))
    assert covered >= 0.95 * len(docs), f"only {covered}/{len(docs)} covered"


@pytest.mark.parametrize("fmt", ["json", "postal"])
def test_synthetic_filings_each_cleared_alone(fmt: str) -> None:
    """The same, with the batch path run on each filing alone (as the batcher may)."""
    for seed in SEEDS:
        filings, postal = synthetic(seed)
        for doc in (filings if fmt == "json" else postal)[:25]:
            assert check(doc, fmt) is not None


def test_multi_consignment_filings_are_covered() -> None:
    filings, _ = synthetic(SEEDS[0])
    multi = [f for f in filings if len(f["consignments"]) > 1]
    assert multi
    assert all(check(f, "json") is not None for f in multi)


def test_hand_written_filings_are_covered() -> None:
    for doc in (make_filing(), make_filing("F-2", items=3, consignments=3)):
        assert check(doc, "json") is not None
    assert check(make_postal_item(), "postal") is not None
    pretty = make_filing()
    pretty["filed_at"] = "2026-11-20T09:30:00.250+01:00"
    pretty["consignments"][0]["expected_arrival_at"] = " 2026-11-23 "
    pretty["consignments"][0]["items"][0]["hs_code"] = " 6109.10 "
    pretty["consignments"][0]["country_of_dispatch"] = "cn"
    pretty["consignments"][0]["total_value"] = "24.800"
    ours = check(pretty, "json")
    assert ours is not None
    assert ours.items[0]["hs_code"] == "610910"
    assert ours.consignments[0]["country_of_dispatch"] == "CN"


@pytest.mark.parametrize(
    ("doc", "fmt"),
    [
        ([make_filing()], "json"),
        ("text", "json"),
        ({**make_filing(), "consignments": []}, "json"),
        ({**make_filing(), "extra": 1}, "json"),  # field.unknown warning
        ({**make_filing(), "filed_at": "20 Nov 2026"}, "json"),  # date.unparseable
        ({**make_postal_item(), "contents": []}, "postal"),
        ({**make_postal_item(), "pieces": "two"}, "postal"),  # value.not_integer
        (make_filing(), "csv"),
    ],
)
def test_problem_filings_are_declined(doc: Any, fmt: str) -> None:
    assert parse_single(doc, fmt) is None
    if fmt in LAYOUTS and isinstance(doc, dict):
        assert batch_parse(doc, fmt).problems > 0


def test_parsers_expose_the_batch_labels() -> None:
    for fmt, layout in LAYOUTS.items():
        assert dict(PARSERS[fmt].labels) == layout.labels()


# --- mutations

KEYS = {
    "json": {
        "top": ["filing_id", "filed_at", "filer_role"],
        "cons": list(WCO_JSON_LAYOUT.consignment.values()),
        "party": ["filer", "seller", "buyer", "importer", "carrier"],
        "item": list(WCO_JSON_LAYOUT.item.values()),
    },
    "postal": {
        "top": list(POSTAL_LAYOUT.filing.values()) + list(POSTAL_LAYOUT.consignment.values()),
        "cons": [],
        "party": ["postal_operator", "sender", "addressee"],
        "item": list(POSTAL_LAYOUT.item.values()),
    },
}

dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.builds(
        lambda d, h, m, sign, ns: f"{d:%Y-%m-%dT%H:%M:%S}.{ns}{sign}{h:02d}:{m:02d}",
        st.datetimes(),
        st.integers(0, 25),
        st.integers(0, 61),
        st.sampled_from("+-"),
        st.integers(0, 10**9).map(str),
    ),
    st.sampled_from(
        [
            "2026-11-20T08:30:00+0100",
            "2026-11-20T08:30:00+01",
            "2026-11-20T23:59:60Z",
            "2026-02-30",
            "2026-1-2",
            "2026-11-20T08:30Z",
            "2026-11-20 08:30",
            "0999-01-01",
            "2026-11-20T24:00:00",
        ]
    ),
)
numbers_as_text = st.one_of(
    st.integers(0, 9).flatmap(
        lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p).map(str)
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**16), 10**16).map(str),
    st.sampled_from(["+5", ".5", "5.", "007", "1e3", "1_0", "-0", "0.00005", "12.34565"]),
)
codes = st.one_of(
    st.sampled_from(["cn", "Fr", "eur", "6109.10", "6109 10", "61.09.10.00", "rr123456785cn"]),
    st.sampled_from(["ß", "ǆ", "ﬁ", "\u00a0CN\u3000", "CN\x1c", "\u2003FR"]),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(0, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
    st.text(max_size=12),
    st.text(alphabet=" \t\n\x0b\u00a0\u3000\x1c\x1f\u200b", max_size=4).map(lambda s: s + "X" + s),
    dates,
    numbers_as_text,
    codes,
    st.just({"a": 1}),
    st.just([1, 2]),
    st.just({}),
)


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> dict[str, Any]:
    """A synthetic or hand-made filing with a few random edits."""
    filings, postal = synthetic(SEEDS[0])
    pool = [*filings[:40], make_filing(items=3, consignments=2)]
    if fmt == "postal":
        pool = [*postal[:40], make_postal_item()]
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(pool)))
    keys = KEYS[fmt]

    def pick(owner: Any, key: str) -> dict[str, Any]:
        """A random object of the list ``owner[key]``, or ``owner`` itself if there is none."""
        elements = owner.get(key) if isinstance(owner, dict) else None
        if isinstance(elements, list):
            objects = [e for e in elements if isinstance(e, dict)]
            if objects:
                chosen: dict[str, Any] = draw(st.sampled_from(objects))
                return chosen
        return owner  # type: ignore[no-any-return]

    def consignment() -> dict[str, Any]:
        return doc if fmt == "postal" else pick(doc, "consignments")

    def item() -> dict[str, Any]:
        return pick(consignment(), "contents" if fmt == "postal" else "items")

    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.integers(0, 7))
        if edit == 0:
            doc[draw(st.sampled_from(keys["top"]))] = draw(values)
        elif edit == 1 and keys["cons"]:
            consignment()[draw(st.sampled_from(keys["cons"]))] = draw(values)
        elif edit == 2:
            target = item()
            target[draw(st.sampled_from(keys["item"]))] = draw(values)
        elif edit == 3:
            owner = doc if fmt == "postal" or draw(st.booleans()) else consignment()
            party = draw(st.sampled_from(keys["party"]))
            current = owner.get(party)
            if isinstance(current, dict) and draw(st.booleans()):
                current[draw(st.sampled_from(["id", "name", "country", "city", "x"]))] = draw(
                    values
                )
            else:
                owner[party] = draw(st.one_of(values, st.just({"name": "Z", "country": "de"})))
        elif edit == 4:
            owner = draw(st.sampled_from([doc, consignment(), item()]))
            if owner:
                owner.pop(draw(st.sampled_from(sorted(owner))), None)
        elif edit == 5:
            owner = draw(st.sampled_from([doc, consignment(), item()]))
            name = draw(st.sampled_from(["note", "_record", "filing_id", "i.x", "", "_path"]))
            owner[name] = draw(st.one_of(st.none(), values))
        elif edit == 6:
            cons = consignment()
            key = "contents" if fmt == "postal" else "items"
            if isinstance(cons.get(key), list) and cons[key]:
                cons[key].append(copy.deepcopy(draw(st.sampled_from(cons[key]))))
        elif edit == 7 and fmt == "json" and isinstance(doc.get("consignments"), list):
            extra = copy.deepcopy(draw(st.sampled_from(doc["consignments"])))
            if draw(st.booleans()):
                extra["consignment_id"] = draw(st.sampled_from(["X-1", "x-2", None]))
            doc["consignments"].append(extra)
    return doc


MUTATION_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@MUTATION_SETTINGS
@given(mutated("json"))
def test_mutated_wco_filings_are_none_or_exact(doc: dict[str, Any]) -> None:
    check(doc, "json")


@MUTATION_SETTINGS
@given(mutated("postal"))
def test_mutated_postal_items_are_none_or_exact(doc: dict[str, Any]) -> None:
    check(doc, "postal")


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(values, dates, numbers_as_text),
    field=st.sampled_from(
        [
            ("top", "filed_at"),
            ("cons", "total_value"),
            ("cons", "total_packages"),
            ("cons", "total_gross_mass_kg"),
            ("cons", "expected_arrival_at"),
            ("cons", "country_of_dispatch"),
            ("item", "hs_code"),
            ("item", "value"),
            ("item", "item_no"),
            ("item", "quantity"),
            ("item", "description"),
        ]
    ),
)
def test_single_field_values_are_none_or_exact(value: Any, field: tuple[str, str]) -> None:
    doc = make_filing(items=2)
    level, key = field
    if level == "top":
        doc[key] = value
    elif level == "cons":
        doc["consignments"][0][key] = value
    else:
        for item in doc["consignments"][0]["items"]:
            item[key] = value
    check(doc, "json")


def test_mutations_exercise_covered_edits() -> None:
    """The value strategies must reach covered, non-trivial values too (not only None)."""
    covered = 0
    for value in ["2026-11-20T08:30:00.123456789-05:30", "1234.56789", "+7", " 6109 10 ", "de"]:
        doc = make_filing()
        doc["filed_at"] = value if value.startswith("2026") else doc["filed_at"]
        doc["consignments"][0]["total_value"] = value if value[0] in "1+" else "24.80"
        doc["consignments"][0]["items"][0]["hs_code"] = value if "6109" in value else "610910"
        doc["consignments"][0]["seller"]["country"] = value if value == "de" else "CN"
        covered += check(doc, "json") is not None
    assert covered == 5
