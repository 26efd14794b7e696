"""An app per test on a fresh store (SQLite, and PostgreSQL in CI), with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from smartcustoms.access import Role
from smartcustoms.api import create_app
from smartcustoms.platform import SmartCustoms


@dataclass
class Api:
    """The test client, the platform behind it, and an Authorization header per user."""

    client: TestClient
    platform: SmartCustoms
    headers: dict[str, dict[str, str]]


USERS = {
    "filer": {"role": Role.FILER, "filer_id": "GB123456789000"},
    "other_filer": {"role": Role.FILER, "filer_id": "FR987654321000"},
    "officer": {"role": Role.OFFICER, "offices": ["FR000730"]},
    "other_officer": {"role": Role.OFFICER, "offices": ["BE000100"]},
    "analyst": {"role": Role.ANALYST},
    "admin": {"role": Role.ADMIN},
    "partner": {"role": Role.PARTNER},
}


@pytest.fixture
def api(platform: SmartCustoms) -> Iterator[Api]:
    headers = {}
    for user_id, spec in USERS.items():
        platform.access.add_user(user_id, **spec)  # type: ignore[arg-type]
        token = platform.access.issue_key(user_id).token
        headers[user_id] = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield Api(client=client, platform=platform, headers=headers)
