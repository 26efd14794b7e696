"""``smartcustoms tariff ...``: look up HS codes and the tariff lines that apply to them.

``tariff assess FILE`` is wired by the CLI root, because reading a filing needs intake; it
calls :func:`smartcustoms.tariff.assess` on the canonical frames.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import NoReturn

import click

from smartcustoms.errors import SmartCustomsError
from smartcustoms.tariff import TariffLookup, load_schedule, lookup
from smartcustoms.tariff.schedule import format_decimal

__all__ = ["lookup_command", "tariff_group"]


def _fail(exc: SmartCustomsError) -> NoReturn:
    """Print ``error[code]: message`` and every problem to stderr, exit 1."""
    click.echo(f"error[{exc.code}]: {exc}", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem.path}: {problem.message} [{problem.code}]", err=True)
    raise SystemExit(1)


@click.group("tariff")
def tariff_group() -> None:
    """Tariff and revenue: HS nomenclature, tariff lines, duties and taxes."""


@tariff_group.command("lookup")
@click.argument("hs_code", metavar="HS")
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the tariff is read on (YYYY-MM-DD; default: today, UTC).",
)
@click.option(
    "--schedule",
    "schedule_path",
    default=None,
    metavar="FILE",
    help="Tariff schedule TOML file or shipped schedule id (default: eu-demo).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def lookup_command(
    hs_code: str, on: datetime | None, schedule_path: str | None, as_json: bool
) -> None:
    """Show an HS code's place in the nomenclature and its tariff line(s)."""
    day = on.date() if on is not None else datetime.now(UTC).date()
    try:
        schedule = load_schedule(schedule_path)
        result = lookup(hs_code, schedule=schedule, on=day)
    except SmartCustomsError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_render(result, day))


def _render(result: TariffLookup, day: date) -> str:
    out = [f"{result.hs_code} (HS 2022) on {day.isoformat()}"]
    out.extend(f"  {code:<10} {text}" for code, text in result.lineage)
    line = result.line
    if line is None:
        out.append(
            f"No tariff line of {result.schedule_id} in force: duty 0, excise none,"
            " VAT at the regime's rate."
        )
        return "\n".join(out)
    currency = result.currency
    until = line.effective_to.isoformat() if line.effective_to else "open-ended"
    vat = "set by the regime" if line.vat_pct is None else f"{format_decimal(line.vat_pct)}%"
    out += [
        f"Tariff line {result.line_ids[0]} ({line.description})",
        f"  duty         {line.duty_text(currency)}",
        f"  excise       {line.excise_text(currency)}",
        f"  VAT          {vat}",
        f"  in force     {line.effective_from.isoformat()} to {until}",
        f"  legal basis  {line.legal_basis}",
    ]
    if line.note:
        out.append(f"  note         {line.note}")
    if len(result.matches) > 1:
        out.append("Shorter prefixes also in force (not applied):")
        out.extend(
            f"  {line_id} {other.duty_text(currency)}"
            for line_id, other in zip(result.line_ids[1:], result.matches[1:], strict=True)
        )
    return "\n".join(out)
