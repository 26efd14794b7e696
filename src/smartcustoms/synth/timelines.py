"""Lifecycle timelines alone, fast: events and consignment facts for release-time studies.

:func:`generate_timelines` draws only what the timelines depend on - office, arrival,
postal or express, trusted operator, restricted goods, IOSS, one HS subheading - and hands
it to the same :class:`~smartcustoms.synth.lifecycle.Timelines` that full traffic uses, so
office hours, weekends, inspection queues, agency holds, faster AEO and pre-arrival flows
are the same. It skips goods items, parties, references and filings, which makes it about
ten times faster than :func:`~smartcustoms.synth.traffic.generate_traffic`: tens of
millions of consignments for the Time Release Study benchmark.

Each chunk also carries the consignment facts the study breaks figures down by
(:data:`~smartcustoms.trs.columns.ATTRIBUTE_SCHEMA` columns ``transport_mode``,
``aeo_status``, ``hs_code``); the lane is left to be read from the events. Trusted operators
are AEOs of this administration or, one in four, recognised under an MRA.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import polars as pl

from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth.arrivals import ArrivalCurve
from smartcustoms.synth.catalogue import load_catalogue
from smartcustoms.synth.config import DEFAULT_START
from smartcustoms.synth.goods import FraudCode
from smartcustoms.synth.lifecycle import EventInputs, OfficeClock, Timelines

__all__ = ["TIMELINE_ATTRIBUTE_SCHEMA", "TimelineChunk", "generate_timelines"]

TIMELINE_ATTRIBUTE_SCHEMA: Final = pl.Schema(
    [
        ("consignment_id", pl.String()),
        ("transport_mode", pl.String()),
        ("aeo_status", pl.String()),
        ("hs_code", pl.String()),
    ]
)
"""Consignment facts of a timeline chunk (``aeo_status``: ``national``, ``mra`` or ``none``)."""

_POSTAL_SHARE: Final = 0.55
_TRUSTED_SHARE: Final = 0.25
_MRA_SHARE: Final = 0.25
_BROKER_SHARE: Final = 0.08
_RESTRICTED_SHARE: Final = 0.01
_IOSS_SHARE: Final = 0.5
_FRAUD_SHARE: Final = 0.04


@dataclass(frozen=True)
class TimelineChunk:
    """Events and facts of consecutive consignments.

    Attributes:
        first: Position of the chunk's first consignment in the run.
        events: Lifecycle events (:data:`~smartcustoms.model.events.EVENT_SCHEMA`), in time
            order within each consignment.
        attributes: One row per consignment (:data:`TIMELINE_ATTRIBUTE_SCHEMA`).
    """

    first: int
    events: pl.DataFrame
    attributes: pl.DataFrame


def generate_timelines(
    consignments: int,
    *,
    seed: int = 7,
    start: datetime = DEFAULT_START,
    days: float = 28.0,
    offices: tuple[str, ...] | None = None,
    chunk_size: int = 500_000,
) -> Iterator[TimelineChunk]:
    """Generate lifecycle timelines chunk by chunk (deterministic per seed and chunk size).

    Args:
        consignments: How many consignments.
        seed: The run's seed.
        start: Start of the arrival period (timezone-aware).
        days: Length of the arrival period.
        offices: Office codes of ``data/world.toml`` (default: all of them).
        chunk_size: Consignments per chunk.

    Yields:
        Chunks in run order; consignment ids are ``T`` + 11 digits of the position.
    """
    catalogue = load_catalogue()
    codes = offices or tuple(catalogue.offices)
    chosen = tuple(catalogue.offices[c] for c in codes)
    rnd = KeyedRandom(seed)
    timelines = Timelines(rnd, OfficeClock(chosen), codes)
    curve = ArrivalCurve(start, days, chosen[0].timezone, consignments)
    profiles = catalogue.profiles
    for lo in range(0, consignments, chunk_size):
        idx = np.arange(lo, min(consignments, lo + chunk_size), dtype=np.int64)
        office = rnd.integers("tl.office", idx, 0, len(chosen))
        arrival = curve.times(idx, rnd.uniform("tl.arrival", idx))
        is_postal = rnd.bernoulli("tl.postal", idx, _POSTAL_SHARE)
        is_trusted = rnd.bernoulli("tl.trusted", idx, _TRUSTED_SHARE) & ~is_postal
        is_mra = is_trusted & rnd.bernoulli("tl.mra", idx, _MRA_SHARE)
        profile = rnd.choice("tl.hs", idx, profiles.weight)
        restricted = profiles.restricted[profile] | rnd.bernoulli(
            "tl.restricted", idx, _RESTRICTED_SHARE
        )
        fraud = np.where(
            rnd.bernoulli("tl.fraud", idx, _FRAUD_SHARE),
            np.int8(FraudCode.UNDERVALUATION),
            np.int8(FraudCode.NONE),
        ).astype(np.int8)
        lodgement, _ = timelines.lodgement(
            idx,
            arrival,
            office,
            is_postal=is_postal,
            is_trusted=is_trusted,
            is_broker=rnd.bernoulli("tl.broker", idx, _BROKER_SHARE),
        )
        ids = pl.Series("consignment_id", [f"T{i:011d}" for i in idx.tolist()], dtype=pl.String)
        events = timelines.events(
            EventInputs(
                idx=idx,
                office=office,
                arrival=arrival,
                lodgement=lodgement,
                is_postal=is_postal,
                is_trusted=is_trusted,
                fraud=fraud,
                has_restricted=restricted,
                has_ioss=rnd.bernoulli("tl.ioss", idx, _IOSS_SHARE),
            ),
            ids,
        )
        attributes = pl.DataFrame(
            {
                "consignment_id": ids,
                "transport_mode": np.where(is_postal, "5", "4"),
                "aeo_status": np.where(is_mra, "mra", np.where(is_trusted, "national", "none")),
                "hs_code": profiles.hs6.gather(profile),
            },
            schema=TIMELINE_ATTRIBUTE_SCHEMA,
        )
        yield TimelineChunk(first=lo, events=events, attributes=attributes)
