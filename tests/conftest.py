"""Shared fixtures: seeds, a SQLite store per test, and the PostgreSQL store when CI demands it.

``SMARTCUSTOMS_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns "skip when PostgreSQL is absent"
into a failure, so CI can never go green without having run the PostgreSQL tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
POSTGRES_URL = os.environ.get(
    "SMARTCUSTOMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def services_required() -> bool:
    """Whether missing services must fail the run (CI) rather than skip."""
    return os.environ.get("SMARTCUSTOMS_REQUIRE_SERVICES") == "1"


@pytest.fixture
def seed() -> int:
    return 42


def _postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        import psycopg

        with psycopg.connect(
            POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3
        ):
            return None
    except Exception as exc:
        return str(exc)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    reason = _postgres_available()
    if reason is not None:
        if services_required():
            pytest.fail(f"PostgreSQL required (SMARTCUSTOMS_REQUIRE_SERVICES=1): {reason}")
        pytest.skip(f"PostgreSQL not available: {reason}")
    return POSTGRES_URL


def _fresh_schema(url: str) -> tuple[str, str]:
    """A new PostgreSQL schema for one test; returns (url, schema)."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on SQLite and again on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    url, schema = _fresh_schema(base)
    try:
        yield url
    finally:
        _drop_schema(base, schema)


@pytest.fixture
def platform(database_url: str, tmp_path: Path) -> Iterator[SmartCustoms]:
    sc = SmartCustoms(load_settings(database_url=database_url, ledger_dir=str(tmp_path / "ledger")))
    yield sc
    sc.close()


@pytest.fixture
def shared_data() -> Path:
    """The reference data folder beside the repository (CI has it; fail there if missing)."""
    if not SHARED_DATA.is_dir():
        if services_required() or os.environ.get("SMARTCUSTOMS_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"shared data folder missing: {SHARED_DATA}")
        pytest.skip(f"shared data folder missing: {SHARED_DATA}")
    return SHARED_DATA
