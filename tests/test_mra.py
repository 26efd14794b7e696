"""Two administrations on loopback: each logs its AEO acts, witnesses the other, syncs the
other's statuses and recognises them under the MRA; forks and tampering are refused."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from smartcustoms.access import Role
from smartcustoms.aeo import AeoStatus, CertificateType, MraPartner
from smartcustoms.aeo.history import AeoAct
from smartcustoms.config import load_settings
from smartcustoms.ledger import verify_bundle
from smartcustoms.ledger.node import LedgerNode
from smartcustoms.mra import PartnerSpec
from smartcustoms.platform import SmartCustoms
from smartcustoms.store.aeo import ActDetails
from smartcustoms.testing import serve_in_thread


@dataclass
class Node:
    platform: SmartCustoms
    url: str
    key_for_other: str  # the API key the other administration uses here


def _platform(tmp_path: Path, name: str) -> SmartCustoms:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / name}.db",
        home_country=name.upper(),
        ledger_origin=f"customs.{name}.example/log",
        ledger_dir=str(tmp_path / f"{name}-ledger"),
    )
    return SmartCustoms(settings)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    a, b = _platform(tmp_path, "xa"), _platform(tmp_path, "xb")
    keys = {}
    for p, other in ((a, "xb"), (b, "xa")):
        p.access.add_user(f"{other}-partner", Role.PARTNER)
        keys[p] = p.access.issue_key(f"{other}-partner").token
    serve_a, serve_b = serve_in_thread(a), serve_in_thread(b)
    url_a, url_b = next(serve_a), next(serve_b)
    na, nb = Node(a, url_a, keys[a]), Node(b, url_b, keys[b])
    for me, other in ((na, nb), (nb, na)):
        s = other.platform.settings
        verifiers = other.platform.ledger_keys.verifier_keys()
        me.platform.mra.add_partner(
            MraPartner(
                country=s.home_country,
                authority=f"{s.home_country} Customs",
                effective_from=date(2022, 1, 1),
            ),
            PartnerSpec(
                administration=s.home_country,
                origin=s.ledger_origin,
                log_keys=[verifiers["log"]],
                statement_keys=[verifiers["statements"]],
                url=other.url,
                api_key=other.key_for_other,
            ),
            actor="admin",
        )
    yield na, nb
    for gen in (serve_a, serve_b):
        gen.close()


def _grant(p: SmartCustoms, operator: str, number: str, act: AeoAct, effective: date) -> None:
    p.record_aeo_act(
        ActDetails(
            operator_id=operator,
            operator_name="Trader " + operator,
            operator_country=p.settings.home_country,
            type=CertificateType.AEOS,
            authority=p.settings.home_country,
            number=number,
            valid_from=date(2021, 1, 1),
            valid_to=None,
            act=act,
            effective=effective,
            reason="test",
        ),
        actor="admin",
    )


def test_two_administrations_exchange_aeo_statuses(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    _grant(b.platform, "XB0009", "XB-S-9", AeoAct.GRANT, date(2021, 1, 1))
    _grant(a.platform, "XA0001", "XA-S-1", AeoAct.GRANT, date(2021, 1, 1))
    # each log asks the other's witness to cosign its checkpoint
    for n in (a, b):
        reports = n.platform.mra.cosign()
        assert [r.error for r in reports] == [None]
    # each reads the other's log, verified
    for n in (a, b):
        reports = n.platform.mra.sync()
        assert [(r.new_statements, r.new_acts, r.error) for r in reports] == [(1, 1, None)]
    operators = a.platform.operators
    assert operators is not None
    assert operators.status_of("XB0009", date(2023, 5, 1), home_country="XA") is AeoStatus.MRA
    assert operators.status_of("XA0001", date(2023, 5, 1), home_country="XA") is (
        AeoStatus.NATIONAL
    )
    # B revokes; after the next cosign and sync, A stops recognising it from that day
    _grant(b.platform, "XB0009", "XB-S-9", AeoAct.REVOKE, date(2024, 6, 1))
    b.platform.mra.cosign()
    (report,) = a.platform.mra.sync()
    assert (report.size, report.new_acts, report.error) == (2, 1, None)
    operators = a.platform.operators
    assert operators is not None
    assert operators.status_of("XB0009", date(2024, 5, 31), home_country="XA") is AeoStatus.MRA
    assert operators.status_of("XB0009", date(2024, 6, 1), home_country="XA") is None
    # a sync with nothing new is a no-op
    (again,) = a.platform.mra.sync()
    assert (again.new_statements, again.error) == (0, None)
    # an offline bundle of B's revocation verifies with nothing but A's policy
    policy = a.platform.trust_policy()
    assert policy is not None
    verified = verify_bundle(b.platform.ledger.bundle(1), policy)
    assert verified.statement.subject == "XB0009"
    assert verified.statement.action is not None and verified.statement.action.value == "revoke"
    assert "customs.xa.example/log/witness" in verified.cosigners


def test_a_forked_partner_log_is_refused(nodes: tuple[Node, Node], tmp_path: Path) -> None:
    a, b = nodes
    _grant(b.platform, "XB0009", "XB-S-9", AeoAct.GRANT, date(2021, 1, 1))
    assert a.platform.mra.sync()[0].error is None
    # B's log is rewritten with its own keys (a split view): same size, other entries
    node = b.platform.ledger
    forged = LedgerNode(
        tmp_path / "forged",
        origin=node.origin,
        administration=node.administration,
        keys=node.keys,
    )
    forged.append([b"a different history"])
    node.close()
    shutil.rmtree(node.folder / "log")
    shutil.copytree(forged.folder / "log", node.folder / "log")
    forged.close()
    b.platform.__dict__.pop("ledger")
    (report,) = a.platform.mra.sync()
    assert report.code == "witness.inconsistent", report
    # nothing from the forged log was recorded
    assert [c.certificate_id for c in a.platform.aeo.certificates(source=node.origin)] == [
        "XB/XB-S-9"
    ]
