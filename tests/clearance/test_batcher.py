"""Micro-batched single filings: grouping, per-filing identity, failures, shutdown."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from smartcustoms.clearance import Clearance
from smartcustoms.clearance.batcher import DecisionBatcher, _Request
from smartcustoms.clearance.single.engine import SingleFilingEngine
from smartcustoms.clearance.summary import ACCEPTED, DUPLICATE
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.store import BulkWriter
from smartcustoms.store.bulk import KeyReader
from smartcustoms.testing import make_filing

FILER = "GB123456789000"


def _body(filing_id: str, *, filer: str = FILER, pretty: bool = False) -> bytes:
    filing = make_filing(filing_id)
    filing["filer"]["id"] = filer
    return orjson.dumps(filing, option=orjson.OPT_INDENT_2 if pretty else 0)


class _Gate:
    """A clearance factory that holds the first batch until released."""

    def __init__(self, platform: SmartCustoms) -> None:
        self.platform = platform
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def __call__(self) -> Clearance:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.release.wait(30)
        return self.platform.clearance(actor="api")


@pytest.fixture
def gated(platform: SmartCustoms) -> Iterator[tuple[DecisionBatcher, _Gate]]:
    gate = _Gate(platform)
    batcher = DecisionBatcher(gate)
    yield batcher, gate
    gate.release.set()
    batcher.close()


def test_filings_waiting_during_a_batch_are_cleared_together(
    gated: tuple[DecisionBatcher, _Gate], platform: SmartCustoms
) -> None:
    batcher, gate = gated
    first = batcher.submit(_body("B-0"), fmt="json", tenant=FILER, actor="shop")
    assert gate.entered.wait(30)
    rest = [
        batcher.submit(_body(f"B-{i}"), fmt="json", tenant=FILER, actor="shop")
        for i in range(1, 21)
    ]
    gate.release.set()
    decided = [f.result(60) for f in [first, *rest]]
    assert (batcher.batches, batcher.filings) == (2, 21)
    for i, filing in enumerate(decided):
        rows = filing.results
        assert rows["filing_id"].to_list() == [f"B-{i}"]
        assert rows["status"].to_list() == ["accepted"]
        assert rows["record"].to_list() == [0]
        assert list(filing.outcomes) == [f"B-{i}-C1"]
        assert filing.outcomes[f"B-{i}-C1"].lane is not None
    assert platform.store.counts()["filings"] == 21
    audits = [e for e in platform.store.audit_entries(limit=100) if e["action"] == "filing.submit"]
    assert sorted(e["subject_id"] for e in audits) == sorted(f"B-{i}" for i in range(21))
    assert {e["actor"] for e in audits} == {"shop"}


def test_each_filing_keeps_its_tenant_and_its_own_outcome(
    gated: tuple[DecisionBatcher, _Gate], platform: SmartCustoms
) -> None:
    batcher, gate = gated
    warm = batcher.submit(_body("W-0"), fmt="json", tenant=FILER, actor="shop")
    assert gate.entered.wait(30)
    own = batcher.submit(_body("T-1"), fmt="json", tenant=FILER, actor="shop")
    other = batcher.submit(
        _body("T-2", filer="FR987654321000"), fmt="json", tenant=FILER, actor="shop"
    )
    theirs = batcher.submit(
        _body("T-3", filer="FR987654321000"), fmt="json", tenant="FR987654321000", actor="other"
    )
    broken = batcher.submit(
        b'{"filing_id": "cut', fmt="json", tenant="FR987654321000", actor="other"
    )
    twice = batcher.submit(_body("T-1", pretty=True), fmt="json", tenant=FILER, actor="shop")
    gate.release.set()
    assert warm.result(60).results["status"].to_list() == ["accepted"]
    assert own.result(60).results["status"].to_list() == ["accepted"]
    assert theirs.result(60).results["status"].to_list() == ["accepted"]
    assert twice.result(60).results["status"].to_list() == ["duplicate"]
    assert list(twice.result().outcomes) == ["T-1-C1"]  # what is on file
    mismatch = other.result(60).results.row(0, named=True)
    assert mismatch["status"] == "quarantined"
    assert "filing.filer_mismatch" in mismatch["problems"]
    cut = broken.result(60).results.row(0, named=True)
    assert cut["status"] == "quarantined"
    entries = {e.quarantine_id: e for e in platform.store.quarantine_entries()}
    assert entries[mismatch["quarantine_id"]].tenant == FILER
    assert entries[cut["quarantine_id"]].tenant == "FR987654321000"
    assert entries[cut["quarantine_id"]].payload == b'{"filing_id": "cut'


def test_a_filing_on_the_batch_path_does_not_hold_up_the_fast_path(
    platform: SmartCustoms,
) -> None:
    """A filing the fast path declines takes the batch path (hundreds of milliseconds) on a
    thread of its own: the clean filings sent after it are decided meanwhile."""
    gate = _Gate(platform)
    batcher = DecisionBatcher(gate, fast=platform.single_filing_engine)
    try:
        broken = batcher.submit(b'{"filing_id": "cut', fmt="json", tenant=FILER, actor="shop")
        assert gate.entered.wait(30)  # the batch path is now held
        clean = [
            batcher.submit(_body(f"Q-{i}"), fmt="json", tenant=FILER, actor="shop")
            for i in range(5)
        ]
        for future in clean:
            assert future.result(30).results["status"].to_list() == [ACCEPTED]
        assert not broken.done()
        assert batcher.fast_filings == 5
    finally:
        gate.release.set()
        batcher.close()
    assert broken.result(0).results["status"].to_list() == ["quarantined"]


def test_the_fast_path_re_reads_lane_usage_once_the_batch_path_decided(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = platform.single_filing_engine()
    engine.usage_ttl = 1e9  # no re-read for age: only the batch path's decisions cause one
    forgotten: list[int] = []
    real_forget = engine.forget_usage

    def forget() -> None:
        forgotten.append(engine.decided)
        real_forget()

    monkeypatch.setattr(engine, "forget_usage", forget)
    batcher = DecisionBatcher(
        lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
    )
    try:
        first = batcher.submit(_body("U-1"), fmt="json", tenant=FILER, actor="shop").result(60)
        assert first.results["status"].to_list() == [ACCEPTED]
        assert forgotten == []
        odd = make_filing("U-2")
        odd["filer"]["id"] = FILER
        odd["remarks"] = "kept whole"  # an unknown field: a warning the fast path leaves alone
        declined = batcher.submit(orjson.dumps(odd), fmt="json", tenant=FILER, actor="shop")
        assert declined.result(60).results["status"].to_list() == [ACCEPTED]
        assert batcher.fast_filings == 1  # U-2 went the batch way, and a decision with it
        third = batcher.submit(_body("U-3"), fmt="json", tenant=FILER, actor="shop").result(60)
        assert third.results["status"].to_list() == [ACCEPTED]
        assert batcher.fast_filings == 2
        assert forgotten == [1]  # before U-3 was decided, after U-1
    finally:
        batcher.close()


def test_a_failed_batch_fails_each_of_its_filings_and_the_next_batch_runs(
    platform: SmartCustoms,
) -> None:
    calls = {"n": 0}

    def flaky() -> Clearance:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return platform.clearance(actor="api")

    factory: Callable[[], Clearance] = flaky
    batcher = DecisionBatcher(factory)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            batcher.submit(_body("X-1"), fmt="json", tenant=None, actor="ops").result(60)
        ok = batcher.submit(_body("X-2"), fmt="json", tenant=None, actor="ops").result(60).results
        assert ok["status"].to_list() == ["accepted"]
    finally:
        batcher.close()


def test_close_finishes_queued_filings_then_refuses_new_ones(platform: SmartCustoms) -> None:
    batcher = DecisionBatcher(lambda: platform.clearance(actor="api"), max_batch=3)
    futures = [
        batcher.submit(_body(f"C-{i}"), fmt="json", tenant=None, actor="ops") for i in range(7)
    ]
    batcher.close()
    assert all(f.done() for f in futures)
    assert [f.result().results["status"][0] for f in futures] == ["accepted"] * 7
    assert batcher.filings == 7
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(_body("C-9"), fmt="json", tenant=None, actor="ops")


def test_unknown_formats_and_sizes_are_refused(platform: SmartCustoms) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        DecisionBatcher(lambda: platform.clearance(), max_batch=0)
    batcher = DecisionBatcher(lambda: platform.clearance())
    with pytest.raises(ValueError, match="csv"):
        batcher.submit(b"a,b", fmt="csv", tenant=None, actor="ops")
    batcher.close()


def test_a_filing_another_writer_stores_meanwhile_is_answered_as_on_file(
    platform: SmartCustoms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path decides outside the write lock, then checks again inside it.

    Here another writer (another process of the service, say) stores filing R-1 after this
    batcher decided it and before it writes. The batcher must see that, decide its group
    again under the lock, and send R-1 down the batch path, which answers it as the
    duplicate it now is; R-2 is still decided by the fast path, and nothing is stored twice.
    """
    rival = SmartCustoms(
        load_settings(
            database_url=platform.settings.database_url, ledger_dir=str(tmp_path / "rival")
        )
    )
    rival_batcher = DecisionBatcher(lambda: rival.clearance(actor="api"))
    fast = DecisionBatcher(
        lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
    )
    store = platform.store
    real_writer = store.writer
    rivals: list[str] = []

    def writer_after_the_rival() -> BulkWriter:
        if not rivals:
            rivals.append("R-1")
            rival_batcher.submit(_body("R-1"), fmt="json", tenant=FILER, actor="rival").result(60)
        return real_writer()

    monkeypatch.setattr(store, "writer", writer_after_the_rival)
    requests = [
        _Request(body=_body(f"R-{i}"), fmt="json", tenant=FILER, actor="shop") for i in (1, 2)
    ]
    try:
        fast._clear(requests)
        one, two = (r.future.result(60) for r in requests)
    finally:
        fast.close()
        rival_batcher.close()
        rival.close()
    assert rivals == ["R-1"]
    assert one.results["status"].to_list() == [DUPLICATE]
    assert two.results["status"].to_list() == [ACCEPTED]
    assert fast.fast_filings == 1  # R-2, decided again under the lock
    assert store.counts()["filings"] == 2
    assert store.counts()["risk_decisions"] == 2
    audits = [e for e in store.audit_entries(limit=100) if e["action"] == "filing.submit"]
    assert sorted((e["subject_id"], e["actor"]) for e in audits) == [
        ("R-1", "rival"),
        ("R-1", "shop"),
        ("R-2", "shop"),
    ]


def test_a_group_is_looked_up_once_and_a_resend_in_it_goes_the_batch_way(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path asks the store once per group which of its filings are on file.

    A resend in the group (D-1, on file already) makes the group be decided again knowing
    it: D-1 goes down the batch path and is answered as a duplicate, the others are decided
    by the fast path, and lane usage held in memory is dropped so that D-1 is not counted.
    """
    engine = platform.single_filing_engine()
    engine.usage_ttl = 1e9
    looked_up: list[list[str]] = []
    real_on_file = KeyReader.on_file

    def on_file(reader: KeyReader, filings: list[str], consignments: list[str]) -> object:
        looked_up.append(list(filings))
        return real_on_file(reader, filings, consignments)

    monkeypatch.setattr(KeyReader, "on_file", on_file)
    forgotten: list[int] = []
    real_forget = engine.forget_usage

    def forget() -> None:
        forgotten.append(1)
        real_forget()

    monkeypatch.setattr(engine, "forget_usage", forget)
    fast = DecisionBatcher(
        lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
    )
    try:
        fast.submit(_body("D-1"), fmt="json", tenant=FILER, actor="shop").result(60)
        assert looked_up == [["D-1"]] and forgotten == []
        requests = [
            _Request(body=_body(f"D-{i}"), fmt="json", tenant=FILER, actor="shop")
            for i in (2, 1, 3)
        ]
        fast._clear(requests)
        two, one, three = (r.future.result(60) for r in requests)
    finally:
        fast.close()
    assert looked_up == [["D-1"], ["D-2", "D-1", "D-3"]]
    assert forgotten == [1]
    assert one.results["status"].to_list() == [DUPLICATE]
    assert two.results["status"].to_list() == [ACCEPTED]
    assert three.results["status"].to_list() == [ACCEPTED]
    assert fast.fast_filings == 3  # D-1 the first time, then D-2 and D-3
    assert platform.store.counts()["filings"] == 3
    assert platform.store.counts()["risk_decisions"] == 3


def _count_engine_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the fast-path engines the platform builds from now on."""
    import smartcustoms.platform as platform_module

    builds: list[int] = []
    real = platform_module.SingleFilingEngine

    def counted(*args: Any, **kwargs: Any) -> SingleFilingEngine:
        builds.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(platform_module, "SingleFilingEngine", counted)
    return builds


def test_warm_builds_the_fast_path_before_the_first_filing(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = _count_engine_builds(monkeypatch)
    batcher = DecisionBatcher(
        lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
    )
    try:
        batcher.warm()
        assert builds == [1]
        decided = batcher.submit(_body("W-1"), fmt="json", tenant=FILER, actor="shop").result(60)
    finally:
        batcher.close()
    assert decided.results["status"].to_list() == [ACCEPTED]
    assert batcher.fast_filings == 1
    assert builds == [1]  # the first filing used the engine built by warm


def test_warm_with_no_fast_path_or_a_broken_one_leaves_the_batch_path_to_answer(
    platform: SmartCustoms, caplog: pytest.LogCaptureFixture
) -> None:
    DecisionBatcher(lambda: platform.clearance(actor="api")).warm()  # nothing to build

    def broken() -> SingleFilingEngine:
        raise RuntimeError("no engine today")

    batcher = DecisionBatcher(lambda: platform.clearance(actor="api"), fast=broken)
    try:
        batcher.warm()  # logged, not raised
        assert "could not be built" in caplog.text
        decided = batcher.submit(_body("W-2"), fmt="json", tenant=FILER, actor="shop").result(60)
    finally:
        batcher.close()
    assert decided.results["status"].to_list() == [ACCEPTED]
    assert batcher.fast_filings == 0


_FREEZE_PROBE = """
import gc, sys, orjson
from smartcustoms.clearance.batcher import DecisionBatcher
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms
from smartcustoms.testing import make_filing
platform = SmartCustoms(load_settings(database_url=sys.argv[1]))
batcher = DecisionBatcher(
    lambda: platform.clearance(actor="api"),
    fast=platform.single_filing_engine,
    freeze_gc=sys.argv[2] == "1",
)
filing = make_filing("GC-1")
filing["filer"]["id"] = "GB123456789000"
before = gc.get_freeze_count()
decided = batcher.submit(orjson.dumps(filing), fmt="json", tenant=None, actor="t").result(60)
batcher.close()
print(before, gc.get_freeze_count(), batcher.fast_filings)
"""


@pytest.mark.parametrize("freeze", [True, False])
def test_a_service_batcher_freezes_what_is_alive_once_its_engine_is_built(
    tmp_path: Path, freeze: bool
) -> None:
    """``freeze_gc`` (set by ``smartcustoms serve``) moves the heap out of the GC's sight.

    Run in a child process: freezing this test process's heap would keep its cyclic garbage
    for the rest of the run.
    """
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _FREEZE_PROBE,
            f"sqlite:///{tmp_path / 'gc.db'}",
            "1" if freeze else "0",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, fast = (int(x) for x in out.stdout.split())
    assert (before, fast) == (0, 1)
    assert (after > 10_000) if freeze else (after == 0)


def _fast_batcher(platform: SmartCustoms) -> DecisionBatcher:
    return DecisionBatcher(
        lambda: platform.clearance(actor="api"), fast=platform.single_filing_engine
    )


def test_the_next_turn_is_decided_while_a_turn_commits_and_answered_after_it(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn's callers are answered once it has committed; the next turn does not wait."""
    committing, release = threading.Event(), threading.Event()
    real_exit = BulkWriter.__exit__
    exits: list[str] = []

    def slow_commit(writer: BulkWriter, *exc: Any) -> None:
        exits.append(threading.current_thread().name)
        if len(exits) == 1:
            committing.set()
            assert release.wait(30)
        real_exit(writer, *exc)

    monkeypatch.setattr(BulkWriter, "__exit__", slow_commit)
    engine = platform.single_filing_engine()
    real_decide = engine.decide
    decided: list[str] = []

    def decide(doc: dict[str, Any], **kw: Any) -> Any:
        decided.append(str(doc["filing_id"]))
        return real_decide(doc, **kw)

    monkeypatch.setattr(engine, "decide", decide)
    batcher = _fast_batcher(platform)
    try:
        first = batcher.submit(_body("P-1"), fmt="json", tenant=FILER, actor="shop")
        assert committing.wait(30)
        second = batcher.submit(_body("P-2"), fmt="json", tenant=FILER, actor="shop")
        deadline = time.monotonic() + 30
        while "P-2" not in decided and time.monotonic() < deadline:
            time.sleep(0.01)
        assert decided == ["P-1", "P-2"]  # decided while P-1's turn commits
        time.sleep(0.1)
        assert not first.done() and not second.done()  # nobody answered before the commit
        assert platform.store.counts()["filings"] == 0
        release.set()
        assert first.result(30).results["status"].to_list() == [ACCEPTED]
        assert second.result(30).results["status"].to_list() == [ACCEPTED]
    finally:
        release.set()
        batcher.close()
    assert exits[0] == "sc-decisions-commit"
    assert batcher.fast_filings == 2 and platform.store.counts()["filings"] == 2


def test_a_turn_whose_commit_fails_is_cleared_by_the_batch_path(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_exit = BulkWriter.__exit__
    failed: list[int] = []

    def failing_commit(writer: BulkWriter, *exc: Any) -> None:
        committing = exc[0] is None and threading.current_thread().name == "sc-decisions-commit"
        if committing and not failed:
            failed.append(1)
            real_exit(writer, RuntimeError, RuntimeError("disk full"), None)  # rolled back
            raise RuntimeError("disk full")
        real_exit(writer, *exc)

    monkeypatch.setattr(BulkWriter, "__exit__", failing_commit)
    batcher = _fast_batcher(platform)
    try:
        answers = [
            batcher.submit(_body(f"K-{i}"), fmt="json", tenant=FILER, actor="shop")
            for i in range(3)
        ]
        statuses = [a.result(60).results["status"].to_list() for a in answers]
        later = batcher.submit(_body("K-9"), fmt="json", tenant=FILER, actor="shop").result(60)
    finally:
        batcher.close()
    assert failed == [1]
    assert statuses == [[ACCEPTED]] * 3
    assert later.results["status"].to_list() == [ACCEPTED]
    assert platform.store.counts()["filings"] == 4  # each stored once
    audits = [e["subject_id"] for e in platform.store.audit_entries(limit=100)]
    assert sorted(a for a in audits if a) == ["K-0", "K-1", "K-2", "K-9"]
    assert batcher.fast_filings < batcher.filings == 4  # the failed turn went the batch way
