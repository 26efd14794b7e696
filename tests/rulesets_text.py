"""Rule and watch-list texts the ruleset tests share (store, API and portal)."""

from __future__ import annotations

from typing import Final

MARKER_RULES: Final = """\
id = "analyst-set"
version = "{version}"
legal_basis = "Art. 46 UCC"
watchlists = ["marked.toml"]

[[rules]]
id = "marked-seller"
description = "Seller under a fresh alert"
effective_from = 2026-01-01
lane = "red"
when = {{ seller_id = {{ in_list = "marked-sellers" }} }}
"""
"""Sends every consignment of a listed seller to red; ``format(version=...)``."""

MARKER_LISTS: Final = """\
id = "marked"
version = "1"
legal_basis = "Art. 46 UCC"

[[lists]]
id = "marked-sellers"
kind = "seller"
effective_from = 2026-01-01
entries = ["{seller}"]
"""
"""The watch list of :data:`MARKER_RULES`; ``format(seller=...)``."""
