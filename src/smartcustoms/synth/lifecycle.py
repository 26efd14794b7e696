"""Lifecycle timelines: when each consignment is lodged, arrives, is controlled and released.

The milestones are those the WCO Time Release Study (TRS) guide measures: lodgement (often
before arrival - pre-arrival processing), arrival, unloading, acceptance, risk decision,
documentary check and physical inspection for the few selected, other-agency holds for a
handful, assessment, payment, release and exit. Automated steps (acceptance, risk decision,
assessment) take seconds at any hour; manual ones (checks, inspections, agency decisions) wait
for the office to open, so a parcel selected on Friday night waits for Monday morning. Trusted
(AEO-like) operators lodge earlier, are selected less often, queue less and pay through
deferred accounts.

All times are integer seconds since the Unix epoch (UTC) inside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.model.columns import TIMESTAMP
from smartcustoms.model.events import EVENT_SCHEMA, EventType
from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth.catalogue import Office
from smartcustoms.synth.goods import FraudCode

__all__ = ["EVENT_ORDER", "EventInputs", "OfficeClock", "Timelines"]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

MINUTE: Final = 60
HOUR: Final = 3600
DAY: Final = 86_400

EVENT_ORDER: Final = tuple(EventType)
"""Canonical order of event types, used to break ties between events at the same second."""

_RANK = {e: i for i, e in enumerate(EVENT_ORDER)}


class OfficeClock:
    """Opening hours of the offices of a run, answering "when can manual work start?".

    Args:
        offices: The offices, indexed as in the run.
    """

    def __init__(self, offices: tuple[Office, ...]) -> None:
        self.offices = offices
        self._wait = [self._wait_table(o.open_minutes()) for o in offices]

    @staticmethod
    def _wait_table(open_week: B) -> I64:
        """Minutes from each minute of the week until the office is next open (0 if open)."""
        n = len(open_week)
        if not open_week.any():
            return np.zeros(n, dtype=np.int64)
        wait = np.zeros(n, dtype=np.int64)
        nxt = 0
        # Two passes round the week so Sunday night sees Monday morning.
        for i in range(2 * n - 1, -1, -1):
            j = i % n
            nxt = 0 if open_week[j] else nxt + 1
            if i < n:
                wait[j] = nxt
        return wait

    def next_open(self, seconds: I64, office: I64) -> I64:
        """The first open instant at or after each time, in its office's local time."""
        out = seconds.copy()
        for o, info in enumerate(self.offices):
            mask = office == o
            if not mask.any():
                continue
            local = (
                pl.Series(seconds[mask] * 1_000_000, dtype=pl.Int64)
                .cast(TIMESTAMP)
                .dt.convert_time_zone(info.timezone)
                .dt.replace_time_zone(None)
            )
            minute_of_week = (
                (local.dt.weekday().cast(pl.Int64) - 1) * 1440
                + local.dt.hour().cast(pl.Int64) * 60
                + local.dt.minute().cast(pl.Int64)
            ).to_numpy()
            wait = self._wait[o][minute_of_week]
            opened = (
                (local.dt.truncate("1m") + pl.Series(wait * 60_000_000).cast(pl.Duration("us")))
                .dt.replace_time_zone(info.timezone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
                .dt.epoch("s")
                .fill_null(0)
                .to_numpy()
            )
            out[mask] = np.where(wait > 0, opened, seconds[mask])
        return out


@dataclass(frozen=True)
class EventInputs:
    """Per-consignment facts the timeline depends on.

    Attributes:
        idx: Global consignment indices (random keys).
        office: Office index.
        arrival: Arrival (landing) time, epoch seconds.
        lodgement: Lodgement time (the filing's ``filed_at``), epoch seconds.
        is_postal: Postal item rather than express.
        is_trusted: Filer or carrier is an AEO-like trusted operator.
        fraud: :class:`~smartcustoms.synth.goods.FraudCode` per consignment.
        has_restricted: The parcel really holds restricted goods.
        has_ioss: VAT was collected at sale (no payment at import).
    """

    idx: I64
    office: I64
    arrival: I64
    lodgement: I64
    is_postal: B
    is_trusted: B
    fraud: npt.NDArray[np.int8]
    has_restricted: B
    has_ioss: B


class Timelines:
    """Draws lodgement times and full event timelines.

    Args:
        rnd: The run's keyed random source.
        clock: Opening hours of the run's offices.
        office_codes: Office code per office index (the ``office`` column of events).
    """

    def __init__(self, rnd: KeyedRandom, clock: OfficeClock, office_codes: tuple[str, ...]):
        self.rnd = rnd
        self.clock = clock
        self.office_codes = pl.Series(office_codes, dtype=pl.String)

    def _lognormal_s(self, stream: str, idx: I64, median_s: npt.ArrayLike, sigma: float) -> I64:
        return np.rint(self.rnd.lognormal(stream, idx, median_s, sigma)).astype(np.int64)

    def lodgement(
        self, idx: I64, arrival: I64, office: I64, *, is_postal: B, is_trusted: B, is_broker: B
    ) -> tuple[I64, B]:
        """When each consignment's data is lodged, and whether that is before arrival.

        Express carriers lodge almost everything before arrival (ICS2-style advance data);
        postal operators less often; brokers lodging after arrival do it in office hours.
        """
        rnd = self.rnd
        p_pre = np.where(is_postal, 0.7, np.where(is_broker, 0.8, 0.92))
        p_pre = np.where(is_trusted, np.minimum(0.98, p_pre + 0.05), p_pre)
        pre = rnd.bernoulli("ev.prearrival", idx, p_pre)
        lead = np.clip(self._lognormal_s("ev.lead", idx, 5 * HOUR, 0.8), 15 * MINUTE, 72 * HOUR)
        lag = np.clip(self._lognormal_s("ev.lag", idx, 2 * HOUR, 1.0), 2 * MINUTE, 4 * DAY)
        after = arrival + lag
        after = np.where(is_broker, self.clock.next_open(after, office), after)
        return np.where(pre, arrival - lead, after), pre

    def events(self, x: EventInputs, consignment_id: pl.Series) -> pl.DataFrame:
        """The lifecycle events of the consignments, ordered in time within each one.

        Returns:
            A frame with :data:`~smartcustoms.model.events.EVENT_SCHEMA`, ``source="synth"``.
        """
        rnd, idx, clock = self.rnd, x.idx, self.clock
        n = len(idx)
        speed = np.where(x.is_trusted, 0.5, 1.0)
        fraud = x.fraud != FraudCode.NONE
        hidden = x.fraud == FraudCode.VAGUE_DESCRIPTION_RESTRICTED

        unloading = x.arrival + np.clip(
            self._lognormal_s("ev.unload", idx, 45 * MINUTE, 0.5), 10 * MINUTE, 6 * HOUR
        )
        acceptance = x.lodgement + self._lognormal_s("ev.accept", idx, 90, 1.0)
        decision = acceptance + self._lognormal_s("ev.risk", idx, 20, 0.8)

        p_red = np.where(hidden, 0.2, np.where(fraud, 0.08, 0.02)) * speed
        p_yellow = np.where(fraud, 0.10, 0.05) * speed
        u_lane = rnd.uniform("ev.lane", idx)
        red = u_lane < p_red
        yellow = ~red & (u_lane < p_red + p_yellow)

        queue_doc = np.rint(rnd.exponential("ev.queue.doc", idx, 40 * MINUTE * speed))
        doc_start = clock.next_open(
            np.maximum(decision, x.arrival) + queue_doc.astype(np.int64), x.office
        )
        doc_end = doc_start + self._lognormal_s("ev.doc", idx, 20 * MINUTE, 0.5)
        queue_phys = np.rint(rnd.exponential("ev.queue.phys", idx, 2 * HOUR * speed))
        phys_start = clock.next_open(
            np.maximum(decision, unloading) + queue_phys.astype(np.int64), x.office
        )
        phys_end = phys_start + self._lognormal_s("ev.phys", idx, 35 * MINUTE, 0.5)
        controls_end = np.where(red, phys_end, np.where(yellow, doc_end, decision))

        p_hold = np.where(x.has_restricted, np.where(red, 0.6, 0.02), 0.002)
        held = rnd.bernoulli("ev.hold", idx, p_hold)
        hold = controls_end + self._lognormal_s("ev.hold.at", idx, 2 * MINUTE, 0.5)
        agency_release = clock.next_open(
            hold + self._lognormal_s("ev.hold.for", idx, 20 * HOUR, 0.7), x.office
        )
        cleared = np.where(held, agency_release, controls_end)

        assessment = cleared + self._lognormal_s("ev.assess", idx, 30, 0.7)
        deferred = x.is_trusted | x.is_postal
        pay_delay = np.where(
            deferred,
            self._lognormal_s("ev.pay.deferred", idx, 20, 0.5),
            np.minimum(self._lognormal_s("ev.pay", idx, 3 * HOUR, 1.0), 5 * DAY),
        )
        paid = ~x.has_ioss
        payment = assessment + pay_delay
        release = np.maximum(np.where(paid, payment, assessment), unloading) + self._lognormal_s(
            "ev.release", idx, 60, 0.5
        )
        exit_at = release + self._lognormal_s(
            "ev.exit", idx, np.where(x.is_postal, 6 * HOUR, 2.5 * HOUR), 0.6
        )

        always = np.ones(n, dtype=np.bool_)
        columns: list[tuple[EventType, I64, B]] = [
            (EventType.LODGEMENT, x.lodgement, always),
            (EventType.ARRIVAL, x.arrival, always),
            (EventType.UNLOADING, unloading, always),
            (EventType.ACCEPTANCE, acceptance, always),
            (EventType.RISK_DECISION, decision, always),
            (EventType.DOCUMENT_CHECK_START, doc_start, yellow),
            (EventType.DOCUMENT_CHECK_END, doc_end, yellow),
            (EventType.PHYSICAL_INSPECTION_START, phys_start, red),
            (EventType.PHYSICAL_INSPECTION_END, phys_end, red),
            (EventType.AGENCY_HOLD, hold, held),
            (EventType.AGENCY_RELEASE, agency_release, held),
            (EventType.ASSESSMENT, assessment, always),
            (EventType.PAYMENT, payment, paid),
            (EventType.RELEASE, release, always),
            (EventType.EXIT, exit_at, always),
        ]
        rows = np.concatenate([np.flatnonzero(m) for _, _, m in columns])
        times = np.concatenate([t[m] for _, t, m in columns])
        ranks = np.concatenate([np.full(int(m.sum()), _RANK[e]) for e, _, m in columns])
        # One int64 sort key (consignment row, time, canonical rank) is much faster than a
        # lexsort: 31 bits of seconds from a month before the earliest time cover 60 years.
        t0 = int(times.min()) - 30 * DAY if len(times) else 0
        order = np.argsort(((rows << 31) | (times - t0)) << 4 | ranks, kind="stable")
        rows, times, ranks = rows[order], times[order], ranks[order]
        types = pl.Series([e.value for e in EVENT_ORDER], dtype=pl.String)
        frame = pl.DataFrame(
            {
                "consignment_id": consignment_id.gather(rows),
                "event_type": types.gather(ranks),
                "occurred_at": pl.Series(times * 1_000_000, dtype=pl.Int64).cast(TIMESTAMP),
                "office": self.office_codes.gather(x.office[rows]),
            }
        )
        return frame.with_columns(source=pl.lit("synth", pl.String)).select(
            [pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items()]
        )
