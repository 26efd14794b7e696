"""Synthetic cross-border e-commerce traffic with planted fraud and lifecycle timelines.

Realistic traffic for demos, tests and benchmarks: marketplaces, sellers and buyers from
heavy-tailed pools with repeat behaviour; postal (UPU S10 items in receptacles) and express
(house and master air waybills) carriers; an e-commerce HS mix with log-normal values and
masses per subheading; origins, offices of arrival and filers; lifecycle events from lodgement
(often before arrival) to exit, shaped by office hours and trusted-operator status; and planted
non-compliance - undervaluation, misclassification to a lower-duty code, split shipments,
restricted goods behind vague descriptions, repeat-offender sellers - with ground-truth labels
and the revenue at stake computed by :mod:`smartcustoms.tariff`.

Everything is deterministic per seed and independent of chunk size; generation is vectorised
and streams chunk by chunk::

    from smartcustoms.synth import TrafficConfig, generate_traffic, write_traffic

    for chunk in generate_traffic(TrafficConfig(consignments=100_000, seed=7)):
        chunk.consignments, chunk.items  # canonical frames, as intake would produce
        chunk.events, chunk.labels       # lifecycle events, ground truth

    write_traffic(TrafficConfig(consignments=1_000_000, seed=7), "day.jsonl",
                  events="events.parquet", labels="labels.parquet")

:func:`generate_timelines` draws the lifecycle timelines alone (with the consignment facts
a Time Release Study breaks figures down by), about ten times faster, for release-time
benchmarks. See ``docs/synthetic-traffic.md``.
"""

from __future__ import annotations

from smartcustoms.synth.bad_sample import (
    BadLine,
    BadSampleManifest,
    manifest_path,
    write_bad_sample,
)
from smartcustoms.synth.catalogue import Catalogue, load_catalogue
from smartcustoms.synth.columns import LABEL_SCHEMA
from smartcustoms.synth.config import (
    DEFAULT_OFFICE,
    DEFAULT_START,
    FraudRates,
    FraudType,
    TrafficConfig,
)
from smartcustoms.synth.files import TrafficSummary, write_traffic
from smartcustoms.synth.identifiers import s10_check_digit
from smartcustoms.synth.revenue import (
    Assessor,
    revenue_at_stake,
    tariff_assessor,
    with_revenue_at_stake,
)
from smartcustoms.synth.timelines import TimelineChunk, generate_timelines
from smartcustoms.synth.traffic import TrafficChunk, TrafficGenerator, generate_traffic
from smartcustoms.synth.writers import TableWriter, filing_records, item_rows

__all__ = [
    "DEFAULT_OFFICE",
    "DEFAULT_START",
    "LABEL_SCHEMA",
    "Assessor",
    "BadLine",
    "BadSampleManifest",
    "Catalogue",
    "FraudRates",
    "FraudType",
    "TableWriter",
    "TimelineChunk",
    "TrafficChunk",
    "TrafficConfig",
    "TrafficGenerator",
    "TrafficSummary",
    "filing_records",
    "generate_timelines",
    "generate_traffic",
    "item_rows",
    "load_catalogue",
    "manifest_path",
    "revenue_at_stake",
    "s10_check_digit",
    "tariff_assessor",
    "with_revenue_at_stake",
    "write_bad_sample",
    "write_traffic",
]
