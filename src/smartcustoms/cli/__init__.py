"""The ``smartcustoms`` command line.

Commands follow ``smartcustoms <noun> <verb>``. Every command whose output a script would read
takes ``--json``. Exit codes: 0 ok, 1 domain error (printed as ``error[code]: message`` on
stderr, with every problem), 2 usage error.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from smartcustoms import __version__
from smartcustoms.cli._common import print_error
from smartcustoms.cli.aeo import aeo_group
from smartcustoms.cli.assess import assess_command
from smartcustoms.cli.clear import clear_command, demo_command
from smartcustoms.cli.db import db_group
from smartcustoms.cli.events import events_group
from smartcustoms.cli.ledger import ledger_group, mra_group
from smartcustoms.cli.quarantine import quarantine_group
from smartcustoms.cli.risk import risk_group
from smartcustoms.cli.serve import serve_command
from smartcustoms.cli.synth import synth_group
from smartcustoms.cli.tariff import tariff_group
from smartcustoms.cli.trs import trs_group
from smartcustoms.cli.users import users_group
from smartcustoms.errors import SmartCustomsError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Turns domain errors into ``error[code]`` output and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SmartCustomsError as exc:
            print_error(exc)
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="smartcustoms")
def cli() -> None:
    """smartcustoms: the open Smart Customs platform (clearance, tariff, risk, TRS, ledger)."""


tariff_group.add_command(assess_command)
cli.add_command(clear_command)
cli.add_command(demo_command)
cli.add_command(quarantine_group)
cli.add_command(tariff_group)
cli.add_command(synth_group)
cli.add_command(db_group)
cli.add_command(risk_group)
cli.add_command(users_group)
cli.add_command(events_group)
cli.add_command(trs_group)
cli.add_command(serve_command)
cli.add_command(aeo_group)
cli.add_command(ledger_group)
cli.add_command(mra_group)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))
