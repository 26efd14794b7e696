"""The Time Release Study page and the dashboard's release-time tiles."""

from __future__ import annotations

import polars as pl

from smartcustoms.store.events import EventRecords
from tests.portal.conftest import Portal
from tests.trs.fixture import events


def test_analyst_reads_the_study_in_spanish(portal: Portal) -> None:
    EventRecords(portal.platform.store).add(events().filter(pl.col("event_type") != "teleported"))
    portal.login("ines")  # language es
    page = portal.client.get("/portal/trs", params={"from": "2026-03-01", "to": "2026-03-11"})
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'value="2026-03-01"' in page.text
    download = portal.client.get(
        "/portal/trs", params={"from": "2026-03-01", "to": "2026-03-11", "download": "true"}
    )
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.text.startswith("<!doctype html>")
    assert '<html lang="es">' in download.text


def test_officer_dashboard_tiles_come_from_the_study(portal: Portal) -> None:
    portal.login("ana")
    page = portal.client.get("/portal/").text
    assert "WTO TFA Art. 7.6" in page or "OMC" in page or "AFE" in page
    assert portal.client.get("/portal/trs").status_code == 200
    portal.client.post("/portal/logout", data={"csrf_token": portal.csrf("/portal/")})
    portal.login("shop")
    assert portal.client.get("/portal/trs").status_code == 403
