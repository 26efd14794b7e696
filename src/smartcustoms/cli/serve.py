"""``smartcustoms serve``: the HTTP service (API and portal) with uvicorn."""

from __future__ import annotations

import click

from smartcustoms.cli._common import db_option, make_platform

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes serving the same port (one per core; see docs/api.md).",
)
@click.option(
    "--decider/--no-decider",
    default=False,
    show_default=True,
    help="With --workers: one more process decides every worker's single filings, on one "
    "core (see docs/api.md); the default, --no-decider: each worker decides its own.",
)
@db_option
def serve_command(
    host: str, port: int, log_level: str, workers: int, decider: bool, database_url: str | None
) -> None:
    """Run the service: API under /api/v1 (OpenAPI at /api/v1/openapi.json)."""
    import uvicorn

    from smartcustoms.api import create_app

    platform = make_platform(database_url)
    click.echo(f"smartcustoms on http://{host}:{port}/api/v1/docs", err=True)
    if workers == 1:
        app = create_app(platform, freeze_gc=True)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    from smartcustoms.api.workers import run_workers

    platform.store  # noqa: B018 - opening the store migrates it, once, before any worker
    platform.close()
    click.echo(
        f"{workers} worker processes" + (" and a decision process" if decider else ""), err=True
    )
    try:
        status = run_workers(
            workers,
            host=host,
            port=port,
            log_level=log_level,
            database_url=database_url,
            decider=decider,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    if status:
        raise SystemExit(status)
