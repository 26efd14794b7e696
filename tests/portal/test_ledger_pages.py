"""AEO operators, MRA partners and ledger status pages: who sees them, what they show."""

from __future__ import annotations

from datetime import date

from smartcustoms.access import Role
from smartcustoms.aeo import CertificateType, MraPartner
from smartcustoms.aeo.history import AeoAct
from smartcustoms.store.aeo import ActDetails
from tests.portal.conftest import PASSWORD, Portal


def _grant(portal: Portal) -> None:
    home = portal.platform.settings.home_country
    for act, day in ((AeoAct.GRANT, date(2021, 1, 1)), (AeoAct.SUSPEND, date(2025, 3, 1))):
        portal.platform.record_aeo_act(
            ActDetails(
                operator_id="XA0001",
                operator_name="Example Logistics",
                operator_country=home,
                type=CertificateType.AEOF,
                authority=home,
                number="N-77",
                valid_from=date(2021, 1, 1),
                valid_to=None,
                act=act,
                effective=day,
                reason="audit finding" if act is AeoAct.SUSPEND else "",
            ),
            actor="admin",
        )


def test_officer_reads_the_registry_with_its_acts(portal: Portal) -> None:
    _grant(portal)
    portal.login("ana")
    page = portal.client.get("/portal/aeo").text
    assert "N-77" in page and "Example Logistics" in page
    assert "suspended" in page and "audit finding" in page
    assert "log entry 1" in page  # the suspension is the ledger's second entry
    filtered = portal.client.get("/portal/aeo", params={"operator": "nobody"}).text
    assert "N-77" not in filtered


def test_partners_and_ledger_status(portal: Portal) -> None:
    _grant(portal)
    portal.platform.aeo.add_partner(
        MraPartner(country="XB", authority="XB Customs", effective_from=date(2022, 1, 1)),
        log_origin="customs.xb.example/log",
        actor="admin",
    )
    portal.login("ines")
    page = portal.client.get("/portal/mra").text
    assert "XB Customs" in page and "customs.xb.example/log" in page
    status = portal.client.get("/portal/ledger").text
    assert portal.platform.settings.ledger_origin in status
    assert portal.platform.ledger_keys.verifier_keys()["log"] in status
    assert "Sync partner ledgers now" not in status  # analysts read, admins act


def test_admin_syncs_from_the_page_and_others_may_not(portal: Portal) -> None:
    access = portal.platform.access
    access.add_user("root", Role.ADMIN, password=PASSWORD)
    portal.login("root")
    token = portal.csrf("/portal/ledger")
    response = portal.client.post(
        "/portal/ledger/sync", data={"csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "No partner ledger is configured." in response.text
    assert "ledger.sync" in [e["action"] for e in portal.platform.store.audit_entries()]
    assert portal.client.post("/portal/ledger/sync", data={"csrf_token": "x"}).status_code == 403
    portal.client.post("/portal/logout", data={"csrf_token": portal.csrf("/portal/")})
    portal.login("shop")
    assert portal.client.get("/portal/aeo").status_code == 403
    assert portal.client.get("/portal/ledger").status_code == 403
