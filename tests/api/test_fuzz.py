"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

Every operation of the published document gets generated requests (valid and invalid per
its schema), sent as an admin, whom every gate admits. The invariants: never a 5xx, and
every error response is a problem-details document with a stable code. Runs on SQLite and,
in CI, on PostgreSQL (the ``api`` fixture).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Api

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code", "problems"}


def _check(case: Any, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    where = (case.method, case.formatted_path, response.status_code, response.text[:500])
    assert response.status_code < 500, where
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json"), where
        body = response.json()
        assert set(body) >= PROBLEM_MEMBERS, where
        assert body["status"] == response.status_code, where


def test_no_server_errors_and_every_error_is_a_problem(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def fuzz(case: Any) -> None:
            _check(case, api.headers["admin"])

        fuzz()
