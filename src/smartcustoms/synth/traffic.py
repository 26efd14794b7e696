"""Synthetic cross-border e-commerce traffic, generated chunk by chunk as canonical frames.

:func:`generate_traffic` yields :class:`TrafficChunk` objects: the *declared* consignments and
goods items (exactly the canonical :data:`~smartcustoms.model.CONSIGNMENT_SCHEMA` /
:data:`~smartcustoms.model.ITEM_SCHEMA` frames intake would produce from the filings), the
*true* facts behind them (same schemas), lifecycle events and ground-truth labels.

Every value is a keyed-random function of the seed and the consignment's position in the run
(:mod:`smartcustoms.synth._keyed`), so the traffic is identical whatever the chunk size, and
each chunk is generated on its own in bounded memory - ten million consignments stream through
the same code as ten.

How a consignment comes about, in order: split-order windows and batch-filing windows are
decided for aligned groups of positions; the seller (heavy-tailed pool) and buyer follow; the
seller's habits choose marketplace, carrier (postal or express), currency and goods category;
fraud is planted according to the seller's honesty; the consignment is put on a flight; goods
are drawn; the filer lodges (often before arrival); customs processes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.model.columns import CONSIGNMENT_ID, TOTAL_VALUE
from smartcustoms.model.events import EVENT_SCHEMA
from smartcustoms.synth._keyed import KeyedRandom
from smartcustoms.synth.arrivals import SLOT_SECONDS, ArrivalCurve
from smartcustoms.synth.canonical import (
    Gaps,
    consignment_frame,
    item_frames,
    keep,
    label_frame,
    money,
)
from smartcustoms.synth.catalogue import Catalogue, load_catalogue
from smartcustoms.synth.config import FILING_WINDOW, SPLIT_WINDOW, TrafficConfig
from smartcustoms.synth.fraud import FraudPlan, declare, schedule_duty_rates
from smartcustoms.synth.goods import DE_MINIMIS_EUR, GoodsDrawer
from smartcustoms.synth.lifecycle import EventInputs, OfficeClock, Timelines
from smartcustoms.synth.operators import (
    BROKER,
    EXPRESS,
    FILER_ROLES,
    MARKETPLACE,
    POSTAL,
    Operators,
)
from smartcustoms.synth.parties import Population
from smartcustoms.synth.references import References

__all__ = ["TrafficChunk", "TrafficGenerator", "generate_traffic"]

_BATCH_BY_MARKETPLACE: Final = 0.4
_MARKETPLACE_SWITCH: Final = 0.2
_MARKETPLACE_FILES_ITSELF: Final = 0.25
_USUAL_CARRIER: Final = 0.8
_POSTAL_IF_PREFERRED: Final = 0.85
_POSTAL_OTHERWISE: Final = 0.15


@dataclass(frozen=True)
class TrafficChunk:
    """One chunk of synthetic traffic.

    Attributes:
        number: 0-based chunk number.
        first: Run position of the chunk's first consignment.
        consignments: Declared consignments (``CONSIGNMENT_SCHEMA``), filings contiguous.
        items: Declared goods items (``ITEM_SCHEMA``), in consignment order.
        true_consignments: The same consignments with the true ``total_value``.
        true_items: The true goods items (real description, code and value).
        events: Lifecycle events (``EVENT_SCHEMA``), time-ordered per consignment.
        labels: Ground truth (:data:`~smartcustoms.synth.columns.LABEL_SCHEMA`);
            ``revenue_at_stake`` is null until :mod:`smartcustoms.synth.revenue` fills it.
    """

    number: int
    first: int
    consignments: pl.DataFrame
    items: pl.DataFrame
    true_consignments: pl.DataFrame
    true_items: pl.DataFrame
    events: pl.DataFrame
    labels: pl.DataFrame

    @property
    def filings(self) -> int:
        """Number of filings in the chunk."""
        return int(self.consignments["filing_id"].n_unique())


class TrafficGenerator:
    """Generates the chunks of one run; holds everything computed once per run.

    Args:
        config: The run.
        catalogue: Reference data (the shipped one by default).
        duty_rates: Duty rate (percent) per HS profile, used to pick the lower-duty codes of
            misclassification; by default the shipped tariff schedule's
            (:func:`~smartcustoms.synth.fraud.schedule_duty_rates`).
        with_events: Generate lifecycle events (skipping them saves a third of the time when
            only filings are wanted; ``events`` is then empty).

    Raises:
        InvalidInputError: When an office is unknown to the catalogue.
    """

    def __init__(
        self,
        config: TrafficConfig,
        catalogue: Catalogue | None = None,
        *,
        duty_rates: npt.ArrayLike | None = None,
        with_events: bool = True,
    ) -> None:
        self.config = config
        self.with_events = with_events
        cat = catalogue or load_catalogue()
        unknown = [o for o in config.offices if o not in cat.offices]
        if unknown:
            raise InvalidInputError.with_problems(
                f"unknown office(s) {', '.join(unknown)}; known: {', '.join(sorted(cat.offices))}",
                [Problem("synth.office", "offices", f"unknown office {o}") for o in unknown],
            )
        if duty_rates is None:
            duty_rates = schedule_duty_rates(cat, config.start.date())
        cat = replace(cat, profiles=cat.profiles.with_duty_rates(duty_rates))
        self.catalogue = cat
        self.rnd = rnd = KeyedRandom(config.seed)
        self.offices = tuple(cat.offices[o] for o in config.offices)
        self.population = pop = Population(
            cat,
            rnd,
            sellers=config.sellers,
            buyers=config.buyers,
            offender_share=config.fraud.repeat_offender_share,
        )
        self.plan = FraudPlan(config.fraud, rnd, pop.offender_traffic_share())
        self.drawer = GoodsDrawer(
            cat,
            rnd,
            pop.currencies,
            vague_description_share=config.vague_description_share,
            round_value_share=config.round_value_share,
        )
        self.arrivals = ArrivalCurve(
            config.start, config.days, self.offices[0].timezone, config.consignments
        )
        self.timelines = Timelines(
            rnd, OfficeClock(self.offices), tuple(o.code for o in self.offices)
        )
        self.operators = Operators(cat, self.offices)
        self.references = References(
            cat, rnd, self.offices, pop.destination_codes, config.start.year
        )
        self.gaps = Gaps(rnd, config.missing_optional_share)
        self._office_dest = np.array(
            [pop.destination_codes.index(o.country) for o in self.offices], dtype=np.int64
        )
        self._office_codes = pl.Series([o.code for o in self.offices], dtype=pl.String)
        self._currencies = pl.Series(pop.currencies, dtype=pl.String)
        self._filer_roles = pl.Series(FILER_ROLES, dtype=pl.String)
        markets = cat.marketplaces
        self._market_ids = pl.Series([m.id for m in markets], dtype=pl.String)
        self._market_weight = np.array([m.weight for m in markets])
        self._market_files = np.array([m.files_directly for m in markets])
        self._direct_filers = np.flatnonzero(self._market_files).astype(np.int64)
        self._market_ioss_share = np.array([m.ioss_share for m in markets])
        self._broker_weight = np.array([b.weight for b in cat.brokers])
        self._express_weight = np.array([c.weight for c in cat.express_carriers])

    def bounds(self) -> Iterator[tuple[int, int]]:
        """``(first, end)`` run positions of each chunk."""
        size = self.config.effective_chunk_size
        for lo in range(0, self.config.consignments, size):
            yield lo, min(lo + size, self.config.consignments)

    def __iter__(self) -> Iterator[TrafficChunk]:
        for number, (lo, hi) in enumerate(self.bounds()):
            yield self.chunk(number, lo, hi)

    def chunk(self, number: int, lo: int, hi: int) -> TrafficChunk:
        """Generate consignments ``lo`` to ``hi - 1`` of the run.

        ``lo`` and ``hi`` should be multiples of :data:`FILING_WINDOW` (``hi`` may be the run's
        end) so that no batch filing is cut in two.
        """
        cfg, rnd, pop, cat = self.config, self.rnd, self.population, self.catalogue
        idx = np.arange(lo, hi, dtype=np.int64)
        n = len(idx)

        # Split orders: the first 2-3 positions of an aligned window share one order (seller,
        # buyer, marketplace, office, currency, carrier): every order-level draw is keyed by
        # ``group``, the window start for split parts and the position otherwise.
        window = idx - idx % SPLIT_WINDOW
        window_seller = pop.draw_sellers(window)
        split_window, parts = self.plan.split_windows(
            window, window_seller, pop.offender_flags(window_seller)
        )
        in_split = split_window & (idx - window < parts)
        group = np.where(in_split, window, idx)

        seller_rank = pop.draw_sellers(group)
        sellers = pop.seller_table(seller_rank)
        fraud = self.plan.assign(idx, in_split, seller_rank, sellers.is_offender)

        # Batch filings: the first k positions of an aligned window, one broker or marketplace.
        fwin = idx - idx % FILING_WINDOW
        batch = rnd.bernoulli("batch", fwin, cfg.batch_filing_share)
        size = rnd.integers("batch.size", fwin, 2, FILING_WINDOW + 1)
        in_batch = batch & (idx - fwin < size)
        batch_by_market = rnd.bernoulli("batch.marketplace", fwin, _BATCH_BY_MARKETPLACE)
        batch_market = self._direct_filers[
            rnd.choice("batch.marketplace.which", fwin, self._market_weight[self._direct_filers])
        ]
        batch_broker = rnd.choice("batch.broker", fwin, self._broker_weight)

        # Sellers mostly sell through their usual marketplace; a marketplace filing a batch
        # sold every order in it.
        other_market = rnd.choice("marketplace.other", group, self._market_weight)
        switch = (sellers.marketplace >= 0) & rnd.bernoulli(
            "marketplace.switch", group, _MARKETPLACE_SWITCH
        )
        marketplace = np.where(switch, other_market, sellers.marketplace)
        group_in_batch = batch & (group - fwin < size)
        marketplace = np.where(group_in_batch & batch_by_market, batch_market, marketplace)
        has_market = marketplace >= 0

        broker_batch = in_batch & ~batch_by_market
        p_postal = np.where(sellers.prefers_postal, _POSTAL_IF_PREFERRED, _POSTAL_OTHERWISE)
        is_postal = ~broker_batch & rnd.bernoulli("carrier.postal", group, p_postal)
        express = np.where(
            rnd.bernoulli("carrier.usual", group, _USUAL_CARRIER),
            sellers.express_carrier,
            rnd.choice("carrier.express", group, self._express_weight),
        )
        office = rnd.integers("office", group, 0, len(self.offices))

        market_files = np.zeros(n, dtype=np.bool_)
        market_files[has_market] = self._market_files[marketplace[has_market]]
        market_files &= rnd.bernoulli("filer.marketplace", idx, _MARKETPLACE_FILES_ITSELF)
        role = np.where(is_postal, POSTAL, EXPRESS)
        role = np.where(market_files | (in_batch & batch_by_market), MARKETPLACE, role)
        role = np.where(broker_batch, BROKER, role)
        ops = self.operators
        filer_row = ops.filer_rows(
            role, office=office, express=express, marketplace=marketplace, broker=batch_broker
        )
        carrier_row = ops.carrier_rows(is_postal, origin=sellers.origin, express=express)
        is_trusted = ops.is_trusted(filer_row, carrier_row)

        # Arrival on a flight: one landing per origin, carrier and half-hour slot.
        arrival = self.arrivals.times(idx, rnd.uniform("arrival", idx))
        slot = self.arrivals.slot(arrival)
        flight = slot * 10_000 + sellers.origin * 100 + np.where(is_postal, 99, express)
        landing = self.arrivals.slot_start(slot) + rnd.integers(
            "flight.landing", flight, 0, SLOT_SECONDS
        )
        landing = np.minimum(landing, self.arrivals.end_s - 1)

        # Lodgement; a batch filing is lodged once, when its earliest consignment is.
        lodged, prearrival = self.timelines.lodgement(
            idx,
            landing,
            office,
            is_postal=is_postal,
            is_trusted=is_trusted,
            is_broker=role == BROKER,
        )
        filing_first = np.where(in_batch, fwin, idx)
        starts = np.flatnonzero(np.diff(filing_first, prepend=-1) != 0)
        filed_at = np.repeat(np.minimum.reduceat(lodged, starts), np.diff(np.append(starts, n)))

        # Goods: true, then declared.
        national = ~is_postal & rnd.bernoulli("hs.national", group, cfg.national_line_share)
        hs_digits = np.where(
            national, np.where(rnd.bernoulli("hs.ten", group, 0.5), 10, 8), 6
        ).astype(np.int64)
        goods = self.drawer.draw(
            idx,
            category=sellers.category,
            seller_origin=sellers.origin,
            currency=sellers.currency,
            fraud=fraud,
            hs_digits=hs_digits,
        )
        unit = self.drawer.unit[sellers.currency].astype(np.int64)
        rate = self.drawer.rate_to_eur[sellers.currency]
        declared = declare(
            goods,
            catalogue=cat,
            rnd=rnd,
            idx=idx,
            fraud=fraud,
            hs_digits=hs_digits,
            unit=unit,
            rate_to_eur=rate,
        )
        row = goods.consignment_row
        item_counts = np.bincount(row, minlength=n).astype(np.int64)
        true_total = np.bincount(row, weights=goods.value_minor, minlength=n).astype(np.int64)
        declared_total = np.bincount(row, weights=declared.value_minor, minlength=n)
        declared_total = declared_total.astype(np.int64)
        restricted = cat.profiles.restricted[goods.profile]
        has_restricted = np.bincount(row, weights=restricted, minlength=n) > 0

        # IOSS: VAT collected at sale, for consignments up to EUR 150 only.
        low_value = declared_total / unit * rate <= DE_MINIMIS_EUR
        market_ioss = has_market & rnd.bernoulli(
            "ioss.marketplace", group, self._market_ioss_share[np.maximum(marketplace, 0)]
        )
        own_ioss = sellers.has_own_ioss & rnd.bernoulli("ioss.own", group, 0.9)
        has_ioss = low_value & (market_ioss | own_ioss)

        references = self.references.build(
            idx=idx,
            window=window,
            in_split=in_split,
            group=group,
            flight=flight,
            origin=sellers.origin,
            seller_rank=seller_rank,
            office=office,
            is_postal=is_postal,
            express=express,
            marketplace=marketplace,
            filing_first=filing_first,
            market_ioss=market_ioss,
            has_ioss=has_ioss,
        )
        consignment_id = references[CONSIGNMENT_ID]
        consignments = consignment_frame(
            rnd=rnd,
            gaps=self.gaps,
            idx=idx,
            group=group,
            references=references,
            filer_role=self._filer_roles.gather(role),
            filers=ops.filers.select(pl.all().gather(filer_row)),
            carriers=ops.carriers.select(pl.all().gather(carrier_row)),
            sellers=sellers.parties,
            buyers=pop.buyer_table(pop.draw_buyers(group), self._office_dest[office]).parties,
            office=self._office_codes.gather(office),
            dispatch=self.references.origin_countries.gather(sellers.origin),
            marketplace_id=keep(self._market_ids.gather(np.maximum(marketplace, 0)), has_market),
            currency=self._currencies.gather(sellers.currency),
            filed_at=filed_at,
            landing=landing,
            prearrival=prearrival,
            is_postal=is_postal,
            unit=unit,
            rate=rate,
            declared_total=declared_total,
            goods=goods,
        )
        items, true_items = item_frames(
            gaps=self.gaps,
            profiles=cat.profiles,
            consignment_id=consignment_id,
            goods=goods,
            declared=declared,
            unit=unit,
        )
        events = pl.DataFrame(schema=EVENT_SCHEMA)
        if self.with_events:
            events = self.timelines.events(
                EventInputs(
                    idx=idx,
                    office=office,
                    arrival=landing,
                    lodgement=filed_at,
                    is_postal=is_postal,
                    is_trusted=is_trusted,
                    fraud=fraud,
                    has_restricted=has_restricted,
                    has_ioss=has_ioss,
                ),
                consignment_id,
            )
        labels = label_frame(
            consignments,
            fraud=fraud,
            is_offender=sellers.is_offender,
            split_group_id=keep(self.references.split_order_ids(window), in_split),
            true_total=true_total,
            declared_total=declared_total,
            unit=unit,
            items=items,
            true_items=true_items,
            item_counts=item_counts,
            has_restricted=has_restricted,
        )
        return TrafficChunk(
            number=number,
            first=lo,
            consignments=consignments,
            items=items,
            true_consignments=consignments.with_columns(money(true_total, unit).alias(TOTAL_VALUE)),
            true_items=true_items,
            events=events,
            labels=labels,
        )


def generate_traffic(config: TrafficConfig, *, with_events: bool = True) -> Iterator[TrafficChunk]:
    """Generate synthetic traffic chunk by chunk.

    Args:
        config: The run.
        with_events: Generate lifecycle events (``False`` leaves ``chunk.events`` empty).

    Yields:
        Chunks of at most ``config.effective_chunk_size`` consignments, in run order.

    Raises:
        InvalidInputError: When the configuration names an unknown office.
    """
    yield from TrafficGenerator(config, with_events=with_events)
