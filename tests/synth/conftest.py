"""Fixtures for the synthetic traffic tests: one small generated run, shared."""

from __future__ import annotations

import polars as pl
import pytest

from smartcustoms.synth import TrafficChunk, TrafficConfig, generate_traffic

N: int = 6_000
"""Consignments in the shared run: enough for every fraud type, small enough to be quick."""


def concat(chunks: list[TrafficChunk], attr: str) -> pl.DataFrame:
    """One frame from the same frame of every chunk."""
    frames: list[pl.DataFrame] = [getattr(c, attr) for c in chunks]
    return pl.concat(frames)


def share(mask: pl.Series) -> float:
    """Share of true values in a boolean series."""
    return float(mask.cast(pl.Float64).to_numpy().mean())


@pytest.fixture(scope="session")
def config() -> TrafficConfig:
    return TrafficConfig(consignments=N, seed=42, chunk_size=2_000)


@pytest.fixture(scope="session")
def chunks(config: TrafficConfig) -> list[TrafficChunk]:
    return list(generate_traffic(config))


@pytest.fixture(scope="session")
def consignments(chunks: list[TrafficChunk]) -> pl.DataFrame:
    return concat(chunks, "consignments")


@pytest.fixture(scope="session")
def items(chunks: list[TrafficChunk]) -> pl.DataFrame:
    return concat(chunks, "items")


@pytest.fixture(scope="session")
def true_items(chunks: list[TrafficChunk]) -> pl.DataFrame:
    return concat(chunks, "true_items")


@pytest.fixture(scope="session")
def events(chunks: list[TrafficChunk]) -> pl.DataFrame:
    return concat(chunks, "events")


@pytest.fixture(scope="session")
def labels(chunks: list[TrafficChunk]) -> pl.DataFrame:
    return concat(chunks, "labels")
