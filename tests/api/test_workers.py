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


def _spawned(pid: int) -> list[int]:
    """The supervisor's processes (not multiprocessing's resource tracker), oldest first."""
    found = [
        child
        for child in _children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]

    def started(child: int) -> int:  # field 22 of /proc/PID/stat: 20th after the command
        return int(Path(f"/proc/{child}/stat").read_text().rsplit(")")[1].split()[19])

    return sorted(found, key=started)


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


@pytest.mark.parametrize("decider", [True, False], ids=["decider", "no-decider"])
def test_workers_share_the_port_are_restarted_and_stop_cleanly(
    tmp_path: Path, decider: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    platform = SmartCustoms(load_settings(database_url=url))
    platform.access.add_user("shop", Role.FILER, filer_id=FILER)
    token = platform.access.issue_key("shop").token
    platform.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    flag = "--decider" if decider else "--no-decider"
    expected = 3 if decider else 2  # the decider starts first: the oldest process
    command = [sys.executable, "-c", _CLI, "serve", "--workers", "2", flag, "--port", str(port)]
    server = subprocess.Popen([*command, "--db", url])
    sent = 0

    def file_some(prefix: str, count: int) -> None:
        nonlocal sent
        # a new connection per request: the kernel spreads them over both workers' sockets
        statuses = [
            httpx.post(
                f"{base}/filings", content=_filing(f"{prefix}-{i}"), headers=headers
            ).status_code
            for i in range(count)
        ]
        assert statuses == [201] * count
        sent += count

    try:
        _wait_for(lambda: httpx.get(f"{base}/health").status_code == 200)
        _wait_for(lambda: len(_spawned(server.pid)) == expected)
        first = _spawned(server.pid)
        file_some("W", 12)
        victims = [first[0], first[-1]] if decider else [first[0]]  # the decider, a worker
        for victim in victims:
            os.kill(victim, signal.SIGKILL)
            _wait_for(
                lambda: len(_spawned(server.pid)) == expected and victim not in _spawned(server.pid)  # noqa: B023
            )
            _wait_for(lambda: httpx.get(f"{base}/health").status_code == 200)
            file_some(f"X{victim}", 6)  # the workers reach the restarted decider
        replaced = _spawned(server.pid)
        assert not set(victims) & set(replaced)
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in replaced)  # joined, reaped
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    platform = SmartCustoms(load_settings(database_url=url))
    try:
        assert platform.store.counts()["filings"] == sent  # every answered filing is on file
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
