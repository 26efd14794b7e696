"""``smartcustoms risk``: targeting rules, inspections, training, evaluation, explanations."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from smartcustoms.aeo import check_operators
from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.errors import Problem
from smartcustoms.risk.policy import check_policy
from smartcustoms.risk.rules import check_rules
from smartcustoms.targeting import read_results_file

__all__ = ["risk_group"]


@click.group("risk")
def risk_group() -> None:
    """Targeting: rules, inspection results, model training, evaluation, explanations."""


def _print_problems(problems: list[Problem], as_json: bool, what: str) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        echo_json({"ok": not errors, "problems": [p.as_dict() for p in problems]})
    else:
        for p in problems:
            click.echo(f"{p.path}  {p.severity}  {p.code}  {p.message}")
        click.echo(
            f"{what}: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)",
            err=bool(errors),
        )
    if errors:
        raise click.exceptions.Exit(1)


@risk_group.group("rules")
def rules_group() -> None:
    """Targeting rules and watch lists."""


@rules_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--watchlist",
    "watchlists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Watch-list file the rules refer to; repeat for several.",
)
@json_option
def rules_check(file: Path, watchlists: tuple[Path, ...], as_json: bool) -> None:
    """Report every problem of a rules file with file and line (exit 1 on errors)."""
    _print_problems(check_rules(file, watchlists), as_json, str(file))


@risk_group.group("lanes")
def lanes_group() -> None:
    """Lane policies: capacities, expected rates, random share, AEO benefits."""


@lanes_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def lanes_check(file: Path, as_json: bool) -> None:
    """Report every problem of a lane policy file (exit 1 on errors)."""
    _print_problems(check_policy(file), as_json, str(file))


@risk_group.command("operators-check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def operators_check(file: Path, as_json: bool) -> None:
    """Report every problem of an operator registry file (exit 1 on errors)."""
    _print_problems(check_operators(file), as_json, str(file))


@risk_group.command("inspect")
@click.argument("consignment_id", required=False)
@click.option(
    "--result", type=click.Choice(["compliant", "noncompliant"]), help="Outcome of the control."
)
@click.option("--corrected-hs", default=None, help="HS code the goods really fall under.")
@click.option("--corrected-value", default=None, help="Value found by the control.")
@click.option("--currency", default=None, help="Currency of the amounts.")
@click.option("--revenue-recovered", default=None, help="Duties and taxes recovered.")
@click.option("--finding", default=None, help="What was found, in words.")
@click.option("--officer", default="cli", show_default=True, help="Who records it.")
@click.option(
    "--file",
    "results_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Bulk results (CSV, JSONL or Parquet; synthetic label files accepted).",
)
@click.option(
    "--only-controlled",
    is_flag=True,
    help="With --file: keep only consignments given a red or yellow lane (as in reality, "
    "where only controlled goods get outcomes).",
)
@db_option
@json_option
def inspect(
    consignment_id: str | None,
    result: str | None,
    corrected_hs: str | None,
    corrected_value: str | None,
    currency: str | None,
    revenue_recovered: str | None,
    finding: str | None,
    officer: str,
    results_file: Path | None,
    only_controlled: bool,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Record an inspection result (the label the model learns from)."""
    platform = make_platform(database_url)
    if results_file is not None:
        rows = read_results_file(results_file, officer=officer)
        if only_controlled:
            controlled = platform.risk_records.controlled_ids()
            rows = [r for r in rows if r.get("consignment_id") in controlled]
    elif consignment_id and result:
        rows = [
            {
                "consignment_id": consignment_id,
                "result": result,
                "corrected_hs_code": corrected_hs,
                "corrected_value": corrected_value,
                "currency": currency,
                "revenue_recovered": revenue_recovered,
                "finding": finding,
                "officer": officer,
            }
        ]
    else:
        raise click.UsageError("give CONSIGNMENT_ID with --result, or --file")
    written = platform.targeting.record_inspections(rows, actor=officer)
    if as_json:
        echo_json({"recorded": written})
    else:
        click.echo(f"recorded {written:,} inspection result(s)")


@risk_group.command("train")
@click.option("--seed", type=int, default=None, help="Training seed (default: settings).")
@db_option
@json_option
def train(seed: int | None, database_url: str | None, as_json: bool) -> None:
    """Train a model on every inspection result on file and make it the active one."""
    record = make_platform(database_url).targeting.train(seed=seed)
    if as_json:
        echo_json(record.as_dict())
        return
    click.echo(f"trained {record.version} on {record.n_train:,} labelled goods items")
    click.echo(f"  window  {record.window_start} .. {record.window_end}")
    click.echo(f"  schema  {record.schema_hash[:16]}  seed {record.seed}")
    validation = record.metrics.get("validation") or {}
    if validation:
        click.echo(
            "  validation (latest 15 %): "
            + ", ".join(
                f"{k} {v:.3f}"
                for k, v in validation.items()
                if k in ("auc", "precision@5%", "recall@5%")
            )
        )


@risk_group.command("models")
@db_option
@json_option
def models(database_url: str | None, as_json: bool) -> None:
    """List trained models, newest first."""
    records = make_platform(database_url).risk_records.models()
    if as_json:
        echo_json([r.as_dict() for r in records])
        return
    for r in records:
        mark = "*" if r.is_active else " "
        click.echo(f"{mark} {r.version}  n={r.n_train:,}  schema {r.schema_hash[:12]}")


@risk_group.command("refresh-values")
@db_option
@json_option
def refresh_values(database_url: str | None, as_json: bool) -> None:
    """Recompute the learned unit-value references from every goods item on file."""
    out = make_platform(database_url).targeting.refresh_values()
    if as_json:
        echo_json(out)
    else:
        click.echo(
            f"value reference {out['version']}: {out['references']:,} references "
            f"from {out['items']:,} goods items"
        )


@risk_group.command("evaluate")
@click.option("--test-share", type=click.FloatRange(0.05, 0.9), default=0.3, show_default=True)
@click.option("--seed", type=int, default=None)
@db_option
@json_option
def evaluate(test_share: float, seed: int | None, database_url: str | None, as_json: bool) -> None:
    """Model vs baselines (random, rules, plain LightGBM) on the labelled history."""
    table = make_platform(database_url).targeting.evaluate(test_share=test_share, seed=seed)
    if as_json:
        echo_json(table.to_dicts())
        return
    out = Table(title="targeting on the latest labelled goods items")
    cols = ["ranker", "auc", "precision@1%", "precision@5%", "recall@5%", "precision@10%"]
    for col in cols:
        out.add_column(col)
    for row in table.iter_rows(named=True):
        out.add_row(*(row[c] if c == "ranker" else f"{row[c]:.3f}" for c in cols))
    Console().print(out)


@risk_group.command("explain")
@click.argument("consignment_id")
@db_option
@json_option
def explain(consignment_id: str, database_url: str | None, as_json: bool) -> None:
    """Why a consignment got its lane: rules, model contributions, value control."""
    decision = make_platform(database_url).targeting.explain(consignment_id)
    if as_json:
        echo_json(decision)
        return
    click.echo(f"consignment {consignment_id}: lane {decision['lane']}")
    score = decision.get("risk_score")
    click.echo(f"  score {score:.3f}" if score is not None else "  score -  (no model was used)")
    for reason in decision["reasons"]:
        click.echo(f"  - {reason['text']}")
    for result in decision["inspections"]:
        click.echo(f"  inspected: {result['result']} by {result['officer']}")


@risk_group.command("drift")
@db_option
@json_option
def drift(database_url: str | None, as_json: bool) -> None:
    """Population stability index of live scores against training scores."""
    out = make_platform(database_url).targeting.drift()
    if as_json:
        echo_json(out)
    else:
        psi = out["psi"]
        click.echo(
            f"model {out['model_version']}: PSI {psi if psi is not None else 'n/a'} over "
            f"{out['live_scores']:,} live scores (threshold {out['threshold']})"
        )
        if out["warning"]:
            click.echo("warning: live scores have drifted from training; retrain", err=True)
    if out["warning"]:
        raise click.exceptions.Exit(1)
