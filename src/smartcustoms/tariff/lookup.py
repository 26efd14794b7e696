"""Look up one HS code: its place in the nomenclature and the tariff line that applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from smartcustoms.errors import Problem, UnknownHSCodeError
from smartcustoms.tariff.nomenclature import HS_VERSION, load_nomenclature
from smartcustoms.tariff.schedule import TariffLine, TariffSchedule, format_decimal

__all__ = ["TariffLookup", "lookup", "normalise_hs_code"]


def normalise_hs_code(code: str) -> str:
    """Drop the dots and spaces people write in codes (``6109.10 00`` -> ``61091000``)."""
    return code.strip().replace(".", "").replace(" ", "")


@dataclass(frozen=True)
class TariffLookup:
    """What the tariff says about one HS code on one day.

    Attributes:
        hs_code: The code, normalised.
        on: The day.
        lineage: ``(code, description)`` of chapter, heading and subheading.
        schedule_id: Id of the schedule searched.
        currency: The schedule's currency.
        line: The applicable line (longest prefix in force), or ``None``.
        matches: Every line in force whose prefix matches, longest first.
        line_ids: Full ids of ``matches`` (``<schedule>:<line>``), same order.
    """

    hs_code: str
    on: date
    lineage: tuple[tuple[str, str], ...]
    schedule_id: str
    currency: str
    line: TariffLine | None
    matches: tuple[TariffLine, ...]
    line_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (decimals as strings)."""
        return {
            "hs_code": self.hs_code,
            "on": self.on.isoformat(),
            "nomenclature": HS_VERSION,
            "lineage": [{"code": code, "description": text} for code, text in self.lineage],
            "schedule": self.schedule_id,
            "currency": self.currency,
            "applied": None if self.line is None else self.line_ids[0],
            "lines": [
                _line_dict(line, line_id, self.currency)
                for line, line_id in zip(self.matches, self.line_ids, strict=True)
            ],
        }


def _line_dict(line: TariffLine, line_id: str, currency: str) -> dict[str, Any]:
    def text(value: Any) -> str | None:
        return None if value is None else format_decimal(value)

    return {
        "id": line_id,
        "hs_prefix": line.hs_prefix,
        "description": line.description,
        "duty": line.duty_text(currency),
        "ad_valorem_pct": text(line.ad_valorem_pct),
        "specific_per_kg": text(line.specific_per_kg),
        "specific_per_unit": text(line.specific_per_unit),
        "unit": line.unit,
        "vat_pct": text(line.vat_pct),
        "excise": line.excise_text(currency),
        "effective_from": line.effective_from.isoformat(),
        "effective_to": None if line.effective_to is None else line.effective_to.isoformat(),
        "legal_basis": line.legal_basis,
        "note": line.note,
    }


def lookup(hs_code: str, *, schedule: TariffSchedule, on: date) -> TariffLookup:
    """Describe ``hs_code`` and find its tariff line(s) in force on ``on``.

    Raises:
        UnknownHSCodeError: When the code is not in the HS 2022 nomenclature.
    """
    code = normalise_hs_code(hs_code)
    nomenclature = load_nomenclature()
    if not nomenclature.is_known(code):
        raise UnknownHSCodeError(
            f"{hs_code!r} is not an {HS_VERSION} chapter, heading, subheading or national line",
            (Problem(code=UnknownHSCodeError.code, path=hs_code, message="not in HS 2022"),),
        )
    matches = tuple(schedule.lines_for(code, on))
    return TariffLookup(
        hs_code=code,
        on=on,
        lineage=tuple(nomenclature.lineage(code)),
        schedule_id=schedule.id,
        currency=schedule.currency,
        line=matches[0] if matches else None,
        matches=matches,
        line_ids=tuple(schedule.line_id(line) for line in matches),
    )
