"""Words the templates translate from data (lanes, roles, results), marked for extraction.

Templates call ``_(lane)`` with a value from the store; gettext extraction cannot see those
strings, so they are listed here with the ``N_`` marker (which returns its argument).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DATA_WORDS", "N_"]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, do not translate yet"
    """Mark ``message`` for extraction; return it unchanged."""
    return message


DATA_WORDS: Final = (
    N_("red"),
    N_("yellow"),
    N_("green"),
    N_("blue"),
    N_("filer"),
    N_("officer"),
    N_("analyst"),
    N_("admin"),
    N_("partner"),
    N_("compliant"),
    N_("noncompliant"),
)
"""Lane, role and inspection-result codes shown translated in the portal."""
