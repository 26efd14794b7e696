"""Every portal message is translated in French and Spanish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartcustoms.portal.i18n import LANGUAGES, translations

REPO = Path(__file__).resolve().parents[2]


def test_catalogues_cover_every_message() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "i18n.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_catalogues_compile_and_translate(language: str) -> None:
    tr = translations(language)
    assert tr.gettext("Dashboard") != "Dashboard"
    assert "%(n)s" in tr.gettext("arrival to release (WTO TFA Art. 7.6), %(n)s releases measured")


def test_english_and_unknown_languages_are_the_identity() -> None:
    assert translations("en").gettext("Dashboard") == "Dashboard"
    assert translations("xx").gettext("Dashboard") == "Dashboard"
