"""Bulk writers: writers of a SQLite file queue on its lock file; keys read outside a write."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
import pytest

from smartcustoms.clearance.batcher import DecisionBatcher
from smartcustoms.platform import SmartCustoms
from smartcustoms.store import Store
from smartcustoms.store.bulk import KeyReader, writers_lock_path
from smartcustoms.testing import make_filing


def test_the_lock_file_is_beside_a_sqlite_file_only(tmp_path: Path) -> None:
    assert writers_lock_path(f"sqlite:///{tmp_path / 'a.db'}") == f"{tmp_path / 'a.db'}-writers"
    assert writers_lock_path("sqlite://") is None
    assert writers_lock_path("sqlite:///:memory:") is None
    assert writers_lock_path("postgresql+psycopg://u@h/db") is None


def test_a_second_writer_waits_for_the_first_then_goes_at_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        entered = threading.Event()
        released_at: list[float] = []
        entered_at: list[float] = []

        def second() -> None:
            with store.writer():
                entered_at.append(time.monotonic())
                entered.set()

        with store.writer():
            assert Path(f"{tmp_path / 'q.db'}-writers").exists()
            thread = threading.Thread(target=second)
            thread.start()
            assert not entered.wait(0.5)  # queued behind the first writer
            released_at.append(time.monotonic())
        thread.join(30)
        assert entered.is_set()
        # woken by the lock, not by SQLite's busy handler's sleeps (the first is 1 ms, then
        # 2, 5, 10 ... 100 ms: a writer that slept through them would be far later)
        assert entered_at[0] - released_at[0] < 0.25
    finally:
        store.dispose()


def test_a_failed_writer_leaves_the_queue(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        with pytest.raises(RuntimeError, match="midway"), store.writer():
            raise RuntimeError("midway")  # rolled back: the lock must be let go all the same
        done = threading.Event()

        def next_writer() -> None:
            with store.writer():
                done.set()

        thread = threading.Thread(target=next_writer)
        thread.start()
        thread.join(10)
        assert done.is_set()
    finally:
        store.dispose()


def test_the_key_reader_sees_what_is_committed(database_url: str) -> None:
    store = Store(database_url)
    try:
        with KeyReader(store.engine) as reader:
            assert reader.existing("filings", "filing_id", ["K-1"]) == set()
            assert reader.existing("filings", "filing_id", []) == set()
        store.record_audit(actor="t", action="a", subject_type="filing", subject_id="K-1")
        with KeyReader(store.engine) as reader:
            assert reader.existing("audit_log", "subject_id", ["K-1", "K-2"]) == {"K-1"}
    finally:
        store.dispose()


def test_filings_on_file_are_found_by_their_ids_or_any_consignment(platform: SmartCustoms) -> None:
    filing = make_filing("ON-1")
    batcher = DecisionBatcher(lambda: platform.clearance(actor="api"))
    try:
        batcher.submit(orjson.dumps(filing), fmt="json", tenant=None, actor="t").result(60)
    finally:
        batcher.close()
    with KeyReader(platform.store.engine) as reader:
        assert reader.on_file(["ON-1"], []) == ({"ON-1"}, set())
        assert reader.on_file(["ON-1", "other"], ["nothing"]) == ({"ON-1"}, set())
        assert reader.on_file(["other"], ["nothing", "ON-1-C1"]) == (set(), {"ON-1-C1"})
        assert reader.on_file(["other", "more"], ["nothing", "else"]) == (set(), set())
        assert reader.on_file([], ["ON-1-C1"]) == (set(), {"ON-1-C1"})
        assert reader.on_file([], []) == (set(), set())
