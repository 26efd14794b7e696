"""Regenerate docs/cli.md from the click command tree: .venv/bin/python scripts/gen_cli_docs.py"""

from __future__ import annotations

from pathlib import Path

import click

from smartcustoms.cli import cli

HEADER = """# Command line

`smartcustoms <noun> <verb>`. Every command that prints something a script would read takes
`--json`. Exit codes: **0** ok, **1** domain error (printed on stderr as
`error[code]: message`, followed by every problem), **2** usage error. The database is
`--db URL`, else `SMARTCUSTOMS_DATABASE_URL`, else the SQLite file `smartcustoms.db`.

This page is generated from the commands themselves (`scripts/gen_cli_docs.py`).
"""


def walk(cmd: click.Command, path: list[str], out: list[str]) -> None:
    # fixed widths: the page must not depend on the terminal it is generated in
    ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100)
    if isinstance(cmd, click.Group):
        if len(path) > 1:
            out.append(f"\n## {' '.join(path)}\n\n{cmd.help or ''}\n")
        for name in sorted(cmd.commands):
            walk(cmd.commands[name], [*path, name], out)
        return
    out.append(f"\n### `{' '.join(path)}`\n")
    out.append(f"```\n{cmd.get_usage(ctx)}\n```\n")
    out.append((cmd.help or "").strip() + "\n")
    rows = []
    for param in cmd.get_params(ctx):
        record = param.get_help_record(ctx)
        if record and record[1]:
            name = record[0].replace("|", "\\|")
            rows.append(f"| `{name}` | {record[1].replace('|', '/')} |")
    if rows:
        out.append("| option | meaning |\n|---|---|\n" + "\n".join(rows) + "\n")


def render() -> str:
    out = [HEADER]
    walk(cli, ["smartcustoms"], out)
    return "\n".join(out)


if __name__ == "__main__":
    Path(__file__).resolve().parents[1].joinpath("docs", "cli.md").write_text(render())
