"""A portal client per test, with users that have passwords."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from smartcustoms.access import Role
from smartcustoms.api import create_app
from smartcustoms.platform import SmartCustoms

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
