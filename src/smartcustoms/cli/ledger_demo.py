"""``smartcustoms ledger demo``: two administrations on loopback exchanging AEO statuses.

Two services run on loopback ports, each with its own database and ledger (administrations
``XA`` and ``XB``). Everything between them goes through their HTTP APIs, as it would between
two countries: they exchange public keys and join each other's trust policy, record AEO
acts, witness (cosign) each other's checkpoints, sync each other's statuses, and an officer
of XA checks an XB status offline with nothing but the trust policy. Each step checks its
outcome; the command exits 1 when one fails.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Generator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from smartcustoms.access import Role
from smartcustoms.aeo import AeoStatus
from smartcustoms.api.local import serve_in_thread
from smartcustoms.config import load_settings
from smartcustoms.errors import SmartCustomsError
from smartcustoms.ledger import verify_bundle
from smartcustoms.platform import SmartCustoms

__all__ = ["demo_command"]


class _Admin:
    """One administration of the demo: its platform, URL and admin client."""

    def __init__(self, base: Path, code: str) -> None:
        self.code = code
        self.origin = f"customs.{code.lower()}.example/log"
        self.platform = SmartCustoms(
            load_settings(
                database_url=f"sqlite:///{base / code.lower()}.db",
                home_country=code,
                ledger_origin=self.origin,
                ledger_dir=str(base / f"{code.lower()}-ledger"),
            )
        )
        access = self.platform.access
        access.add_user("admin", Role.ADMIN)
        self.admin_key = access.issue_key("admin", label="ledger demo").token
        self._server: Generator[str, None, None] = serve_in_thread(self.platform)
        self.url = next(self._server)
        self.http = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=30,
        )

    def partner_key_for(self, other: _Admin) -> str:
        """An API key of role partner for ``other`` at this administration."""
        user = f"partner-{other.code.lower()}"
        self.platform.access.add_user(user, Role.PARTNER)
        return self.platform.access.issue_key(user, label="MRA partner").token

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise click.ClickException(
                f"{self.code} {method} {path}: {response.status_code} {response.text}"
            )
        ctype = response.headers.get("content-type", "")
        return response.json() if ctype.startswith("application/json") else response.text

    def close(self) -> None:
        self.http.close()
        self._server.close()


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise click.ClickException(f"check failed: {message}")
    click.echo(f"   ok: {message}")


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where both administrations keep their databases and ledgers (default: a new "
    "temporary folder, printed).",
)
def demo_command(folder: Path | None) -> None:
    """Two administrations on loopback: log, witness each other, exchange AEO statuses."""
    base = folder or Path(tempfile.mkdtemp(prefix="smartcustoms-ledger-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    click.echo(f"files under {base}")
    xa, xb = _Admin(base, "XA"), _Admin(base, "XB")
    try:
        _run(base, xa, xb)
    finally:
        xa.close()
        xb.close()


def _run(base: Path, xa: _Admin, xb: _Admin) -> None:
    _step(f"two administrations: XA at {xa.url}, XB at {xb.url}")
    for me, other in ((xa, xb), (xb, xa)):
        keys = other.call("GET", "/ledger/keys")
        me.call(
            "POST",
            "/mra/partners",
            json={
                "country": other.code,
                "authority": f"{other.code} Customs",
                "effective_from": "2020-01-01",
                "scope": ["AEOS", "AEOF"],
                "log_origin": keys["origin"],
                "administration": keys["administration"],
                "log_keys": [keys["log"]],
                "statement_keys": [keys["statements"]],
                "url": other.url,
                "api_key": other.partner_key_for(me),
            },
        )
        click.echo(f"   {me.code} trusts {keys['origin']} (log key {keys['log'][:40]}...)")

    _step("each records an AEO authorisation: a signed statement in its own log")
    today = datetime.now(UTC).date()
    for admin, operator, kind in ((xb, "XB0009", "AEOS"), (xa, "XA0001", "AEOF")):
        cert = admin.call(
            "POST",
            "/aeo/acts",
            json={
                "act": "grant",
                "number": f"{operator}-{kind}",
                "effective": "2021-01-01",
                "operator_id": operator,
                "operator_name": f"Trader {operator}",
                "type": kind,
                "valid_from": "2021-01-01",
                "reason": "audit passed",
            },
        )
        _check(cert["acts"][0]["log_index"] == 0, f"{admin.code} logged the grant as entry 0")

    _step("each asks the other's witness to cosign its checkpoint")
    for admin in (xa, xb):
        (report,) = admin.call("POST", "/ledger/cosign")
        _check(report["error"] is None, f"{report['origin']} cosigned {admin.code}'s tree of 1")

    _step("each syncs the other: checkpoint witnessed, tiles and statements verified")
    for admin in (xa, xb):
        (report,) = admin.call("POST", "/mra/sync")
        _check(
            report["error"] is None and report["new_acts"] == 1,
            f"{admin.code} verified {report['origin']} up to {report['size']} and recorded "
            f"{report['new_acts']} AEO act",
        )
    registry = xa.platform.operators
    status = None if registry is None else registry.status_of("XB0009", today, home_country="XA")
    _check(status is AeoStatus.MRA, f"XA's risk engine now sees XB0009 as {status}")

    _step("XB suspends XB0009; XA learns it at its next sync")
    xb.call(
        "POST",
        "/aeo/acts",
        json={"act": "suspend", "number": "XB0009-AEOS", "effective": today.isoformat(),
              "reason": "investigation"},
    )  # fmt: skip
    xb.call("POST", "/ledger/cosign")
    (report,) = xa.call("POST", "/mra/sync")
    _check(report["new_acts"] == 1, "XA verified and recorded the suspension")
    registry = xa.platform.operators
    status = None if registry is None else registry.status_of("XB0009", today, home_country="XA")
    _check(status is None, "XB0009 no longer gets MRA benefits at XA from today")
    yesterday = date.fromordinal(today.toordinal() - 1)
    past = None if registry is None else registry.status_of("XB0009", yesterday, home_country="XA")
    _check(past is AeoStatus.MRA, "consignments filed before keep the status they had")

    _step("offline: an XA border officer checks XB's statement with the trust policy only")
    bundle = xb.call("GET", "/ledger/bundle/1")
    (base / "xb-entry-1.proof").write_text(bundle)
    policy = xa.platform.trust_policy()
    assert policy is not None
    verified = verify_bundle(bundle, policy)
    s = verified.statement
    _check(
        s.subject == "XB0009" and s.action is not None and s.action.value == "suspend",
        f"bundle verified: {s.issuer} {s.type.value} {s.action} for {s.subject}, "
        f"witnessed by {', '.join(sorted(verified.cosigners))}",
    )
    lines = bundle.split("\n")
    entry = base64.b64decode(lines[1].removeprefix("extra "))
    lines[1] = "extra " + base64.b64encode(entry.replace(b"XB0009", b"XB0008")).decode()
    tampered = "\n".join(lines)  # the statement now names another operator
    try:
        verify_bundle(tampered, policy)
        refused = ""
    except SmartCustomsError as exc:
        refused = exc.code
    _check(bool(refused), f"the same bundle with one character changed is refused ({refused})")

    _step("tamper evidence: every stored hash recomputed")
    for admin in (xa, xb):
        admin.platform.ledger.log.verify()  # raises LedgerCorruptError naming the first bad entry
        doc = admin.call("GET", "/ledger/status")
        click.echo(f"   ok: {admin.code}: {doc['size']} entries verify, root {doc['root_hash']}")
    click.echo(f"\npolicy files: {xa.platform.policy_path}, {xb.platform.policy_path}")
    click.echo(f"offline bundle: {base / 'xb-entry-1.proof'}")
