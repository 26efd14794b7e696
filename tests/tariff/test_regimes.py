"""Regime presets and regime files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smartcustoms.errors import InvalidTariffFileError, UnknownRegimeError
from smartcustoms.tariff import FlatDutyScope, ValuationBasis, list_regimes, load_regime

DOCS = Path(__file__).parents[2] / "docs" / "regimes.md"


def test_presets() -> None:
    ids = [regime.id for regime in list_regimes()]
    assert ids == sorted(ids)
    assert {"eu-2021-07", "eu-2026-07", "uk-2021", "plain-national", "us-section321"} <= set(ids)


@pytest.mark.parametrize("regime", list_regimes(), ids=lambda r: r.id)
def test_every_preset_states_its_basis_sources_and_rounding(regime: object) -> None:
    from smartcustoms.tariff import Regime

    assert isinstance(regime, Regime)
    assert regime.legal_basis
    assert regime.sources, "a preset without sources"
    assert all(source.title and (source.url or source.note) for source in regime.sources)
    assert regime.rounding == "half_up"
    assert regime.valuation_basis in (ValuationBasis.CIF, ValuationBasis.FOB)
    assert regime.description
    assert f"`{regime.id}`" in DOCS.read_text(encoding="utf-8"), "document the preset"


def test_eu_2026_flat_duty() -> None:
    regime = load_regime("eu-2026-07")
    assert regime.duty_de_minimis is None
    flat = regime.flat_duty
    assert flat is not None
    assert (flat.amount, flat.threshold, flat.item_digits) == (Decimal(3), Decimal(150), 6)
    assert flat.scope is FlatDutyScope.ALL
    assert regime.effective_from == date(2026, 7, 1)
    assert regime.is_in_force(date(2026, 7, 1))
    assert not regime.is_in_force(date(2026, 6, 30))


def test_duty_and_vat_thresholds_are_separate() -> None:
    pre = load_regime("eu-pre-2021")
    assert (pre.duty_de_minimis, pre.vat_de_minimis) == (Decimal(150), Decimal(22))
    eu = load_regime("eu-2021-07")
    assert (eu.duty_de_minimis, eu.vat_de_minimis) == (Decimal(150), None)
    assert eu.vat_at_sale is not None
    assert eu.vat_at_sale.requires_number
    uk = load_regime("uk-2021")
    assert uk.vat_at_sale is not None
    assert not uk.vat_at_sale.requires_number
    assert uk.vat_collection == "at_sale_below_threshold"
    assert load_regime("plain-national").vat_collection == "at_border"


def test_unknown_regime() -> None:
    with pytest.raises(UnknownRegimeError) as info:
        load_regime("eu-1999")
    assert info.value.code == "regime.unknown"
    assert "eu-2026-07" in str(info.value)


def test_regime_file_problems_have_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'id = "bad"\n'
        'currency = "EUR"\n'
        'valuation_basis = "DAP"\n'  # 3
        'legal_basis = "x"\n'
        "minor_unit = 7\n"  # 5
        "\n[duty]\n"
        'de_minimis = "-1"\n'  # 8
        "\n[flat_duty]\n"
        'amount = "3"\n'
        'scope = "some"\n'  # 12: threshold missing (header 10), scope invalid
        "\n[vat]\n"
        'rate_pct = "120"\n'  # 15
        "\n[vat.at_sale]\n"
        'threshold = "150"\n'
        "requires_number = 1\n",  # 19
        encoding="utf-8",
    )
    with pytest.raises(InvalidTariffFileError) as info:
        load_regime(path)
    lines = [int(p.path.rsplit(":", 1)[1]) for p in info.value.problems]
    assert lines == [3, 5, 8, 10, 12, 15, 19]


def test_regime_from_path_round_trips_a_preset(tmp_path: Path) -> None:
    preset = load_regime("uk-2021")
    source = Path(__file__).parents[2] / "src/smartcustoms/tariff/data" / preset.origin
    copy = tmp_path / "uk.toml"
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    loaded = load_regime(copy)
    assert loaded.id == preset.id
    assert loaded.vat_at_sale == preset.vat_at_sale
