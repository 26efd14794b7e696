"""Exchange-rate tables: convention, date selection, file formats and their problems."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from smartcustoms.errors import InvalidTariffFileError, MissingExchangeRateError
from smartcustoms.tariff import ExchangeRates, load_exchange_rates

D = Decimal


def test_shipped_table_is_dated_sourced_and_illustrative() -> None:
    rates = load_exchange_rates()
    assert rates.id == "ecb-illustrative"
    assert rates.base == "EUR"
    assert "illustrative" in rates.description
    for code in ("USD", "CNY", "GBP", "JPY", "KRW", "HKD", "TRY", "CHF"):
        assert code in rates.currencies(), code
    assert rates.frame["source"].str.len_chars().min() > 10  # type: ignore[operator]
    # ECB, 28 February 2025: 1 EUR = 1.0411 USD
    assert rates.rate("USD", date(2025, 3, 1)).rate == D("1.0411")


@pytest.mark.parametrize(
    ("day", "rate", "valid_from"),
    [
        (date(2017, 7, 3), D("1.1369"), date(2017, 7, 3)),
        (date(2019, 9, 30), D("1.1369"), date(2017, 7, 3)),
        (date(2019, 10, 1), D("1.0898"), date(2019, 10, 1)),
        (date(2025, 2, 27), D("1.0898"), date(2019, 10, 1)),
        (date(2030, 1, 1), D("1.0411"), date(2025, 2, 28)),
    ],
)
def test_latest_rate_on_or_before_the_day(day: date, rate: Decimal, valid_from: date) -> None:
    found = load_exchange_rates().rate("USD", day)
    assert (found.rate, found.valid_from) == (rate, valid_from)


def test_base_currency_has_rate_one() -> None:
    assert load_exchange_rates().rate("EUR", date(2000, 1, 1)).rate == 1


def test_missing_rate_raises() -> None:
    with pytest.raises(MissingExchangeRateError) as info:
        load_exchange_rates().rate("USD", date(2017, 7, 2))
    assert [p.path for p in info.value.problems] == ["USD@2017-07-02"]


def test_convert_scalar_cross_rate() -> None:
    rates = ExchangeRates.from_rows(
        [],
        base="EUR",
    )
    assert rates.convert(D("10"), "EUR", "EUR", date(2026, 1, 1)) == D("10")
    shipped = load_exchange_rates()
    # 100 USD in GBP on 2025-03-01: 100 x 0.82608 / 1.0411 = 79.3468... -> 79.3468
    assert shipped.convert(D("100"), "USD", "GBP", date(2025, 3, 1)) == D("79.3468")


def test_factors_are_exact_fractions() -> None:
    rates = load_exchange_rates()
    keys = pl.DataFrame({"cur": ["USD", "EUR", "GBP"], "on": [date(2025, 3, 1)] * 3})
    out = rates.factors(keys, "cur", "on", "GBP").sort("cur")
    rows = {r["cur"]: r for r in out.iter_rows(named=True)}
    assert (rows["USD"]["_num"], rows["USD"]["_den"]) == (82_608_000, 104_110_000)
    assert (rows["EUR"]["_num"], rows["EUR"]["_den"]) == (82_608_000, 100_000_000)
    assert (rows["GBP"]["_num"], rows["GBP"]["_den"]) == (1, 1)
    assert rows["GBP"]["_rate_date"] is None
    assert rows["USD"]["_rate_date"] == date(2025, 2, 28)


def test_csv_table(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(
        "\ufeffcurrency,rate,valid_from,source\n"
        "USD,1.25,2026-01-01,test\n"
        "USD,1.5,2026-02-01,test\n",
        encoding="utf-8",
    )
    rates = load_exchange_rates(path, base="EUR")
    assert rates.id == "rates"
    assert rates.rate("USD", date(2026, 1, 31)).rate == D("1.25")
    assert rates.rate("USD", date(2026, 2, 1)).rate == D("1.5")


def test_csv_problems_have_row_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "currency,rate,valid_from,source,base\n"
        "USD,1.25,2026-01-01,test,EUR\n"
        "usd,1.25,2026-01-01,test,EUR\n"
        "JPY,-1,2026-01-01,test,EUR\n"
        "CNY,8,2026-13-01,test,EUR\n"
        "USD,1.30,2026-01-01,test,EUR\n"
        "GBP,0.8,2026-01-01,,EUR\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidTariffFileError) as info:
        load_exchange_rates(path)
    assert [p.path.rsplit(":", 1)[1] for p in info.value.problems] == ["3", "4", "5", "6", "7"]


def test_csv_without_base_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nobase.csv"
    path.write_text("currency,rate,valid_from,source\nUSD,1.25,2026-01-01,test\n", encoding="utf-8")
    with pytest.raises(InvalidTariffFileError, match="base"):
        load_exchange_rates(path)


def test_toml_rows_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "rates.toml"
    path.write_text(
        'id = "mine"\nbase = "GBP"\n\n'
        '[[tables]]\nvalid_from = 2026-01-01\nsource = "HMRC monthly rates"\n'
        'rates = { USD = "1.35", EUR = "1.15" }\n\n'
        '[[rates]]\ncurrency = "USD"\nrate = 1.4\nvalid_from = 2026-02-01\nsource = "HMRC"\n',
        encoding="utf-8",
    )
    rates = load_exchange_rates(path)
    assert (rates.id, rates.base) == ("mine", "GBP")
    assert rates.rate("USD", date(2026, 2, 1)).rate == D("1.4")
    assert rates.rate("EUR", date(2026, 2, 1)).rate == D("1.15")


def test_toml_problems_have_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'id = "bad"\nbase = "GBP"\n\n'
        "[[tables]]\nvalid_from = 2026-01-01\n"  # line 5: source missing (header line 4)
        'rates = { USD = "x" }\n\n'  # line 6
        '[[rates]]\ncurrency = "USD"\nrate = 0\nvalid_from = 2026-02-01\nsource = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidTariffFileError) as info:
        load_exchange_rates(path)
    assert sorted(p.path.rsplit(":", 1)[1] for p in info.value.problems) == ["10", "4", "6"]
