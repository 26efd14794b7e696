"""Health, identity, problem details and production safety."""

from __future__ import annotations

import pytest

from smartcustoms.api import create_app
from smartcustoms.config import load_settings
from smartcustoms.errors import ConfigurationError
from smartcustoms.platform import SmartCustoms
from tests.api.conftest import Api


def test_health_answers_without_credentials(api: Api) -> None:
    r = api.client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_me_names_the_caller_and_its_scope(api: Api) -> None:
    r = api.client.get("/api/v1/me", headers=api.headers["officer"])
    assert r.status_code == 200
    assert r.json()["role"] == "officer" and r.json()["offices"] == ["FR000730"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"X-API-Key": "sck_0123456789abcdef_x"}],
)
def test_missing_or_bad_keys_get_a_401_problem(api: Api, headers: dict[str, str]) -> None:
    r = api.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == "Bearer"
    body = r.json()
    assert (
        body["code"] == "auth.unauthenticated" and body["type"] == "/problems/auth.unauthenticated"
    )
    assert body["instance"] == "/api/v1/me" and body["status"] == 401


def test_unknown_routes_are_problems_too(api: Api) -> None:
    r = api.client.get("/api/v1/nowhere")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    r = api.client.delete("/api/v1/health")
    assert r.status_code == 405 and r.json()["code"] == "request.method"


def test_problem_types_list_every_error_code(api: Api) -> None:
    codes = {p["code"] for p in api.client.get("/api/v1/problems").json()}
    assert {"filing.invalid", "auth.forbidden", "consignment.not_found"} <= codes


def test_production_refuses_the_default_secret(tmp_path: object) -> None:
    settings = load_settings(database_url="sqlite://", environment="production")
    with pytest.raises(ConfigurationError, match="secret key"):
        create_app(SmartCustoms(settings))
    ok = load_settings(database_url="sqlite://", environment="production", secret_key="k" * 40)
    assert create_app(SmartCustoms(ok)).title == "smartcustoms"


def test_nul_characters_are_refused_before_any_route_runs(api: Api) -> None:
    r = api.client.get("/api/v1/quarantine?code=%00", headers=api.headers["admin"])
    assert r.status_code == 422
    assert [p["code"] for p in r.json()["problems"]] == ["request.nul"]
    r = api.client.post(
        "/api/v1/events",
        content=b'{"events": [{"consignment_id": "A\\u0000", "event_type": "arrival",'
        b' "occurred_at": "2026-11-22T08:00:00Z"}]}',
        headers={**api.headers["admin"], "content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "body"
