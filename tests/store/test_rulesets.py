"""Uploaded rulesets in the store: validation, versions, one active at a time, audit.

Every test runs on SQLite and again on PostgreSQL (the ``platform`` fixture).
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from smartcustoms.errors import (
    ConflictError,
    InvalidInputError,
    InvalidRuleFileError,
    RulesetNotFoundError,
)
from smartcustoms.platform import SmartCustoms
from smartcustoms.risk.rules import example_rules_path, load_example_rules
from smartcustoms.store import tables as t
from smartcustoms.store.rulesets import (
    RuleFileText,
    RulesetStatus,
    check_ruleset_files,
    content_hash,
    load_ruleset_files,
)
from smartcustoms.testing import make_filing, write_jsonl
from tests.rulesets_text import MARKER_LISTS, MARKER_RULES

TODAY = date(2026, 11, 22)

BROKEN = """\
id = "broken"
version = "1"

[[rules]]
id = "a"
description = "no action"
effective_from = 2026-01-01
when = { hs_code = { prefix = "61" } }

[[rules]]
id = "b"
description = "unknown field and list"
effective_from = 2026-01-01
lane = "red"
when = { colour = "red", seller_id = { in_list = "nope" } }
"""


def marker(version: str = "1", seller: str = "SELLER-1") -> tuple[RuleFileText, RuleFileText]:
    """A one-rule set that sends consignments of ``seller`` to red, and its watch list."""
    return (
        RuleFileText("rules.toml", MARKER_RULES.format(version=version)),
        RuleFileText("marked.toml", MARKER_LISTS.format(seller=seller)),
    )


def _upload(platform: SmartCustoms, version: str = "1", seller: str = "SELLER-1") -> int:
    rules, lists = marker(version, seller)
    return platform.rulesets.add(rules, [lists], actor="ines", today=TODAY).record.id


# ---------------------------------------------------------------- checking


def test_the_check_lists_every_problem_with_file_and_line() -> None:
    problems = check_ruleset_files(RuleFileText("mine.toml", BROKEN), today=TODAY)
    codes = {p.code for p in problems if p.severity == "error"}
    assert {"rules.missing_action", "rules.unknown_field", "rules.unknown_list"} <= codes
    assert all(p.path.startswith("mine.toml:") for p in problems)
    assert all("smartcustoms-rules-" not in p.path + p.message for p in problems)


def test_a_loaded_upload_cites_its_own_file_names_not_the_servers_folder() -> None:
    rules, lists = marker()
    ruleset = load_ruleset_files(rules, [lists], today=TODAY)
    assert ruleset.source == "rules.toml" and ruleset.rules[0].source == "rules.toml:6"
    assert ruleset.watchlists["marked-sellers"].source.startswith("marked.toml:")


def test_watch_lists_must_be_files_of_the_upload() -> None:
    rules = RuleFileText("rules.toml", 'id = "x"\nversion = "1"\nwatchlists = ["../etc.toml"]\n')
    assert [p.code for p in check_ruleset_files(rules)] == ["rules.invalid_value"]
    assert [p.code for p in check_ruleset_files(RuleFileText("a b.toml", ""))] == [
        "rules.invalid_value"
    ]


def test_two_files_with_one_name_cannot_be_checked() -> None:
    same = RuleFileText("a.toml", "")
    with pytest.raises(InvalidInputError) as info:
        check_ruleset_files(same, [same])
    assert [p.code for p in info.value.problems] == ["rules.duplicate_file"]


def test_the_hash_ignores_the_order_of_watch_lists() -> None:
    rules, lists = marker()
    other = RuleFileText("other.toml", "")
    assert content_hash(rules, [lists, other]) == content_hash(rules, [other, lists])
    assert content_hash(rules, [lists]) != content_hash(rules, [other])


# ---------------------------------------------------------------- storing


def test_an_invalid_upload_is_refused_with_every_problem_and_nothing_is_stored(
    platform: SmartCustoms,
) -> None:
    with pytest.raises(InvalidRuleFileError) as info:
        platform.rulesets.add(RuleFileText("mine.toml", BROKEN), actor="ines", today=TODAY)
    assert len([p for p in info.value.problems if p.severity == "error"]) >= 3
    assert platform.rulesets.rulesets() == []
    assert platform.store.counts()["rulesets"] == 0


def test_an_upload_is_a_draft_with_its_files_hash_and_audit(platform: SmartCustoms) -> None:
    rules, lists = marker()
    upload = platform.rulesets.add(rules, [lists], actor="ines", note="alert 12", today=TODAY)
    record = upload.record
    assert upload.created and upload.warnings == ()
    assert (record.ruleset_id, record.version, record.status) == ("analyst-set", "1", "draft")
    assert record.rule_count == 1 and record.note == "alert 12" and record.uploaded_by == "ines"
    assert record.rules == rules and record.watchlists == (lists,)
    assert record.sha256 == content_hash(rules, [lists])
    assert record.uploaded_at.tzinfo is not None and record.activated_at is None
    (listed,) = platform.rulesets.rulesets()
    assert listed.id == record.id and listed.rules.content == "" and listed.watchlists == ()
    audit = platform.store.audit_entries()[0]
    assert (audit["action"], audit["actor"], audit["subject_id"]) == (
        "ruleset.upload",
        "ines",
        str(record.id),
    )


def test_the_same_files_again_are_a_no_op_and_other_text_needs_a_new_version(
    platform: SmartCustoms,
) -> None:
    first = _upload(platform)
    rules, lists = marker()
    again = platform.rulesets.add(rules, [lists], actor="someone", today=TODAY)
    assert not again.created and again.record.id == first
    with pytest.raises(ConflictError, match="version '1' is already on file"):
        _upload(platform, seller="SELLER-2")
    second = _upload(platform, version="2", seller="SELLER-2")
    assert [r.id for r in platform.rulesets.rulesets()] == [second, first]


def test_warnings_are_kept_with_the_upload(platform: SmartCustoms) -> None:
    rules, lists = marker()
    unused = RuleFileText(
        "unused.toml",
        MARKER_LISTS.replace('id = "marked-sellers"', 'id = "unused"').format(seller="X"),
    )
    upload = platform.rulesets.add(rules, [lists, unused], actor="ines", today=TODAY)
    assert [p.code for p in upload.warnings] == ["rules.unused_list"]


def test_unknown_ids_are_not_found(platform: SmartCustoms) -> None:
    records = platform.rulesets
    with pytest.raises(RulesetNotFoundError):
        records.get(99)
    with pytest.raises(RulesetNotFoundError):
        records.activate(99, actor="ines")
    with pytest.raises(RulesetNotFoundError):
        records.retire(99, actor="ines")


# ---------------------------------------------------------------- activation


def test_activation_retires_the_active_one_atomically_and_is_audited(
    platform: SmartCustoms,
) -> None:
    records = platform.rulesets
    first, second = _upload(platform), _upload(platform, version="2")
    assert records.active() is None and records.active_key() is None
    records.activate(first, actor="ines")
    active = records.active()
    assert active is not None and active.id == first and active.activated_by == "ines"
    records.activate(second, actor="boss")
    statuses = {r.id: r.status for r in records.rulesets()}
    assert statuses == {first: RulesetStatus.RETIRED, second: RulesetStatus.ACTIVE}
    assert records.get(first).retired_at is not None
    assert records.active_key() == (second, records.get(second).sha256)
    activations = [e for e in platform.store.audit_entries() if e["action"] == "ruleset.activate"]
    assert [(e["actor"], e["subject_id"]) for e in activations] == [
        ("boss", str(second)),
        ("ines", str(first)),
    ]
    assert f'"previous": {first}' in activations[0]["details"]
    # rollback: the older ruleset again
    assert records.activate(first, actor="ines").status is RulesetStatus.ACTIVE
    assert [r.id for r in records.rulesets(status="active")] == [first]


def test_the_database_refuses_a_second_active_ruleset(platform: SmartCustoms) -> None:
    first, second = _upload(platform), _upload(platform, version="2")
    platform.rulesets.activate(first, actor="ines")
    with pytest.raises(IntegrityError), platform.store.engine.begin() as conn:
        conn.execute(t.rulesets.update().where(t.rulesets.c.id == second).values(status="active"))


def test_concurrent_activations_leave_exactly_one_active(platform: SmartCustoms) -> None:
    ids = [_upload(platform, version=str(n)) for n in range(1, 5)]
    errors: list[BaseException] = []

    def activate(ruleset: int) -> None:
        try:
            platform.rulesets.activate(ruleset, actor="ines")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=activate, args=(i,)) for i in ids * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(platform.rulesets.rulesets(status="active")) == 1


def test_a_stored_ruleset_that_no_longer_loads_is_not_activated(platform: SmartCustoms) -> None:
    record_id = _upload(platform)
    with platform.store.engine.begin() as conn:  # as if a release dropped a field
        conn.execute(
            insert(t.rulesets).values(
                ruleset_id="old",
                version="1",
                rules_name="old.toml",
                rules=BROKEN,
                watchlists="{}",
                sha256="0" * 64,
                rule_count=2,
                status="draft",
                uploaded_by="ines",
                uploaded_at=platform.rulesets.get(record_id).uploaded_at,
            )
        )
        broken = conn.execute(
            select(t.rulesets.c.id).where(t.rulesets.c.ruleset_id == "old")
        ).scalar_one()
    with pytest.raises(InvalidRuleFileError):
        platform.rulesets.activate(broken, actor="ines")
    assert platform.rulesets.active() is None


def test_retiring_the_active_ruleset_falls_back_to_the_settings(platform: SmartCustoms) -> None:
    record_id = _upload(platform)
    platform.rulesets.activate(record_id, actor="ines")
    assert platform.rules is not None and platform.rules.id == "analyst-set"
    retired = platform.rulesets.retire(record_id, actor="ines")
    assert retired.status is RulesetStatus.RETIRED and retired.retired_at is not None
    assert platform.rules is not None and platform.rules.id == load_example_rules().id
    assert platform.store.audit_entries()[0]["action"] == "ruleset.retire"


# ---------------------------------------------------------------- in force


def test_platform_rules_follow_the_active_ruleset_without_reparsing(
    platform: SmartCustoms, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert platform.rules is not None and platform.rules.id == "example-eu-ecommerce"
    first, second = _upload(platform), _upload(platform, version="2")
    platform.rulesets.activate(first, actor="ines")
    loaded = platform.rules
    assert loaded is not None and (loaded.id, loaded.version) == ("analyst-set", "1")
    parsed: list[int] = []
    import smartcustoms.store.rulesets as module

    real = module.load_ruleset_files

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "load_ruleset_files", counting)
    assert platform.rules is loaded and parsed == []  # cached: one lookup, no parsing
    platform.rulesets.activate(second, actor="ines")  # checks the files: one parse
    parsed.clear()
    now_in_force = platform.rules
    assert now_in_force is not None and now_in_force.version == "2" and parsed == [1]
    assert platform.rules is now_in_force and parsed == [1]


def test_the_fast_path_engine_is_kept_until_the_configuration_changes(
    platform: SmartCustoms,
) -> None:
    engine = platform.single_filing_engine()
    stamp = platform.store.configuration_stamp()
    assert platform.single_filing_engine() is engine  # one stamp query, nothing rebuilt
    first, second = _upload(platform), _upload(platform, version="2")
    assert platform.store.configuration_stamp() == stamp  # drafts are not in force
    platform.rulesets.activate(first, actor="ines")
    after = platform.store.configuration_stamp()
    assert after != stamp and after[0] == first
    rebuilt = platform.single_filing_engine()
    assert rebuilt is not engine and rebuilt.clearance.risk is not None
    assert rebuilt.clearance.risk.rules is not None
    assert rebuilt.clearance.risk.rules.version == "1"
    platform.rulesets.activate(second, actor="ines")
    assert platform.store.configuration_stamp()[0] == second
    assert platform.single_filing_engine() is not rebuilt


def test_a_rule_of_the_new_active_set_fires_on_the_next_clearance(
    platform: SmartCustoms, tmp_path: Path
) -> None:
    def clear(filing_id: str) -> list[str]:
        path = write_jsonl(tmp_path / f"{filing_id}.jsonl", [make_filing(filing_id)])
        platform.clear([path])
        decision = platform.risk_records.decision(f"{filing_id}-C1")
        assert decision is not None
        return [h["rule_id"] for h in decision["rule_hits"]]

    assert "marked-seller" not in clear("BEFORE")
    platform.rulesets.activate(_upload(platform), actor="ines")
    assert clear("AFTER") == ["marked-seller"]
    decision = platform.risk_records.decision("AFTER-C1")
    assert decision is not None and decision["lane"] == "red"
    counts = platform.rulesets.hit_counts("analyst-set")
    assert [(c.rule_id, c.rule_version, c.hits) for c in counts] == [("marked-seller", "1", 1)]
    assert counts[0].last_hit_at is not None and counts[0].last_hit_at.tzinfo is not None


def test_the_example_rules_upload_cleanly(platform: SmartCustoms) -> None:
    path = example_rules_path()
    lists = path.parent / "example-watchlists.toml"
    upload = platform.rulesets.add(
        RuleFileText(path.name, path.read_text(encoding="utf-8")),
        [RuleFileText(lists.name, lists.read_text(encoding="utf-8"))],
        actor="ines",
        today=TODAY,
    )
    assert upload.record.rule_count == len(load_example_rules().rules)
