"""``smartcustoms serve --workers N``: processes sharing a port, restarted, stopped cleanly."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from smartcustoms.access import Role
from smartcustoms.api.workers import listening_socket, run_workers
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.testing import make_filing

FILER = "GB123456789000"
_CLI = "from smartcustoms.cli import cli; cli()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(x) for x in (task / "children").read_text().split()}
    return found


def _workers(pid: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    return {
        child
        for child in _children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    }


def _wait_for(condition: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError("timed out")


def _filing(filing_id: str) -> bytes:
    filing = make_filing(filing_id)
    filing["filer"]["id"] = FILER
    return orjson.dumps(filing)


def test_workers_share_the_port_are_restarted_and_stop_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    platform = SmartCustoms(load_settings(database_url=url))
    platform.access.add_user("shop", Role.FILER, filer_id=FILER)
    token = platform.access.issue_key("shop").token
    platform.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    server = subprocess.Popen(
        [sys.executable, "-c", _CLI, "serve", "--workers", "2", "--port", str(port), "--db", url],
    )
    try:
        _wait_for(lambda: httpx.get(f"{base}/health").status_code == 200)
        _wait_for(lambda: len(_workers(server.pid)) == 2)
        first = _workers(server.pid)
        # a new connection per request: the kernel spreads them over both workers' sockets
        statuses = [
            httpx.post(f"{base}/filings", content=_filing(f"W-{i}"), headers=headers).status_code
            for i in range(12)
        ]
        assert statuses == [201] * 12
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: len(_workers(server.pid)) == 2 and victim not in _workers(server.pid))
        replaced = _workers(server.pid)
        assert replaced != first
        _wait_for(lambda: httpx.get(f"{base}/health").status_code == 200)
        later = [
            httpx.post(f"{base}/filings", content=_filing(f"X-{i}"), headers=headers).status_code
            for i in range(6)
        ]
        assert later == [201] * 6
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in replaced)  # joined, reaped
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    platform = SmartCustoms(load_settings(database_url=url))
    try:
        assert platform.store.counts()["filings"] == 18  # every answered filing is on file
    finally:
        platform.close()


def test_a_taken_port_is_refused_before_any_worker_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        began = time.monotonic()
        with pytest.raises(OSError, match="in use") as caught:
            run_workers(2, host="127.0.0.1", port=port)
        assert caught.value.errno == errno.EADDRINUSE
        assert time.monotonic() - began < 5


def test_sockets_of_several_workers_listen_on_one_port() -> None:
    first = listening_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        second = listening_socket("127.0.0.1", port)
        second.close()
    finally:
        first.close()


def test_workers_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_workers(0, host="127.0.0.1", port=_free_port())
