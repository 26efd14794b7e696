"""Tariff and revenue: HS nomenclature, tariff schedules, regimes, exchange rates, assessment."""

from __future__ import annotations

from smartcustoms.tariff.nomenclature import HS_VERSION, Nomenclature, load_nomenclature

__all__ = ["HS_VERSION", "Nomenclature", "load_nomenclature"]
