"""The authorization matrix: every route of the API × every role, read from the app itself.

Each route declares its roles with ``require(...)`` (a :class:`RoleGate`). This test walks
every route: without credentials it must answer 401; with each role outside its gate 403
(``auth.forbidden``); with each role inside the gate never 401/403 and never a 5xx (ids in
the path do not exist, bodies are empty, so 404 or 422 are the expected answers there).
Every answer that is an error must be a problem-details document.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from smartcustoms.access import ROLES, Role
from smartcustoms.api import API_PREFIX
from smartcustoms.api.security import RoleGate
from tests.api.conftest import USERS, Api

PUBLIC = {f"{API_PREFIX}/health", f"{API_PREFIX}/problems"}
ANY_AUTHENTICATED = {f"{API_PREFIX}/me"}
ONE_USER_PER_ROLE = {Role(spec["role"]): user for user, spec in reversed(USERS.items())}


def _gate(call: Any) -> RoleGate | None:
    """The RoleGate among a route's dependencies (depth first)."""
    stack = [call]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, RoleGate):
            return dependant.call
        stack.extend(dependant.dependencies)
    return None


def _routes(api: Api) -> list[tuple[str, str, RoleGate | None]]:
    out = []
    for route in api.client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or not route.path.startswith(API_PREFIX):
            continue
        for method in sorted(route.methods):
            out.append((method, route.path, _gate(route.dependant)))
    return out


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> Any:
    url = path
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            url = url.replace(part, "does-not-exist-0000")
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return api.client.request(method, url, **kwargs)


def _is_problem(response: Any) -> bool:
    body = response.json()
    return response.headers["content-type"].startswith("application/problem+json") and {
        "type",
        "title",
        "status",
        "code",
        "detail",
        "instance",
    } <= set(body)


def test_every_route_is_gated_or_listed_as_open(api: Api) -> None:
    ungated = {path for _, path, gate in _routes(api) if gate is None}
    assert ungated <= PUBLIC | ANY_AUTHENTICATED, ungated


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_each_role_gets_exactly_the_routes_of_its_gates(api: Api, role: Role) -> None:
    headers = api.headers[ONE_USER_PER_ROLE[role]]
    for method, path, gate in _routes(api):
        response = _call(api, method, path, headers)
        assert response.status_code < 500, (method, path, role, response.text)
        if gate is not None and role not in gate.roles:
            assert response.status_code == 403, (method, path, role, response.text)
            assert response.json()["code"] == "auth.forbidden"
        else:
            assert response.status_code not in (401, 403), (method, path, role, response.text)
        if response.status_code >= 400:
            assert _is_problem(response), (method, path, role, response.text)


def test_without_credentials_every_gated_route_is_401(api: Api) -> None:
    for method, path, _gate_of_route in _routes(api):
        response = _call(api, method, path, {})
        if path in PUBLIC:
            assert response.status_code < 400, (method, path)
            continue
        assert response.status_code == 401, (method, path, response.text)
        assert _is_problem(response)


def test_revoked_keys_lose_access_at_once(api: Api) -> None:
    assert api.client.get(f"{API_PREFIX}/me", headers=api.headers["analyst"]).status_code == 200
    api.platform.access.revoke_user("analyst")
    response = api.client.get(f"{API_PREFIX}/me", headers=api.headers["analyst"])
    assert response.status_code == 401 and _is_problem(response)
