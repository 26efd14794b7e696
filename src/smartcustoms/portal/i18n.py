"""Portal languages: English source strings, French and Spanish gettext catalogues.

The catalogues are kept as ``.po`` sources under ``locale/<lang>/LC_MESSAGES/messages.po``
and compiled in memory when the portal starts (Babel), so no binary ``.mo`` file is kept in
the repository and a translator's edit takes effect on restart. ``tests/portal`` fails when
a template string has no translation in either language.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "catalogue_path", "translations"]

LANGUAGES: Final = ("en", "fr", "es")
"""Languages of the portal; English is the source language."""

DEFAULT_LANGUAGE: Final = "en"

LANGUAGE_NAMES: Final = {"en": "English", "fr": "Français", "es": "Español"}
"""Each language in its own words (for the language switch)."""


def catalogue_path(language: str) -> str:
    """Path of a language's ``.po`` catalogue inside the package."""
    return str(
        resources.files("smartcustoms.portal") / "locale" / language / "LC_MESSAGES" / "messages.po"
    )


@cache
def translations(language: str) -> NullTranslations:
    """The compiled translations of ``language`` (English and unknown codes: identity)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with open(catalogue_path(language), "rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
