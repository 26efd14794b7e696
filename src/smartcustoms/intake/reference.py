"""Reference code lists for validation: ISO 3166 countries, ISO 4217 currencies, UN/ECE modes.

Countries and currencies come from ``pycountry`` (the maintained ISO lists), not from a list
kept here. ``XK`` (Kosovo) is added: it is a user-assigned code that customs systems, the EU's
included, use in practice.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import pycountry

__all__ = ["TRANSPORT_MODES", "countries", "currencies"]

TRANSPORT_MODES: Final = frozenset("0123456789")
"""UN/ECE Recommendation 19 codes for modes of transport (0 not declared ... 9 own propulsion)."""


@cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (plus ``XK``)."""
    return frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 alphabetic currency codes."""
    return frozenset(c.alpha_3 for c in pycountry.currencies)
