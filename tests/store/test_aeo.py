"""The AEO registry in the store: acts checked and kept, statements in the same transaction,
partner acts, and the registry the risk engine reads. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from smartcustoms.aeo import AeoStatus, CertificateType, MraPartner
from smartcustoms.aeo.history import AeoAct
from smartcustoms.errors import CertificateNotFoundError, InvalidAeoActError
from smartcustoms.platform import SmartCustoms
from smartcustoms.store import tables as t
from smartcustoms.store.aeo import ActDetails, AeoRecords, PartnerAct, Publication

HOME = "XA"


def details(
    act: AeoAct, effective: date, *, number: str = "XAAEOF1", authority: str = HOME
) -> ActDetails:
    return ActDetails(
        operator_id="XA0001",
        operator_name="Example Logistics",
        operator_country=authority,
        type=CertificateType.AEOF,
        authority=authority,
        number=number,
        valid_from=date(2020, 1, 1),
        valid_to=None,
        act=act,
        effective=effective,
        reason=f"{act} test",
    )


@pytest.fixture
def records(platform: SmartCustoms) -> AeoRecords:
    return AeoRecords(platform.store, source="customs.xa/log")


def test_grant_suspend_revoke_kept_in_order(records: AeoRecords) -> None:
    records.act(details(AeoAct.GRANT, date(2020, 1, 1)), actor="alice")
    records.act(details(AeoAct.SUSPEND, date(2024, 1, 1)), actor="bob")
    rec = records.act(details(AeoAct.REVOKE, date(2024, 6, 1)), actor="bob")
    assert rec.status == "revoked"
    assert [a.act for a in rec.acts] == [AeoAct.GRANT, AeoAct.SUSPEND, AeoAct.REVOKE]
    assert [a.actor for a in rec.acts] == ["alice", "bob", "bob"]
    assert records.certificate(HOME, "XAAEOF1").as_dict()["acts"][2]["act"] == "revoke"


def test_refused_act_lists_every_problem_and_writes_nothing(
    records: AeoRecords, platform: SmartCustoms
) -> None:
    records.act(details(AeoAct.GRANT, date(2024, 1, 1)), actor="alice")
    with pytest.raises(InvalidAeoActError) as err:
        records.act(details(AeoAct.GRANT, date(2019, 1, 1)), actor="alice")
    assert [p.code for p in err.value.problems] == [
        "aeo.act_state",
        "aeo.act_order",
        "aeo.act_validity",
    ]
    with platform.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.aeo_acts)).scalar_one() == 1
    with pytest.raises(CertificateNotFoundError):
        records.act(details(AeoAct.SUSPEND, date(2024, 1, 1), number="nope"), actor="alice")


def test_statement_stored_with_the_act_or_not_at_all(
    records: AeoRecords, platform: SmartCustoms
) -> None:
    def publish(d: ActDetails) -> Publication:
        return Publication(
            "aeo.status", f"{d.authority}/{d.number}", f"{d.act}".encode(), b"d", b"o"
        )

    rec = records.act(details(AeoAct.GRANT, date(2020, 1, 1)), actor="a", publish=publish)
    assert rec.acts[0].statement_id is not None

    def broken(d: ActDetails) -> Publication:
        raise RuntimeError("signer unavailable")

    with pytest.raises(RuntimeError):
        records.act(details(AeoAct.SUSPEND, date(2021, 1, 1)), actor="a", publish=broken)
    with platform.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.aeo_acts)).scalar_one() == 1
        entries = conn.execute(select(t.ledger_statements.c.entry)).scalars().all()
    assert entries == [b"grant"]
    assert records.certificate(HOME, "XAAEOF1").status == "active"


def test_registry_gives_status_by_day_and_recognises_partners(records: AeoRecords) -> None:
    records.act(details(AeoAct.GRANT, date(2020, 1, 1)), actor="a")
    records.act(details(AeoAct.SUSPEND, date(2024, 1, 1)), actor="a")
    partner = "customs.xb/log"
    added = records.record_partner_acts(
        partner,
        [
            PartnerAct(
                ActDetails(
                    operator_id="XB0009",
                    operator_name="Partner Trader",
                    operator_country="XB",
                    type=CertificateType.AEOS,
                    authority="XB",
                    number="XB-S-9",
                    valid_from=date(2021, 1, 1),
                    valid_to=None,
                    act=AeoAct.GRANT,
                    effective=date(2021, 1, 1),
                    reason="",
                ),
                log_index=4,
            )
        ],
    )
    assert added == 1
    # the same log entry again is skipped
    assert (
        records.record_partner_acts(
            partner, [PartnerAct(details(AeoAct.GRANT, date(2021, 1, 1), number="x"), 4)]
        )
        == 0
    )
    records.add_partner(
        MraPartner(country="XB", authority="XB Customs", effective_from=date(2022, 1, 1)),
        log_origin=partner,
        actor="admin",
    )
    registry = records.registry()
    home = "XA"
    assert registry.status_of("XA0001", date(2023, 12, 31), home_country=home) is AeoStatus.NATIONAL
    assert registry.status_of("XA0001", date(2024, 1, 1), home_country=home) is None
    assert registry.status_of("XB0009", date(2021, 6, 1), home_country=home) is None
    assert registry.status_of("XB0009", date(2022, 6, 1), home_country=home) is AeoStatus.MRA
    assert [(p.country, log) for p, log in records.partner_logs()] == [("XB", partner)]


def test_partner_certificates_cannot_be_changed_locally(records: AeoRecords) -> None:
    records.record_partner_acts(
        "customs.xb/log", [PartnerAct(details(AeoAct.GRANT, date(2021, 1, 1), authority="XB"), 0)]
    )
    with pytest.raises(InvalidAeoActError) as err:
        records.act(details(AeoAct.SUSPEND, date(2022, 1, 1), authority="XB"), actor="a")
    assert "partner" in err.value.problems[0].message


def test_platform_reads_the_store_registry_again_after_an_act(platform: SmartCustoms) -> None:
    assert platform.operators is None
    platform.aeo.act(details(AeoAct.GRANT, date(2020, 1, 1)), actor="a")
    first = platform.operators
    assert first is not None
    assert first.status_of("XA0001", date(2024, 2, 1), home_country=HOME) is AeoStatus.NATIONAL
    assert platform.operators is first  # nothing changed: the cached registry is reused
    platform.aeo.act(details(AeoAct.SUSPEND, date(2024, 1, 1)), actor="a")
    after = platform.operators
    assert after is not None and after is not first
    assert after.status_of("XA0001", date(2024, 2, 1), home_country=HOME) is None
