"""Shared CLI plumbing: options, platform construction, error and JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from smartcustoms.config import load_settings
from smartcustoms.errors import SmartCustomsError
from smartcustoms.platform import SmartCustoms

__all__ = ["db_option", "echo_json", "json_option", "make_platform", "print_error", "stderr"]

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True)


def db_option(func: F) -> F:
    """``--db URL``: the database (default: ``SMARTCUSTOMS_DATABASE_URL`` or the SQLite file)."""
    return click.option(
        "--db",
        "database_url",
        metavar="URL",
        default=None,
        help="Database URL (default: $SMARTCUSTOMS_DATABASE_URL or sqlite:///smartcustoms.db).",
    )(func)


def json_option(func: F) -> F:
    """``--json``: print one JSON document instead of tables."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def make_platform(database_url: str | None = None, **overrides: Any) -> SmartCustoms:
    """A platform from the environment plus command-line overrides, closed with the command."""
    platform = SmartCustoms(load_settings(database_url=database_url, **overrides))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(platform.close)
    return platform


def echo_json(data: Any) -> None:
    """Write ``data`` as one JSON document on stdout."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def print_error(exc: SmartCustomsError) -> None:
    """``error[code]: message`` and every problem, on stderr."""
    print(f"error[{exc.code}]: {exc.message}", file=sys.stderr)
    for p in exc.problems:
        where = f" at {p.path}" if p.path else ""
        print(f"  {p.severity}[{p.code}]{where}: {p.message}", file=sys.stderr)
