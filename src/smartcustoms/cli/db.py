"""``smartcustoms db``: the store's schema and contents."""

from __future__ import annotations

import click

from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform

__all__ = ["db_group"]


@click.group("db")
def db_group() -> None:
    """The database: migrations and counts."""


@db_group.command("upgrade")
@db_option
def upgrade(database_url: str | None) -> None:
    """Bring the schema to the newest revision (also done automatically on first use)."""
    platform = make_platform(database_url)
    platform.store.migrate()
    click.echo(f"schema up to date: {platform.store.url.render_as_string(hide_password=True)}")


@db_group.command("info")
@db_option
@json_option
def info(database_url: str | None, as_json: bool) -> None:
    """Row counts of every table."""
    platform = make_platform(database_url)
    counts = platform.store.counts()
    if as_json:
        echo_json(
            {"database": platform.store.url.render_as_string(hide_password=True), "tables": counts}
        )
        return
    for name, n in counts.items():
        click.echo(f"{name:20} {n:>12,}")
