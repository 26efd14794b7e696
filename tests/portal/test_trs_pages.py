"""The release-time page and the dashboard's release tiles, in three languages."""

from __future__ import annotations

import polars as pl
import pytest

from smartcustoms.store.events import EventRecords
from tests.portal.conftest import Portal
from tests.trs.fixture import events

FR, BE = "FR000730", "BE212000"
PERIOD = {"from": "2026-03-02", "to": "2026-03-10"}  # C9 (arrived 03-11) left out


@pytest.fixture
def stored(portal: Portal) -> Portal:
    """The hand-computed fixture in the store: office A is FR (Ana's), B is BE."""
    frame = events().with_columns(pl.col("office").replace_strict({"A": FR, "B": BE}))
    EventRecords(portal.platform.store).add(frame)
    return portal


def test_an_analyst_sees_the_study_in_spanish(stored: Portal) -> None:
    stored.login("ines")
    page = stored.client.get("/portal/trs", params=PERIOD)
    assert page.status_code == 200, page.text[:2000]
    text = page.text
    assert 'lang="es"' in text and "Tiempo medio de levante" in text
    # the mean of the hand-computed case, as in the CLI report: 374 minutes
    assert "6.23 h" in text
    assert text.count('role="img"') == 4 and "Espera del reconocimiento físico" in text
    assert "<script" not in text.split("<main", 1)[1]
    assert 'href="/portal/trs"' in stored.client.get("/portal/").text


def test_officers_see_their_offices_and_nothing_else(stored: Portal) -> None:
    stored.login("ana")
    page = stored.client.get("/portal/trs", params=PERIOD)
    assert page.status_code == 200
    assert FR in page.text and f'<th scope="row">{BE}</th>' not in page.text
    # C1, C2, C5 released (50, 60, 200 minutes): mean 103.3 minutes
    assert "1.72 h" in page.text
    refused = stored.client.get("/portal/trs", params={**PERIOD, "office": BE})
    assert refused.status_code == 403 and "auth.forbidden" in refused.text


def test_french_labels_and_a_lane_filter(stored: Portal) -> None:
    stored.login("ines")
    token = stored.csrf("/portal/")
    stored.client.post("/portal/language", data={"lang": "fr", "csrf_token": token})
    page = stored.client.get("/portal/trs", params={**PERIOD, "lane": "red"})
    assert "Délai moyen de mainlevée" in page.text and "24.17 h" in page.text  # C3 alone


def test_filers_may_not_and_bad_parameters_are_explained(stored: Portal) -> None:
    stored.login("shop")
    assert stored.client.get("/portal/trs").status_code == 403
    stored.login("ines")
    page = stored.client.get("/portal/trs", params={**PERIOD, "tz": "Mars/Olympus"})
    assert page.status_code == 422 and "trs.invalid" in page.text
    assert stored.client.get("/portal/trs", follow_redirects=False).status_code == 200


def test_pages_need_a_login(portal: Portal) -> None:
    r = portal.client.get("/portal/trs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


def test_the_dashboard_tiles_come_from_the_study(portal: Portal) -> None:
    portal.login("ana")
    page = portal.client.get("/portal/")
    assert "Average release time" in page.text and 'data-testid="release-mean">-<' in page.text
    assert "0 releases without a complete timeline" in page.text


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_word_of_the_report_is_in_the_catalogues(language: str) -> None:
    """Strings hidden from extraction (inside f-strings) would show in English: none are."""
    from babel.messages.pofile import read_po

    from smartcustoms.portal.i18n import catalogue_path
    from smartcustoms.trs import StudyParams, run_study
    from smartcustoms.trs.html import render_html
    from tests.trs.fixture import AS_OF, ATTRIBUTES

    asked: set[str] = set()

    def recording(text: str) -> str:
        asked.add(text)
        return text

    render_html(run_study(events(), ATTRIBUTES, StudyParams(as_of=AS_OF)), translate=recording)
    with open(catalogue_path(language), "rb") as fh:
        translated = {m.id for m in read_po(fh, locale=language) if m.id and m.string}
    assert len(asked) > 100
    assert sorted(asked - translated) == []
