"""A portal client per test, with users that have passwords."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartcustoms.access import Role
from smartcustoms.api import create_app
from smartcustoms.platform import SmartCustoms
from smartcustoms.synth import TrafficConfig, write_traffic

PASSWORD = "correct horse battery"


@dataclass
class Portal:
    """A browser-like client (cookies kept) and the platform behind it."""

    client: TestClient
    platform: SmartCustoms

    def csrf(self, path: str = "/portal/login") -> str:
        """The CSRF token of the session, read from a page's form."""
        page = self.client.get(path).text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, page[:500]
        return match.group(1)

    def login(self, user_id: str, password: str = PASSWORD) -> object:
        """Log in through the form."""
        token = self.csrf()
        return self.client.post(
            "/portal/login",
            data={"user_id": user_id, "password": password, "csrf_token": token},
            follow_redirects=False,
        )


@pytest.fixture
def portal(platform: SmartCustoms) -> Iterator[Portal]:
    access = platform.access
    access.add_user("ana", Role.OFFICER, offices=["FR000730"], password=PASSWORD)
    access.add_user("ines", Role.ANALYST, password=PASSWORD, language="es")
    access.add_user("shop", Role.FILER, filer_id="GB123456789000", password=PASSWORD)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield Portal(client=client, platform=platform)


FR, BE = "FR000730", "BE212000"
"""The conftest officer works FR; BE is in the synthetic traffic too."""


@pytest.fixture(scope="session")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day of synthetic traffic (today, UTC) at two offices, written once per run."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    path = tmp_path_factory.mktemp("traffic") / "day.jsonl"
    write_traffic(
        TrafficConfig(consignments=300, seed=11, start=start, days=1.0, offices=(FR, BE)), path
    )
    return path


@pytest.fixture
def cleared(portal: Portal, traffic: Path) -> Portal:
    """The portal on a store holding the cleared traffic, with an admin and a BE officer."""
    portal.platform.clear([traffic])
    portal.platform.access.add_user("boss", Role.ADMIN, password=PASSWORD)
    portal.platform.access.add_user("bea", Role.OFFICER, offices=[BE], password=PASSWORD)
    return portal
