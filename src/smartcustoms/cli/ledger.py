"""``smartcustoms ledger`` and ``smartcustoms mra``: our verifiable log and the partners'.

The log is held by one process at a time: while ``smartcustoms serve`` runs, use its API
(``POST /api/v1/ledger/cosign``, ``POST /api/v1/mra/sync``) or stop it first.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from smartcustoms.aeo import CertificateType, MraPartner
from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.cli.ledger_demo import demo_command
from smartcustoms.errors import InvalidInputError, Problem
from smartcustoms.ledger import verify_bundle
from smartcustoms.ledger.note import parse_note
from smartcustoms.ledger.policy import parse_policy
from smartcustoms.ledger.statements import StatementType
from smartcustoms.mra import PartnerSpec, SyncReport

__all__ = ["ledger_group", "mra_group"]


@click.group("ledger")
def ledger_group() -> None:
    """Our verifiable ledger: statements, checkpoints, proofs, verification, witnessing."""


@ledger_group.command("append")
@click.option(
    "--type",
    "kind",
    required=True,
    type=click.Choice([t.value for t in StatementType if t is not StatementType.AEO_STATUS]),
    help="Statement type (AEO statuses are appended by `aeo grant|suspend|revoke`).",
)
@click.option("--subject", required=True, help="What it is about (a consignment id...).")
@click.option(
    "--document",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The full business document; only its SHA-256 is logged.",
)
@click.option(
    "--private",
    "private_json",
    default="{}",
    help="JSON object of personal or commercial fields: committed to, never logged.",
)
@click.option("--effective", type=click.DateTime(), help="When it takes effect (default: now).")
@db_option
@json_option
def append(
    kind: str,
    subject: str,
    document: Path,
    private_json: str,
    effective: datetime | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Sign a statement and append it to our log (stored first, so nothing is lost)."""
    try:
        private = json.loads(private_json)
    except ValueError as exc:
        problem = Problem("ledger.statement_invalid", "--private", f"not JSON: {exc}")
        raise InvalidInputError("--private must be a JSON object", (problem,)) from exc
    if not isinstance(private, dict):
        problem = Problem("ledger.statement_invalid", "--private", "must be a JSON object")
        raise InvalidInputError("--private must be a JSON object", (problem,))
    when = (effective or datetime.now(UTC)).replace(microsecond=0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    platform = make_platform(database_url)
    index = platform.append_statement(
        StatementType(kind),
        subject=subject,
        effective_at=when,
        document=document.read_bytes(),
        private_fields=private,
    )
    if as_json:
        echo_json({"index": index, "size": platform.ledger.log.size})
    else:
        click.echo(f"appended as entry {index}; the log holds {platform.ledger.log.size}")


@ledger_group.command("checkpoint")
@click.option("--cosign", is_flag=True, help="Ask every partner's witness to cosign it first.")
@db_option
@json_option
def checkpoint(cosign: bool, database_url: str | None, as_json: bool) -> None:
    """Print our latest signed checkpoint (with the cosignatures collected)."""
    platform = make_platform(database_url)
    platform.publish_statements()
    reports = [r.as_dict() for r in platform.mra.cosign()] if cosign else []
    note = platform.ledger.checkpoint()
    if as_json:
        echo_json({"checkpoint": note, "cosign": reports})
        return
    for r in reports:
        state = "cosigned" if r["error"] is None else f"refused: [{r['code']}] {r['error']}"
        click.echo(f"# {r['origin']}: {state}", err=True)
    click.echo(note, nl=False)


@ledger_group.command("prove")
@click.argument("index", type=click.IntRange(min=0))
@click.option("--size", type=click.IntRange(min=1), help="Tree size (default: current).")
@click.option("--bundle", is_flag=True, help="Print an offline proof bundle (C2SP tlog-proof).")
@db_option
def prove(index: int, size: int | None, bundle: bool, database_url: str | None) -> None:
    """Print the inclusion proof of entry INDEX (or its offline bundle)."""
    platform = make_platform(database_url)
    node = platform.ledger
    if bundle:
        click.echo(node.bundle(index), nl=False)
        return
    n = node.log.size if size is None else size
    proof = [base64.b64encode(h).decode("ascii") for h in node.log.inclusion_proof(index, n)]
    root = base64.b64encode(node.log.root(n)).decode("ascii")
    echo_json({"index": index, "size": n, "root_hash": root, "proof": proof})


@ledger_group.command("verify")
@db_option
@json_option
def verify(database_url: str | None, as_json: bool) -> None:
    """Recompute every hash of our log from its entries; name the first bad entry if any."""
    platform = make_platform(database_url)
    log = platform.ledger.log
    log.verify()
    root = base64.b64encode(log.root()).decode("ascii")
    if as_json:
        echo_json({"ok": True, "size": log.size, "root_hash": root})
    else:
        click.echo(f"ok: {log.size} entries, root {root}")


@ledger_group.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signed trust policy (nothing else is needed, no network).",
)
@json_option
def verify_bundle_command(bundle: Path, policy_file: Path, as_json: bool) -> None:
    """Verify an offline proof bundle with nothing but the trust policy (a border check).

    The policy's own signature is checked by whoever installed it; here its text is read.
    """
    policy = parse_policy(parse_note(policy_file.read_text()).text, label=policy_file.name)
    verified = verify_bundle(bundle.read_bytes(), policy)
    s = verified.statement
    witnesses = sorted(verified.cosigners)
    result = {
        "issuer": s.issuer,
        "type": s.type.value,
        "action": None if s.action is None else s.action.value,
        "subject": s.subject,
        "effective_at": s.effective_at.isoformat(),
        "log": verified.origin,
        "index": verified.index,
        "tree_size": verified.tree_size,
        "witnesses": witnesses,
    }
    if as_json:
        echo_json(result)
        return
    action = f" {result['action']}" if result["action"] else ""
    click.echo(
        f"verified: {s.issuer} {s.type.value}{action} for {s.subject} effective "
        f"{result['effective_at']} (entry {verified.index} of {verified.origin}, tree "
        f"{verified.tree_size}, witnessed by {', '.join(witnesses)})"
    )


@ledger_group.command("witness")
@click.option("--origin", help="Only this partner log.")
@db_option
@json_option
def witness(origin: str | None, database_url: str | None, as_json: bool) -> None:
    """Witness partners' logs: check each newest checkpoint extends the last we cosigned.

    A partner's checkpoint is cosigned only when its consistency proof holds; a rollback or
    a fork is refused with its code. The verified entries are read too (as `mra sync`).
    """
    _print_sync(make_platform(database_url).mra.sync(origin), as_json)


@ledger_group.command("keys")
@db_option
def keys(database_url: str | None) -> None:
    """Print our public verifier keys (what a partner puts in its trust policy)."""
    platform = make_platform(database_url)
    echo_json(
        platform.ledger_keys.verifier_keys()
        | {
            "origin": platform.settings.ledger_origin,
            "administration": platform.settings.home_country,
        }
    )


@ledger_group.command("status")
@db_option
@json_option
def status(database_url: str | None, as_json: bool) -> None:
    """Size, root, statements waiting, and each partner log's last verified checkpoint."""
    platform = make_platform(database_url)
    published = platform.publish_statements()
    log = platform.ledger.log
    data = {
        "origin": platform.settings.ledger_origin,
        "size": log.size,
        "root_hash": base64.b64encode(log.root()).decode("ascii"),
        "published_now": published.appended,
        "statements": platform.statements.counts(),
        "partners": platform.mra.status(),
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['origin']}: {log.size} entries, root {data['root_hash']}")
    partners: list[dict[str, object]] = platform.mra.status()
    for p in partners:
        click.echo(f"  partner {p['log_origin']}: read up to {p['tree_size']} ({p['synced_at']})")


ledger_group.add_command(demo_command)

# --- mra -------------------------------------------------------------------------------------


@click.group("mra")
def mra_group() -> None:
    """Mutual recognition partners: their logs, the trust policy, syncing their statuses."""


def _keys_from(value: str) -> dict[str, str]:
    """Read a partner's ``ledger keys`` JSON (a file path, or ``-`` for stdin)."""
    text = sys.stdin.read() if value == "-" else Path(value).read_text()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise InvalidInputError("--keys must hold the JSON printed by `ledger keys`")
    return {str(k): str(v) for k, v in data.items()}


@mra_group.command("add-partner")
@click.option("--country", required=True, help="Partner code (ISO alpha-2, EU for the Union).")
@click.option("--authority", required=True, help="Partner customs authority's name.")
@click.option("--effective-from", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--effective-to", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option(
    "--scope",
    multiple=True,
    type=click.Choice([t.value for t in CertificateType]),
    help="Certificate types recognised (repeatable; default all).",
)
@click.option(
    "--keys",
    "keys_file",
    required=True,
    help="The partner's `smartcustoms ledger keys` JSON (file, or - for stdin).",
)
@click.option("--url", help="The partner service's base URL (to sync its log).")
@click.option(
    "--api-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with our partner-role API key at the partner's service.",
)
@click.option("--witness", "witnesses", multiple=True, help="Another witness: NAME=VKEY.")
@click.option("--quorum", type=click.IntRange(min=1), help="Witness cosignatures required.")
@click.option("--actor", default="cli", show_default=True)
@db_option
def add_partner(
    country: str,
    authority: str,
    effective_from: datetime,
    effective_to: datetime | None,
    scope: tuple[str, ...],
    keys_file: str,
    url: str | None,
    api_key_file: Path | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
    actor: str,
    database_url: str | None,
) -> None:
    """Add an MRA partner and its log to our signed trust policy."""
    keys_json = _keys_from(keys_file)
    pairs = []
    for w in witnesses:
        name, sep, vkey = w.partition("=")
        if not sep:
            raise InvalidInputError(f"--witness {w!r}: expected NAME=VKEY")
        pairs.append((name, vkey))
    partner = MraPartner(
        country=country,
        authority=authority,
        effective_from=effective_from.date(),
        effective_to=effective_to.date() if effective_to else None,
        scope=tuple(CertificateType(s) for s in scope) or tuple(CertificateType),
    )
    spec = PartnerSpec(
        administration=keys_json.get("administration", country),
        origin=keys_json["origin"],
        log_keys=[keys_json["log"]],
        statement_keys=[keys_json["statements"]],
        url=url,
        api_key=api_key_file.read_text().strip() if api_key_file else None,
        witnesses=pairs,
    )
    platform = make_platform(database_url)
    policy = platform.mra.add_partner(partner, spec, quorum=quorum, actor=actor)
    click.echo(
        f"added {country} ({spec.origin}); trust policy version {policy.version}: "
        f"{len(policy.logs)} partner log(s), quorum {policy.quorum} of {len(policy.witnesses)}"
    )


def _print_sync(reports: list[SyncReport], as_json: bool) -> None:
    rows = [r.as_dict() for r in reports]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no partner log in the trust policy")
    for r in rows:
        if r["error"]:
            click.echo(f"{r['origin']}: refused [{r['code']}] {r['error']}")
        else:
            click.echo(
                f"{r['origin']}: verified up to {r['size']} entries, "
                f"{r['new_statements']} new statement(s), {r['new_acts']} new AEO act(s)"
            )
    if any(r["error"] for r in rows):
        sys.exit(1)


@mra_group.command("sync")
@click.option("--origin", help="Only this partner log.")
@db_option
@json_option
def sync(origin: str | None, database_url: str | None, as_json: bool) -> None:
    """Verify each partner's log and record its AEO statuses (exit 1 if one was refused)."""
    _print_sync(make_platform(database_url).mra.sync(origin), as_json)


@mra_group.command("status")
@db_option
@json_option
def mra_status(database_url: str | None, as_json: bool) -> None:
    """Partners, their logs and how far each was verified."""
    platform = make_platform(database_url)
    logs = platform.mra.status()
    partners = [(p, o) for p, o in platform.aeo.partner_logs()]
    if as_json:
        echo_json(
            {
                "partners": [
                    {
                        "country": p.country,
                        "authority": p.authority,
                        "effective_from": p.effective_from,
                        "effective_to": p.effective_to,
                        "scope": [s.value for s in p.scope],
                        "log_origin": o,
                    }
                    for p, o in partners
                ],
                "logs": logs,
            }
        )
        return
    today = date.today()
    for p, o in partners:
        state = "in force" if p.is_in_force_on(today) else "not in force"
        scope = ",".join(s.value for s in p.scope)
        click.echo(f"{p.country:3} {p.authority:28} {state:13} {scope:15} log {o or '-'}")
    for log in logs:
        click.echo(f"  {log['log_origin']}: verified up to {log['tree_size']} ({log['synced_at']})")
