"""Crash test: kill -9 a writer at random moments; every acknowledged entry survives.

A child process appends batches of deterministic entries in a loop and prints each index range
only after ``append_batch`` returned (the acknowledgement). The test SIGKILLs it at a random
moment, reopens the log, and checks that every acknowledged entry is present and unchanged and
that ``verify()`` passes; then it starts a new writer on the same directory, several times.

What this does not cover: power loss (the page cache survives ``kill -9``); the fsync-before-
rename discipline that covers it is described in docs/ledger.md.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartcustoms.ledger.log import TiledLog

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import random, sys
from smartcustoms.ledger.log import TiledLog

def entry(i):
    return (f"entry {i} ".encode() * (1 + i % 7))[:300]

log = TiledLog(sys.argv[1])
rng = random.Random(int(sys.argv[2]))
print("open", log.size, flush=True)
while True:
    start = log.size
    batch = [entry(i) for i in range(start, start + rng.choice([1, 17, 256, 300, 1024]))]
    done = log.append_batch(batch)
    print("ack", done.start, done.stop, flush=True)
"""


def entry(i: int) -> bytes:
    return (f"entry {i} ".encode() * (1 + i % 7))[:300]


def _run_writer_and_kill(directory: Path, seed: int, rng: random.Random) -> tuple[int, list[range]]:
    """Start a writer, SIGKILL it after a random number of acks and a random delay.

    Returns:
        The size the writer found on opening, and every range it acknowledged.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    acks: list[range] = []
    opened = -1
    wanted = rng.randrange(1, 40)
    try:
        while len(acks) < wanted:
            line = child.stdout.readline().decode()
            if not line:
                break
            words = line.split()
            if words[0] == "open":
                opened = int(words[1])
            elif words[0] == "ack":
                acks.append(range(int(words[1]), int(words[2])))
        time.sleep(rng.random() * 0.05)  # land the kill anywhere inside the next append
    finally:
        child.send_signal(signal.SIGKILL)
        rest, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors.decode()
    for line in rest.decode().splitlines():  # acks printed before the kill landed
        words = line.split()
        if words and words[0] == "ack":
            acks.append(range(int(words[1]), int(words[2])))
    return opened, acks


@pytest.mark.slow
def test_acknowledged_entries_survive_kill_9(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    directory = tmp_path / "log"
    acknowledged = 0
    kills = 0
    for round_number in range(6):
        opened, acks = _run_writer_and_kill(directory, seed + round_number, rng)
        kills += 1
        assert opened == acknowledged
        for indices in acks:
            assert indices.start == acknowledged, "acks are contiguous"
            acknowledged = indices.stop
        with TiledLog(directory) as log:
            assert log.size >= acknowledged, (round_number, log.size, acknowledged)
            log.verify()
            sample = range(log.size) if log.size < 3000 else rng.sample(range(log.size), 3000)
            for i in sample:
                assert log.entry(i) == entry(i), i
            for indices in acks:
                assert log.entry(indices.stop - 1) == entry(indices.stop - 1)
            acknowledged = log.size  # an append may commit just before its ack is printed
    assert kills == 6 and acknowledged > 0
