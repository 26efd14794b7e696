"""The HS 2022 nomenclature, shipped with the package.

Source: the ``datasets/harmonized-system`` data package (version 2022.0, from UN Comtrade's HS
lists; the nomenclature itself is the WCO's), licensed under the ODC PDDL 1.0. 97 chapters,
1,229 headings and 5,613 subheadings. The shipped CSV starts with a UTF-8 byte-order mark and
ends with a ``TOTAL`` summary row that is not a code; both are handled here.

National tariff lines (8-10 digits) extend the 6-digit subheadings and are validated on their
6-digit stem.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import polars as pl

__all__ = ["HS_VERSION", "Nomenclature", "load_nomenclature"]

HS_VERSION: Final = "HS2022"


@dataclass(frozen=True, slots=True)
class Nomenclature:
    """The HS nomenclature as a frame and as code sets for fast membership tests.

    Attributes:
        frame: One row per code: ``hscode`` (2, 4 or 6 digits), ``description``, ``parent``,
            ``level`` (2, 4 or 6), ``section`` (Roman numeral), ``section_name``.
        chapters: The 2-digit codes.
        headings: The 4-digit codes.
        subheadings: The 6-digit codes.
    """

    frame: pl.DataFrame
    chapters: frozenset[str]
    headings: frozenset[str]
    subheadings: frozenset[str]

    def is_known(self, code: str) -> bool:
        """Whether ``code`` exists at its declared level.

        Codes of 2, 4 and 6 digits must be a chapter, heading or subheading; national lines of
        8 to 10 digits must extend a known subheading. Anything else is unknown.
        """
        if not code.isdigit():
            return False
        n = len(code)
        if n == 2:
            return code in self.chapters
        if n == 4:
            return code in self.headings
        if 6 <= n <= 10 and n % 2 == 0:
            return code[:6] in self.subheadings
        return False

    def describe(self, code: str) -> str | None:
        """The description of a 2, 4 or 6-digit code (national lines: their subheading's)."""
        key = code[:6] if len(code) > 6 else code
        row = self.frame.filter(pl.col("hscode") == key)
        return None if row.is_empty() else str(row["description"][0])

    def lineage(self, code: str) -> list[tuple[str, str]]:
        """Chapter, heading and subheading of ``code`` with their descriptions, broadest first."""
        out: list[tuple[str, str]] = []
        for n in (2, 4, 6):
            if len(code) >= n:
                text = self.describe(code[:n])
                if text is not None:
                    out.append((code[:n], text))
        return out


@cache
def load_nomenclature() -> Nomenclature:
    """Load the shipped HS 2022 nomenclature (cached; the frame is immutable)."""
    data = resources.files("smartcustoms.tariff") / "data"
    with resources.as_file(data / "harmonized-system.csv") as path:
        raw = pl.read_csv(path, encoding="utf8-lossy", infer_schema=False)
    with resources.as_file(data / "sections.csv") as path:
        sections = pl.read_csv(path, encoding="utf8-lossy", infer_schema=False)
    # Polars keeps a leading BOM in the first header name; strip it from every name.
    raw = raw.rename({c: c.lstrip("\ufeff") for c in raw.columns})
    sections = sections.rename({c: c.lstrip("\ufeff") for c in sections.columns})
    frame = (
        raw.filter(pl.col("hscode") != "TOTAL")
        .with_columns(pl.col("level").cast(pl.Int8))
        .join(sections.rename({"name": "section_name"}), on="section", how="left")
        .select("hscode", "description", "parent", "level", "section", "section_name")
    )

    def codes(level: int) -> frozenset[str]:
        return frozenset(frame.filter(pl.col("level") == level)["hscode"].to_list())

    return Nomenclature(frame=frame, chapters=codes(2), headings=codes(4), subheadings=codes(6))
