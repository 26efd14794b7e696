"""``POST /api/v1/filings`` is served ahead of the middleware stack, and answers as FastAPI's route.

Each request below is sent twice to the same app: once as it is served (by the fast lane in
front of the middleware stack, ``submit_filing_endpoint``), once with the lane and the plain
route taken out so FastAPI's route, with its dependency solver and every middleware, serves
it. Each pair must answer alike: status, content type, problem
code and body (ids made distinct, so the second of a pair is not a duplicate of the first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from starlette.routing import Match, Route
from starlette.testclient import TestClient

from smartcustoms.api.app import _FastLane
from tests.api.conftest import Api
from tests.api.test_filings import filing

FAST = "submit_filing_fast"


def _serving(api: Api, method: str, path: str) -> Any:
    """The first route of the app that fully matches ``method path``."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    app = api.client.app
    for route in app.router.routes:  # type: ignore[attr-defined]
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
    raise AssertionError(f"no route serves {method} {path}")


@contextmanager
def _without_fast_route(api: Api) -> Iterator[None]:
    app = api.client.app
    routes = app.router.routes  # type: ignore[attr-defined]
    saved, lane = list(routes), app.fast_lane  # type: ignore[attr-defined]
    routes[:] = [r for r in routes if getattr(r, "name", None) != FAST]
    app.fast_lane = None  # type: ignore[attr-defined]
    app.middleware_stack = None  # type: ignore[attr-defined]  # rebuilt without the lane
    try:
        yield
    finally:
        routes[:] = saved
        app.fast_lane = lane  # type: ignore[attr-defined]
        app.middleware_stack = None  # type: ignore[attr-defined]


def test_filings_are_answered_ahead_of_the_middleware_stack(api: Api) -> None:
    app = api.client.app
    api.client.get("/api/v1/health")  # the stack is built on the first request
    lane = app.middleware_stack  # type: ignore[attr-defined]
    assert isinstance(lane, _FastLane)
    calls: list[str] = []
    endpoint = lane.endpoint

    async def counted(request: Any) -> Any:
        calls.append(request.url.path)
        return await endpoint(request)

    lane.endpoint = counted
    try:
        ok = api.client.post(
            "/api/v1/filings", content=orjson.dumps(filing("LANE-1")), headers=api.headers["filer"]
        )
        assert ok.status_code == 201
        assert calls == ["/api/v1/filings"]
        api.client.get("/api/v1/health")
        api.client.post("/api/v1/filings/bulk", content=b"", headers=api.headers["filer"])
        assert calls == ["/api/v1/filings"]  # every other route goes through the stack
    finally:
        lane.endpoint = endpoint


def test_an_unexpected_error_is_a_problem_either_way(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = api.client.app.state.decisions  # type: ignore[attr-defined]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr(batcher, "submit", broken)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    make = {"headers": api.headers["filer"]}
    served = client.post("/api/v1/filings", content=orjson.dumps(filing("ERR-1")), **make)
    with _without_fast_route(api):
        reference = client.post("/api/v1/filings", content=orjson.dumps(filing("ERR-2")), **make)
    assert _shape(served) == _shape(reference)
    assert served.status_code == 500
    assert served.headers["content-type"] == "application/problem+json"
    assert served.json()["code"] == "internal.error"


def test_the_plain_route_serves_filings_and_only_filings(api: Api) -> None:
    served = _serving(api, "POST", "/api/v1/filings")
    assert isinstance(served, Route) and served.name == FAST
    assert getattr(_serving(api, "POST", "/api/v1/filings/bulk"), "name", None) != FAST
    # the FastAPI route is still there, behind it, for the OpenAPI document
    with _without_fast_route(api):
        assert getattr(_serving(api, "POST", "/api/v1/filings"), "name", None) != FAST
    document = api.client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/filings"]["post"]
    assert operation["operationId"] == "submit_filing_api_v1_filings_post"
    assert operation["security"]


def _shape(r: Any) -> tuple[Any, ...]:
    body = r.json() if r.content else None
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("filing_id", "quarantine_id")}
        for line in body.get("consignments", []):
            line.pop("consignment_id", None)
            line.pop("filing_id", None)
        if "detail" in body:  # names the quarantine entry
            body["detail"] = body["detail"].split(" it is kept in quarantine")[0]
    return (r.status_code, r.headers.get("content-type"), body)


def _cases(api: Api) -> list[tuple[str, Callable[[str], dict[str, Any]]]]:
    """(name, make request keywords from a unique filing id)."""
    filer, officer = api.headers["filer"], api.headers["officer"]

    def body(fid: str, **kw: Any) -> bytes:
        return orjson.dumps(filing(fid, **kw))

    return [
        ("accepted", lambda f: {"content": body(f), "headers": filer}),
        (
            "x-api-key",
            lambda f: {
                "content": body(f),
                "headers": {"X-API-Key": filer["Authorization"].removeprefix("Bearer ")},
            },
        ),
        ("no key", lambda f: {"content": body(f)}),
        ("bad key", lambda f: {"content": body(f), "headers": {"Authorization": "Bearer sck_x"}}),
        (
            "basic scheme",
            lambda f: {
                "content": body(f),
                "headers": {"Authorization": "Basic dXNlcjpwYXNz"},
            },
        ),
        ("officer", lambda f: {"content": body(f), "headers": officer}),
        (
            "another filer's id",
            lambda f: {
                "content": body(f, filer_id="FR987654321000"),
                "headers": filer,
            },
        ),
        ("malformed", lambda f: {"content": b'{"filing_id": "' + f.encode(), "headers": filer}),
        ("empty", lambda f: {"content": b"", "headers": filer}),
        (
            "two filings",
            lambda f: {
                "content": orjson.dumps([filing(f), filing(f + "b")]),
                "headers": filer,
            },
        ),
        (
            "nul",
            lambda f: {
                "content": body(f + "\u0000"),
                "headers": {**filer, "Content-Type": "application/json"},
            },
        ),
        (
            "nul in query",
            lambda f: {
                "content": body(f),
                "headers": filer,
                "params": {"x": "a\u0000"},
            },
        ),
    ]


@pytest.mark.parametrize("case", range(12))
def test_the_plain_route_answers_as_the_fastapi_route(api: Api, case: int) -> None:
    name, make = _cases(api)[case]
    served = api.client.post("/api/v1/filings", **make(f"PLAIN-{case}"))
    with _without_fast_route(api):
        reference = api.client.post("/api/v1/filings", **make(f"ROUTE-{case}"))
    assert _shape(served) == _shape(reference), name
    assert served.status_code < 500, name
