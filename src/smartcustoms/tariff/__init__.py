"""Tariff and revenue: HS nomenclature, tariff schedules, regimes, exchange rates, assessment.

The pieces, each a versioned data file with a loader that reports every problem by line:

* :func:`load_schedule` — a tariff schedule (longest HS prefix in force wins);
* :func:`load_regime` / :func:`list_regimes` — regime presets (de minimis, flat per-item duty,
  VAT collected at sale or at the border, valuation basis), documented in ``docs/regimes.md``;
* :func:`load_exchange_rates` — a dated exchange-rate table;
* :func:`assess` — duty, excise and VAT per item and per consignment, each with its rule;
* :func:`lookup` — what the tariff says about one HS code.
"""

from __future__ import annotations

from smartcustoms.tariff import columns
from smartcustoms.tariff.assessment import Assessment, assess
from smartcustoms.tariff.lookup import TariffLookup, lookup, normalise_hs_code
from smartcustoms.tariff.nomenclature import HS_VERSION, Nomenclature, load_nomenclature
from smartcustoms.tariff.rates import ExchangeRate, ExchangeRates, load_exchange_rates
from smartcustoms.tariff.regimes import (
    CountryVatRate,
    FlatDuty,
    FlatDutyScope,
    Regime,
    RegimeSource,
    ValuationBasis,
    VatAtSale,
    list_regimes,
    load_regime,
)
from smartcustoms.tariff.schedule import TariffLine, TariffSchedule, load_schedule

__all__ = [
    "HS_VERSION",
    "Assessment",
    "CountryVatRate",
    "ExchangeRate",
    "ExchangeRates",
    "FlatDuty",
    "FlatDutyScope",
    "Nomenclature",
    "Regime",
    "RegimeSource",
    "TariffLine",
    "TariffLookup",
    "TariffSchedule",
    "ValuationBasis",
    "VatAtSale",
    "assess",
    "columns",
    "list_regimes",
    "load_exchange_rates",
    "load_nomenclature",
    "load_regime",
    "load_schedule",
    "lookup",
    "normalise_hs_code",
]
