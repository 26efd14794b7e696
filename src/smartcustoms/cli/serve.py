"""``smartcustoms serve``: the HTTP service (API and portal) with uvicorn."""

from __future__ import annotations

import click

from smartcustoms.cli._common import db_option, make_platform

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@click.option("--log-level", default="info", show_default=True)
@db_option
def serve_command(host: str, port: int, log_level: str, database_url: str | None) -> None:
    """Run the service: API under /api/v1 (OpenAPI at /api/v1/openapi.json)."""
    import uvicorn

    from smartcustoms.api import create_app

    app = create_app(make_platform(database_url))
    click.echo(f"smartcustoms on http://{host}:{port}/api/v1/docs", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
