"""Targeting rulesets uploaded by analysts: validated, versioned, one active at a time.

Rules and watch lists normally come from files named in the settings (``risk_rules``,
``risk_watchlists``; the shipped illustrative set by default). An analyst may instead upload
a rules file with its watch-list files; :class:`RulesetRecords` keeps each upload whole
(``rulesets`` table) and lets one of them be the *active* ruleset, which then takes
precedence over the settings (:attr:`smartcustoms.platform.SmartCustoms.rules`).

* An upload is checked by the same loader as ``smartcustoms risk rules check`` and
  ``POST /api/v1/rules/check`` (:func:`check_ruleset_files`); one with an error is refused
  with every problem at once and nothing is stored.
* The file's own ``id`` and ``version`` name an upload: a ruleset version is immutable, so
  an auditor reading ``ruleset_id`` and a rule version in a decision knows which text
  selected the consignment (Art. 46 UCC asks controls to rest on documented risk analysis).
  The same id and version with other content is a conflict; the same content again is an
  idempotent no-op.
* Uploads start as ``draft``. Activating one retires the active one in the same transaction,
  with its audit-log entry; a partial unique index makes "one active at a time" a database
  guarantee. Activating an older ruleset again is the rollback.

The text-based check and load (a temporary folder, since the loaders read files) live here
because the store is where uploads are stored; they touch no table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, insert, literal_column, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnClause

from smartcustoms.errors import (
    ConflictError,
    InvalidInputError,
    InvalidRuleFileError,
    Problem,
    RulesetNotFoundError,
)
from smartcustoms.risk.rules import RuleSet, load_rules
from smartcustoms.store import tables as t
from smartcustoms.store.database import Store

__all__ = [
    "FILE_NAME_PATTERN",
    "MAX_NOTE",
    "ActiveRules",
    "RuleFileText",
    "RuleHitCount",
    "RulesetRecord",
    "RulesetRecords",
    "RulesetStatus",
    "RulesetUpload",
    "check_ruleset_files",
    "content_hash",
    "load_ruleset_files",
]

FILE_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
"""An uploaded file's name: how problems cite it and how a rules file's ``watchlists`` key
names it. No folders, so a rules file can never make the server read its own disk."""

MAX_NOTE: Final = 2000
"""Longest note an upload may carry."""
_FILE_NAME = re.compile(FILE_NAME_PATTERN)
_MAX_ID, _MAX_VERSION = 128, 64
_ACTIVE: Final[ColumnClause[str]] = literal_column(
    "'active'"
)  # a literal, so the partial index serves the lookup


class RulesetStatus(StrEnum):
    """Where a stored ruleset is in its life: uploaded, in force, or no longer in force."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class RuleFileText:
    """One uploaded TOML file.

    Attributes:
        name: File name (``rules.toml``): problems cite it (``rules.toml:14``) and a rules
            file's ``watchlists`` key names watch-list files by it.
        content: The TOML text.
    """

    name: str
    content: str


# ---------------------------------------------------------------- checking and loading


def _duplicate_names(files: Sequence[RuleFileText]) -> list[Problem]:
    names = [f.name for f in files]
    return [
        Problem("rules.duplicate_file", "watchlists", f"{n} given twice")
        for n in sorted({n for n in names if names.count(n) > 1})
    ]


def _unsafe_files(rules: RuleFileText, watchlists: Sequence[RuleFileText]) -> list[Problem]:
    """Problems that stop a check before any file is written or read.

    Uploaded names must be plain file names, and the watch-list files a rules file names
    must be files of the upload: otherwise the server would read (and report on) files of
    its own disk. A document nested too deeply for the TOML parser is refused here too.
    """
    problems = [
        Problem(
            "rules.invalid_value", f.name or "rules", "a file name is 1-100 letters, digits, . _ -"
        )
        for f in (rules, *watchlists)
        if not _FILE_NAME.match(f.name)
    ]
    if problems:
        return problems
    try:
        declared = tomllib.loads(rules.content).get("watchlists", [])
    except tomllib.TOMLDecodeError:
        return []  # the check reports the syntax error with its line
    except RecursionError:
        return [Problem("rules.syntax", rules.name, "not valid TOML: nested too deeply")]
    if not isinstance(declared, list):
        return []
    return [
        Problem(
            "rules.invalid_value",
            rules.name,
            f"watch list {name!r}: name uploaded files only (no folders) when checking an upload",
        )
        for name in declared
        if isinstance(name, str) and name and not _FILE_NAME.match(name)
    ]


def _relative(text: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        text = text.replace(prefix, "")
    return text


def _read_files(
    rules: RuleFileText, watchlists: Sequence[RuleFileText], today: date | None
) -> tuple[RuleSet | None, list[Problem]]:
    """Load the upload from a temporary folder: the ruleset (``None`` on error) and problems.

    Paths in problems and in the loaded ruleset's ``source`` fields are made relative to
    the folder, so the server's temporary folder never shows.
    """
    duplicates = _duplicate_names([rules, *watchlists])
    if duplicates:
        raise InvalidInputError("each uploaded file needs its own name", tuple(duplicates))
    unsafe = _unsafe_files(rules, watchlists)
    if unsafe:
        return None, unsafe
    with tempfile.TemporaryDirectory(prefix="smartcustoms-rules-") as tmp:
        folder = Path(tmp)
        for upload in (rules, *watchlists):
            (folder / upload.name).write_text(upload.content, encoding="utf-8")
        prefixes = (f"{folder.resolve()}/", f"{folder}/")
        try:
            loaded = load_rules(
                folder / rules.name, [folder / w.name for w in watchlists], today=today
            )
            ruleset: RuleSet | None = loaded
            found = list(loaded.warnings)
        except InvalidRuleFileError as exc:
            ruleset, found = None, list(exc.problems)
        except RecursionError:  # a watch list nested deeper than the TOML parser goes
            ruleset = None
            found = [Problem("rules.syntax", "watchlists", "not valid TOML: nested too deeply")]
    problems = [
        Problem(p.code, _relative(p.path, prefixes), _relative(p.message, prefixes), p.severity)
        for p in found
    ]
    if ruleset is None:
        return None, problems
    return _relative_sources(ruleset, prefixes, problems), problems


def _relative_sources(
    ruleset: RuleSet, prefixes: tuple[str, ...], warnings: list[Problem]
) -> RuleSet:
    return dataclasses.replace(
        ruleset,
        rules=tuple(
            dataclasses.replace(r, source=_relative(r.source, prefixes)) for r in ruleset.rules
        ),
        watchlists={
            name: dataclasses.replace(w, source=_relative(w.source, prefixes))
            for name, w in ruleset.watchlists.items()
        },
        source=_relative(ruleset.source, prefixes),
        warnings=tuple(warnings),
    )


def check_ruleset_files(
    rules: RuleFileText, watchlists: Sequence[RuleFileText] = (), *, today: date | None = None
) -> list[Problem]:
    """Every problem (errors and warnings) of an uploaded rules file and its watch lists.

    The check of ``smartcustoms risk rules check`` run on uploaded text; paths are
    ``name:LINE``. Never raises for content.

    Raises:
        InvalidInputError: Two files share a name (``rules.duplicate_file``): the upload
            cannot be checked at all.
    """
    return _read_files(rules, watchlists, today)[1]


def load_ruleset_files(
    rules: RuleFileText, watchlists: Sequence[RuleFileText] = (), *, today: date | None = None
) -> RuleSet:
    """Load an uploaded ruleset, raising with every problem when it has an error.

    Raises:
        InvalidRuleFileError: A file has an error (``problems`` lists all, warnings too).
        InvalidInputError: Two files share a name.
    """
    ruleset, problems = _read_files(rules, watchlists, today)
    if ruleset is None:
        errors = [p for p in problems if p.severity == "error"]
        raise InvalidRuleFileError(
            f"the ruleset has {len(errors)} error{'s' if len(errors) != 1 else ''}; "
            "every problem is listed",
            tuple(problems),
        )
    return ruleset


def content_hash(rules: RuleFileText, watchlists: Sequence[RuleFileText]) -> str:
    """sha256 (hex) of an upload: its file names and texts, watch lists in name order."""
    canonical = json.dumps(
        {
            "rules": [rules.name, rules.content],
            "watchlists": sorted([w.name, w.content] for w in watchlists),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class RulesetRecord:
    """A stored ruleset.

    Attributes:
        id: Store id (``/rules/{id}``).
        ruleset_id: The rules file's ``id`` (what rule hits and decisions record).
        version: The rules file's ``version``.
        sha256: Hash of the files (:func:`content_hash`).
        status: Draft, active or retired.
        rule_count: Rules in the file.
        uploaded_by: Who uploaded it.
        uploaded_at: When.
        activated_by: Who last activated it (``None``: never).
        activated_at: When it was last activated.
        retired_at: When it last stopped being active (or was withdrawn as a draft).
        note: The uploader's note.
        rules: The rules file (its name only, empty content, in listings).
        watchlists: The watch-list files in name order (none in listings).
    """

    id: int
    ruleset_id: str
    version: str
    sha256: str
    status: RulesetStatus
    rule_count: int
    uploaded_by: str
    uploaded_at: datetime
    activated_by: str | None
    activated_at: datetime | None
    retired_at: datetime | None
    note: str | None
    rules: RuleFileText
    watchlists: tuple[RuleFileText, ...] = ()

    @property
    def is_active(self) -> bool:
        """Whether clearance uses it."""
        return self.status is RulesetStatus.ACTIVE

    def as_dict(self, *, with_content: bool = False) -> dict[str, Any]:
        """JSON-ready form (file texts only ``with_content``)."""
        out: dict[str, Any] = {
            "id": self.id,
            "ruleset_id": self.ruleset_id,
            "version": self.version,
            "sha256": self.sha256,
            "status": str(self.status),
            "rule_count": self.rule_count,
            "rules_name": self.rules.name,
            "uploaded_by": self.uploaded_by,
            "uploaded_at": self.uploaded_at,
            "activated_by": self.activated_by,
            "activated_at": self.activated_at,
            "retired_at": self.retired_at,
            "note": self.note,
        }
        if with_content:
            out["rules"] = {"name": self.rules.name, "content": self.rules.content}
            out["watchlists"] = [{"name": w.name, "content": w.content} for w in self.watchlists]
        return out


@dataclass(frozen=True, slots=True)
class RulesetUpload:
    """The outcome of an upload.

    Attributes:
        record: The stored ruleset (a draft, or the one already on file).
        warnings: Warnings of the check (errors refuse the upload).
        created: ``False`` when the same files were already on file (nothing stored).
    """

    record: RulesetRecord
    warnings: tuple[Problem, ...]
    created: bool


@dataclass(frozen=True, slots=True)
class RuleHitCount:
    """How often one rule of a ruleset id hit, per rule version.

    Attributes:
        rule_id: The rule.
        rule_version: Its version at the time of the hits.
        hits: Rule hits recorded (one per consignment and rule).
        first_hit_at: The first.
        last_hit_at: The latest.
    """

    rule_id: str
    rule_version: str | None
    hits: int
    first_hit_at: datetime | None
    last_hit_at: datetime | None


_SUMMARY_COLUMNS = tuple(c for c in t.rulesets.c if c.name not in ("rules", "watchlists"))


def _record(row: Any, *, with_content: bool) -> RulesetRecord:
    lists: dict[str, str] = json.loads(row.watchlists) if with_content else {}
    return RulesetRecord(
        id=int(row.id),
        ruleset_id=row.ruleset_id,
        version=row.version,
        sha256=row.sha256,
        status=RulesetStatus(row.status),
        rule_count=int(row.rule_count),
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        activated_by=row.activated_by,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
        note=row.note,
        rules=RuleFileText(row.rules_name, row.rules if with_content else ""),
        watchlists=tuple(RuleFileText(n, lists[n]) for n in sorted(lists)),
    )


class RulesetRecords:
    """Uploaded rulesets of one store.

    Args:
        store: The platform's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------------------------------------------------------------- upload

    def add(
        self,
        rules: RuleFileText,
        watchlists: Sequence[RuleFileText] = (),
        *,
        actor: str,
        note: str | None = None,
        today: date | None = None,
    ) -> RulesetUpload:
        """Check an upload and store it as a draft.

        Args:
            rules: The rules file.
            watchlists: Its watch-list files (those its ``watchlists`` key names, and any
                others to load with it).
            actor: Who uploads, for the record and the audit log.
            note: Why (shown with the ruleset).
            today: Day "no longer in force" warnings are judged on (default: today).

        Returns:
            The stored draft with the check's warnings; the ruleset already on file (and
            ``created=False``) when the very same files were uploaded before.

        Raises:
            InvalidRuleFileError: The files have an error; every problem is listed and
                nothing is stored.
            InvalidInputError: Two files share a name, or the note is too long.
            ConflictError: Another upload already has this ruleset id and version.
        """
        if note is not None and (len(note) > MAX_NOTE or "\x00" in note):
            raise InvalidInputError(
                "the note is too long",
                (Problem("ruleset.note", "note", f"at most {MAX_NOTE} characters, no NUL"),),
            )
        ruleset = load_ruleset_files(rules, watchlists, today=today)
        too_long = [
            Problem(
                "rules.invalid_value", f"{rules.name}:1", f"{key} is longer than {size} characters"
            )
            for key, value, size in (
                ("id", ruleset.id, _MAX_ID),
                ("version", ruleset.version, _MAX_VERSION),
            )
            if len(value) > size
        ]
        if too_long:
            raise InvalidRuleFileError("the ruleset cannot be stored", tuple(too_long))
        digest = content_hash(rules, watchlists)
        warnings = ruleset.warnings
        existing = self._by_version(ruleset.id, ruleset.version)
        if existing is not None:
            return self._same_or_conflict(existing, digest, warnings)
        now = datetime.now(UTC)
        try:
            with self.store.engine.begin() as conn:
                key = conn.execute(
                    insert(t.rulesets).values(
                        ruleset_id=ruleset.id,
                        version=ruleset.version,
                        rules_name=rules.name,
                        rules=rules.content,
                        watchlists=json.dumps(
                            {w.name: w.content for w in watchlists}, ensure_ascii=False
                        ),
                        sha256=digest,
                        rule_count=len(ruleset.rules),
                        status=str(RulesetStatus.DRAFT),
                        uploaded_by=actor,
                        uploaded_at=now,
                        note=note or None,
                    )
                ).inserted_primary_key
                assert key is not None
                new_id = int(key[0])
                _audit(
                    conn,
                    actor,
                    "ruleset.upload",
                    new_id,
                    {
                        "ruleset_id": ruleset.id,
                        "version": ruleset.version,
                        "sha256": digest,
                        "rules": len(ruleset.rules),
                        "watchlist_files": sorted(w.name for w in watchlists),
                        "warnings": len(warnings),
                    },
                    now,
                )
        except IntegrityError:  # the same id and version uploaded at the same moment
            existing = self._by_version(ruleset.id, ruleset.version)
            if existing is None:
                raise
            return self._same_or_conflict(existing, digest, warnings)
        return RulesetUpload(self.get(new_id), warnings, created=True)

    def _same_or_conflict(
        self, existing: RulesetRecord, digest: str, warnings: tuple[Problem, ...]
    ) -> RulesetUpload:
        if existing.sha256 == digest:
            return RulesetUpload(self.get(existing.id), warnings, created=False)
        raise ConflictError(
            f"ruleset {existing.ruleset_id!r} version {existing.version!r} is already on file "
            f"(id {existing.id}) with other content; give the new text its own version"
        )

    def _by_version(self, ruleset_id: str, version: str) -> RulesetRecord | None:
        r = t.rulesets.c
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(t.rulesets).where(r.ruleset_id == ruleset_id, r.version == version)
            ).first()
        return None if row is None else _record(row, with_content=True)

    # ---------------------------------------------------------------- reading

    def get(self, ruleset: int) -> RulesetRecord:
        """One stored ruleset with its files (raises :class:`RulesetNotFoundError`)."""
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.rulesets).where(t.rulesets.c.id == ruleset)).first()
        if row is None:
            raise RulesetNotFoundError(f"no stored ruleset {ruleset}")
        return _record(row, with_content=True)

    def rulesets(self, *, status: RulesetStatus | str | None = None) -> list[RulesetRecord]:
        """Every stored ruleset, newest upload first, without file texts."""
        r = t.rulesets.c
        query = select(*_SUMMARY_COLUMNS).order_by(r.id.desc())
        if status is not None:
            query = query.where(r.status == str(RulesetStatus(status)))
        with self.store.engine.connect() as conn:
            return [_record(row, with_content=False) for row in conn.execute(query)]

    def active_key(self) -> tuple[int, str] | None:
        """(id, sha256) of the active ruleset, or ``None``: one lookup on a unique index.

        Cheap enough to ask before every clearance batch.
        """
        r = t.rulesets.c
        with self.store.engine.connect() as conn:
            row = conn.execute(select(r.id, r.sha256).where(r.status == _ACTIVE)).first()
        return None if row is None else (int(row.id), str(row.sha256))

    def active(self) -> RulesetRecord | None:
        """The active ruleset with its files, or ``None``."""
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.rulesets).where(t.rulesets.c.status == _ACTIVE)).first()
        return None if row is None else _record(row, with_content=True)

    def hit_counts(self, ruleset_id: str) -> list[RuleHitCount]:
        """Rule hits on file under a ruleset id, per rule and rule version (most hits first).

        Rule hits record the rules file's ``id`` (not the store id), so every upload and
        settings file with that id counts; the rule version tells the texts apart.
        """
        h = t.rule_hits.c
        hits = func.count().label("hits")
        query = (
            select(h.rule_id, h.rule_version, hits, func.min(h.hit_at), func.max(h.hit_at))
            .where(h.ruleset_id == ruleset_id)
            .group_by(h.rule_id, h.rule_version)
            .order_by(hits.desc(), h.rule_id, h.rule_version)
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        # min and max keep the column's type, so the times come back aware
        return [RuleHitCount(row[0], row[1], int(row[2]), row[3], row[4]) for row in rows]

    # ---------------------------------------------------------------- activation

    def activate(self, ruleset: int, *, actor: str, today: date | None = None) -> RulesetRecord:
        """Make a stored ruleset the active one, retiring the active one, in one transaction.

        The files are loaded again first: a ruleset that no longer loads (the field
        catalogue changed with a new release, say) is refused with its problems rather than
        made active. Activating the active ruleset changes nothing (and is audited too).

        Raises:
            RulesetNotFoundError: No such ruleset.
            InvalidRuleFileError: The ruleset no longer loads.
        """
        record = self.get(ruleset)
        load_ruleset_files(record.rules, record.watchlists, today=today)
        r = t.rulesets.c
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            _serialise_activations(conn)
            retired = (
                conn.execute(
                    update(t.rulesets)
                    .where(r.status == _ACTIVE, r.id != record.id)
                    .values(status=str(RulesetStatus.RETIRED), retired_at=now)
                    .returning(r.id)
                )
                .scalars()
                .all()
            )
            changed = conn.execute(
                update(t.rulesets)
                .where(r.id == record.id, r.status != _ACTIVE)
                .values(status=str(RulesetStatus.ACTIVE), activated_by=actor, activated_at=now)
            ).rowcount
            _audit(
                conn,
                actor,
                "ruleset.activate",
                record.id,
                {
                    "ruleset_id": record.ruleset_id,
                    "version": record.version,
                    "sha256": record.sha256,
                    "previous": retired[0] if retired else (None if changed else record.id),
                    "changed": bool(changed),
                },
                now,
            )
        return self.get(record.id)

    def retire(self, ruleset: int, *, actor: str) -> RulesetRecord:
        """Take a ruleset out of use (or withdraw a draft); audited.

        When the active ruleset is retired, clearance falls back to the rules of the
        settings (the shipped set by default). Retiring a retired ruleset changes nothing.

        Raises:
            RulesetNotFoundError: No such ruleset.
        """
        record = self.get(ruleset)
        r = t.rulesets.c
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            changed = conn.execute(
                update(t.rulesets)
                .where(r.id == record.id, r.status != str(RulesetStatus.RETIRED))
                .values(status=str(RulesetStatus.RETIRED), retired_at=now)
            ).rowcount
            _audit(
                conn,
                actor,
                "ruleset.retire",
                record.id,
                {
                    "ruleset_id": record.ruleset_id,
                    "version": record.version,
                    "was": str(record.status),
                    "changed": bool(changed),
                },
                now,
            )
        return self.get(record.id)


def _serialise_activations(conn: Connection) -> None:
    """Let one activation at a time change statuses (readers are not blocked).

    Two activations at once would otherwise deadlock on PostgreSQL (each waits for the
    other's row in the unique index). The lock mode conflicts with itself and with writes,
    not with ``SELECT``: clearance keeps reading the active ruleset meanwhile. SQLite
    already runs one write transaction at a time; the activation starts with a write, so
    it waits for the database lock (busy timeout) instead of failing to upgrade a read.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {t.rulesets.name} IN SHARE ROW EXCLUSIVE MODE"))


def _audit(
    conn: Connection,
    actor: str,
    action: str,
    ruleset: int,
    details: dict[str, Any],
    at: datetime,
) -> None:
    """An audit-log entry written in the caller's transaction (with the change it records)."""
    conn.execute(
        insert(t.audit_log).values(
            at=at,
            actor=actor,
            action=action,
            subject_type="ruleset",
            subject_id=str(ruleset),
            details=json.dumps(details, default=str),
        )
    )


@dataclass
class ActiveRules:
    """The parsed active ruleset, kept until another one is activated.

    The platform asks it for the rules before each clearance batch: one indexed lookup
    tells which stored ruleset is active (id and hash); the TOML is parsed only when that
    changed. Thread-safe: the service clears requests on several threads at once.
    """

    # one attribute, so a reader never pairs one ruleset's key with another's rules
    _loaded: tuple[tuple[int, str], RuleSet] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def rules(self, records: RulesetRecords) -> RuleSet | None:
        """The active stored ruleset, or ``None`` when none is active.

        Raises:
            InvalidRuleFileError: The active ruleset no longer loads.
        """
        key = records.active_key()
        if key is None:
            return None
        loaded = self._loaded
        if loaded is not None and loaded[0] == key:
            return loaded[1]
        with self._lock:
            loaded = self._loaded
            if loaded is not None and loaded[0] == key:
                return loaded[1]
            record = records.get(key[0])
            ruleset = load_ruleset_files(record.rules, record.watchlists)
            self._loaded = ((record.id, record.sha256), ruleset)
            return ruleset
