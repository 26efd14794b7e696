"""The decision process: workers' filings decided in one process, answered as in the worker.

A :class:`DecisionServer` runs here on a thread of the test process, on the test's store
(SQLite, and PostgreSQL in CI); the apps reach it through its Unix socket exactly as a
worker process does.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from smartcustoms.api import create_app
from smartcustoms.api.decider import DecisionServer, RemoteDecisions, platform_batcher
from smartcustoms.clearance.batcher import DecidedFiling
from smartcustoms.errors import DecisionsUnavailableError, StoreError
from tests.api.conftest import Api
from tests.api.test_filings import (
    OTHER_FILER_ID,
    assert_problem,
    audit_actions,
    bad_filing,
    filing,
)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A short folder for sockets (a Unix socket's path is limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sc-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def decider(api: Api, folder: Path) -> Iterator[DecisionServer]:
    """A decision server on the store behind ``api``."""
    server = DecisionServer(platform_batcher(api.platform), folder / "d.sock")
    server.start()
    yield server
    server.close()


@pytest.fixture
def remote(api: Api, decider: DecisionServer) -> Iterator[TestClient]:
    """A second app on the same store, deciding through ``decider``."""
    app = create_app(api.platform, portal=False, decider=str(decider.path))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _normalised(answer: Any, suffix: str) -> tuple[int, str, bytes]:
    """Status, media type and body, with the filing ids of one side and quarantine ids renamed."""
    body = re.sub(rb"q[0-9a-f]{16,40}", b"q...", answer.content.replace(suffix.encode(), b""))
    return answer.status_code, answer.headers["content-type"], body


def test_filings_decided_by_the_decider_are_answered_as_in_the_worker(
    api: Api, remote: TestClient
) -> None:
    cases: list[tuple[str, Any]] = [
        ("filer", lambda n: filing(f"A{n}", consignments=2)),
        ("filer", lambda n: bad_filing(f"B{n}")),  # quarantined: every problem listed
        ("other_filer", lambda n: filing(f"C{n}")),  # another filer's filing: refused
        ("filer", lambda n: filing(f"D{n}", origin="US", item_value="900.00")),
    ]
    for user, make in cases:
        here = api.client.post("/api/v1/filings", json=make("-w"), headers=api.headers[user])
        there = remote.post("/api/v1/filings", json=make("-d"), headers=api.headers[user])
        assert _normalised(here, "-w") == _normalised(there, "-d"), (here.text, there.text)
    again = remote.post(
        "/api/v1/filings", json=filing("A-d", consignments=2), headers=api.headers["filer"]
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    submitted = [s for a, s in audit_actions(api, "filer") if a == "filing.submit"]
    assert {"A-w", "A-d", "B-w", "B-d", "D-w", "D-d"} <= set(submitted)


def test_a_filer_sees_only_its_own_filings_through_the_decider(
    api: Api, remote: TestClient
) -> None:
    r = remote.post(
        "/api/v1/filings", json=filing("T-1", OTHER_FILER_ID), headers=api.headers["filer"]
    )
    problem = assert_problem(r, 422, "filing.invalid")  # checked in the decider, per filing
    assert [p["code"] for p in problem["problems"]] == ["filing.filer_mismatch"]
    assert ("filing.submit", "T-1") in audit_actions(api, "filer")


def test_concurrent_filings_of_two_workers_are_each_answered_their_own(
    api: Api, decider: DecisionServer
) -> None:
    async def worker(name: str) -> list[tuple[str, str]]:
        remote = RemoteDecisions(decider.path)
        try:
            answers = await asyncio.gather(
                *(
                    remote.decide(
                        orjson.dumps(filing(f"{name}-{i}")),
                        fmt="json",
                        tenant="GB123456789000",
                        actor="filer",
                    )
                    for i in range(25)
                )
            )
        finally:
            await remote.aclose()
        return [(f"{name}-{i}", a.rows[0]["filing_id"]) for i, a in enumerate(answers)]

    async def both() -> list[tuple[str, str]]:
        first, second = await asyncio.gather(worker("P"), worker("Q"))
        return first + second

    pairs = asyncio.run(both())
    assert len(pairs) == 50 and all(sent == answered for sent, answered in pairs)
    assert decider.batcher.filings == 50
    assert api.platform.store.counts()["filings"] == 50


class _HeldBatcher:
    """A batcher whose filings are answered only when it is closed (or fail as told)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.held: list[Future[DecidedFiling]] = []
        self.received = threading.Semaphore(0)

    def submit(self, body: bytes, *, fmt: str, tenant: str | None, actor: str) -> Future[Any]:
        future: Future[DecidedFiling] = Future()
        if self.error is not None:
            future.set_exception(self.error)
        else:
            self.held.append(future)
        self.received.release()
        return future

    def close(self) -> None:
        for future in self.held:
            future.set_result(DecidedFiling(rows=[{"filing_id": "held"}], outcomes={}))


def _serve(batcher: object, path: Path) -> DecisionServer:
    server = DecisionServer(batcher, path)  # type: ignore[arg-type]
    server.start()
    return server


def _decide(path: Path, count: int = 1, **kw: Any) -> list[Any]:
    """``count`` filings through a fresh connection: answers, or the errors raised."""

    async def run() -> list[Any]:
        remote = RemoteDecisions(path, **kw)
        try:
            return await asyncio.gather(
                *(remote.decide(b"{}", fmt="json", tenant=None, actor="t") for _ in range(count)),
                return_exceptions=True,
            )
        finally:
            await remote.aclose()

    return asyncio.run(run())


def test_closing_the_decider_answers_every_filing_it_received(folder: Path) -> None:
    batcher = _HeldBatcher()
    server = _serve(batcher, folder / "d.sock")
    closing = threading.Thread(
        target=lambda: ([batcher.received.acquire() for _ in range(5)], server.close())
    )
    closing.start()
    answers = _decide(folder / "d.sock", 5)
    closing.join()
    assert [a.rows for a in answers] == [[{"filing_id": "held"}]] * 5
    assert not (folder / "d.sock").exists()


def test_an_error_in_the_decider_is_raised_in_the_worker(folder: Path) -> None:
    class UnpicklableError(Exception):  # a local class: pickle cannot name it
        pass

    server = _serve(_HeldBatcher(error=ValueError("no such format")), folder / "a.sock")
    try:
        (answer,) = _decide(folder / "a.sock")
        assert isinstance(answer, ValueError) and str(answer) == "no such format"
    finally:
        server.close()
    failing = _HeldBatcher(error=UnpicklableError("the store is read-only"))
    server = _serve(failing, folder / "b.sock")
    try:
        (answer,) = _decide(folder / "b.sock")
        assert type(answer) is StoreError
        assert str(answer) == "UnpicklableError: the store is read-only"
    finally:
        server.close()


def test_a_decider_that_hangs_up_fails_the_filings_waiting_on_it(folder: Path) -> None:
    path = folder / "d.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()

    def hang_up_after_reading() -> None:
        conn, _ = listener.accept()
        conn.recv(1 << 16)
        conn.close()

    thread = threading.Thread(target=hang_up_after_reading)
    thread.start()
    try:
        answers = _decide(path, 3)
    finally:
        thread.join()
        listener.close()
    assert all(isinstance(a, DecisionsUnavailableError) for a in answers)
    assert all("send it again" in str(a) for a in answers)


def test_no_decider_is_answered_503_and_a_restarted_one_is_reached(api: Api, folder: Path) -> None:
    path = folder / "d.sock"
    app = create_app(api.platform, portal=False, decider=str(path))
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.decisions.connect_timeout = 0.2
        post = lambda n: client.post(  # noqa: E731
            "/api/v1/filings", json=filing(f"R-{n}"), headers=api.headers["filer"]
        )
        problem = assert_problem(post(1), 503, "decisions.unavailable")
        assert "nothing was stored" in problem["detail"]
        assert_problem(client.get("/api/v1/health"), 503, "decisions.unavailable")
        for attempt in range(2):  # started, stopped, started again: each time reached
            server = DecisionServer(platform_batcher(api.platform), path)
            server.start()
            try:
                assert client.get("/api/v1/health").status_code == 200
                assert post(10 + attempt).status_code == 201
            finally:
                server.close()
        assert api.platform.store.counts()["filings"] == 2
