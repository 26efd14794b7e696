"""AEO registry and MRA partners through the API: admins act, others read, refusals coded."""

from __future__ import annotations

from tests.api.conftest import Api


def test_admin_grants_suspends_and_everyone_reads(api: Api) -> None:
    admin = api.headers["admin"]
    first = {
        "act": "grant",
        "number": "N1",
        "effective": "2024-01-01",
        "operator_id": "XA0001",
        "operator_name": "Acme",
        "type": "AEOF",
        "valid_from": "2024-01-01",
    }
    r = api.client.post("/api/v1/aeo/acts", json=first, headers=admin)
    assert r.status_code == 201, r.text
    home = api.platform.settings.home_country
    assert r.json()["certificate_id"] == f"{home}/N1"
    r = api.client.post(
        "/api/v1/aeo/acts",
        json={"act": "suspend", "number": "N1", "effective": "2025-01-01", "reason": "audit"},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["status"] == "suspended"
    for role in ("officer", "analyst"):
        r = api.client.get(f"/api/v1/aeo/certificates/{home}/N1", headers=api.headers[role])
        assert [a["act"] for a in r.json()["acts"]] == ["grant", "suspend"]
    r = api.client.get("/api/v1/aeo/certificates", headers=admin, params={"operator_id": "XA0001"})
    assert len(r.json()) == 1
    audit = [e["action"] for e in api.platform.store.audit_entries()]
    assert "aeo.grant" in audit and "aeo.suspend" in audit


def test_refusals_list_every_problem(api: Api) -> None:
    admin = api.headers["admin"]
    r = api.client.post(
        "/api/v1/aeo/acts", json={"act": "grant", "number": "N2", "effective": "2024-01-01"},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "aeo.invalid_act"
    assert {p["path"] for p in body["problems"]} == {"operator_id", "type", "valid_from"}
    r = api.client.post(
        "/api/v1/aeo/acts", json={"act": "revoke", "number": "nope", "effective": "2024-01-01"},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 404 and r.json()["code"] == "aeo.certificate_not_found"
    r = api.client.post(
        "/api/v1/aeo/acts", json={"act": "grant", "number": "N1", "effective": "2024-01-01"},
        headers=api.headers["officer"],
    )  # fmt: skip
    assert r.status_code == 403


def test_partners_added_by_admins(api: Api) -> None:
    admin = api.headers["admin"]
    body = {
        "country": "XB",
        "authority": "XB Customs",
        "effective_from": "2022-01-01",
        "scope": ["AEOS", "AEOF"],
        "log_origin": "customs.xb/log",
    }
    assert api.client.post("/api/v1/mra/partners", json=body, headers=admin).status_code == 201
    bad = body | {"effective_to": "2021-01-01"}
    r = api.client.post("/api/v1/mra/partners", json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "aeo.bad_period"
    listed = api.client.get("/api/v1/mra/partners", headers=api.headers["analyst"]).json()
    assert [(p["country"], p["log_origin"], p["scope"]) for p in listed] == [
        ("XB", "customs.xb/log", ["AEOS", "AEOF"])
    ]
