"""Targeting quality on synthetic traffic: planted patterns, and an online weekly replay.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_risk_synth.py \
        [--consignments 60000] [--weeks 8] [--seed 42] [--out benchmarks/out/risk-synth.json] \
        [--train-share 0.7] [--inspect 0.05] [--no-without-rules]

Generates ``--consignments`` synthetic consignments over ``--weeks`` weeks (from
:data:`smartcustoms.synth.DEFAULT_START`, a Monday), with ground-truth labels and the revenue at
stake from the tariff engine, builds the risk view, and measures two things, all at the
consignment level:

1. **Planted patterns** - a chronological split (the first ``--train-share`` of the days is the
   history, with every label known; the rest is the test). Each ranker ranks the test
   consignments: ``random`` (seeded), ``rules`` (the example ruleset's ``rule_score``, value
   controls fitted on the history), ``plain_gbm`` (LightGBM on the declared fields),
   ``smartcustoms_ungrouped`` (the full pipeline with training profiles out of fold per goods
   item, ``oof_groups=()``: the former default, kept to show how sibling items leaked a
   consignment's label), ``smartcustoms`` (the full pipeline as
   :class:`~smartcustoms.risk.pipeline.RiskPipeline` builds it by default, profiles out of
   fold by consignment) and ``engine`` (what :class:`~smartcustoms.risk.engine.RiskEngine`
   ranks by when ``risk train`` ran with rules: the model with the summed rule weight as a
   feature). Reported: the share of each planted pattern's consignments in the
   top 5 % and 10 % (recall per fraud type, and for the non-compliant consignments of
   repeat-offender sellers), and overall Precision@n, Recall@n, Revenue@n and AUC. Ties are
   broken in one seeded random order, the same for every ranker.
2. **Online weekly replay** - week 1 has no model: the engine (example rules + the policy's
   random share) selects lanes, and only the consignments sent red or yellow (inspected)
   reveal their labels. Every later week, a pipeline is retrained on all earlier weeks (the
   unrevealed rows keep null labels: they count for frequencies only), the engine assesses the
   week, and the newly inspected consignments reveal their labels. Two policies run
   independently on the same traffic: pure exploitation (``random_share = 0``) and exploration
   (``random_share = 0.10``, the default policy's). The default policy's red and yellow
   capacities are scaled (same 40:150 ratio, rates unchanged) so that about ``--inspect`` of
   the consignments are inspected. Per week: inspections, hit rate among the inspected,
   recall (share of the week's non-compliant consignments inspected), share of the week's
   revenue at stake inspected, and the AUC of the week's model scores on *all* its
   consignments (ground truth known to the benchmark), beside the AUC of a reference model
   trained on the same weeks with every label known (the ceiling) and of one trained on the
   labels of a uniformly random ``--inspect`` share of each earlier week (as many labels,
   no selection bias): the gap between the latter and the policy's own model is what
   selection bias costs the learning. Unless ``--no-without-rules`` is given, both policies
   are replayed a second time without targeting rules (model and random share alone), since
   rules choose the first week's inspections and force lanes (the replay's models are trained
   without the rule weight as a feature).

Everything is deterministic for a seed (the report records the commit measured). Writes a
JSON report to ``--out`` and prints Markdown tables for ``docs/benchmarks.md``; progress goes
to stderr. With the defaults it took 90 s on two busy shared cores (60,000
consignments, about 180,000 goods items; 3 models for part 1, 14 reference models and 28
replay models, the largest on about 150,000 goods items).
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # OpenMP spin-waits hurt 2 shared cores

import numpy as np
import numpy.typing as npt
import polars as pl

from smartcustoms.errors import InsufficientLabelsError
from smartcustoms.model.columns import CONSIGNMENT_ID
from smartcustoms.risk.columns import (
    IS_NONCOMPLIANT,
    IS_RANDOM_PICK,
    LANE,
    PRIORITY,
    REVENUE_AT_STAKE,
    RISK_SCORE,
    RULE_SCORE,
    Lane,
)
from smartcustoms.risk.engine import RiskEngine
from smartcustoms.risk.evaluation import plain_config
from smartcustoms.risk.features import FeatureConfig
from smartcustoms.risk.metrics import auc, ranking_metrics, top_n_mask
from smartcustoms.risk.pipeline import RiskPipeline
from smartcustoms.risk.policy import LanePolicy, default_policy
from smartcustoms.risk.rules import RuleSet, load_example_rules
from smartcustoms.risk.value_controls import fit_value_reference, with_value_controls
from smartcustoms.risk.view import build_risk_view
from smartcustoms.synth import (
    DEFAULT_START,
    FraudType,
    TrafficConfig,
    generate_traffic,
    tariff_assessor,
    with_revenue_at_stake,
)
from smartcustoms.tariff import load_exchange_rates

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CID: Final = "consignment_id"
FILED_AT: Final = "filed_at"
WEEK: Final = "week"
FRAUD_TYPE: Final = "fraud_type"
REPEAT: Final = "seller_is_repeat_offender"
INSPECTED_LANES: Final = (Lane.RED.value, Lane.YELLOW.value)
PATTERN_BUDGETS: Final = (5.0, 10.0)
OVERALL_BUDGETS: Final = (1.0, 5.0, 10.0)
GROUPED: Final = (CID,)
"""Fold groups of training profiles: all goods items of a consignment in one fold."""
RANKERS: Final = (
    "random",
    "rules",
    "plain_gbm",
    "smartcustoms_ungrouped",
    "smartcustoms",
    "engine",
)


@dataclass(frozen=True)
class Traffic:
    """One synthetic run, ready for targeting.

    Attributes:
        view: Item-level risk view without labels, per week (index = week).
        truth: One row per consignment: ``consignment_id``, ``filed_at``, ``week``,
            ``is_noncompliant``, ``fraud_type``, ``seller_is_repeat_offender`` and
            ``revenue_at_stake`` (EUR, Float64).
        start: Start of the period.
        days: Length of the period in days.
    """

    view: tuple[pl.DataFrame, ...]
    truth: pl.DataFrame
    start: datetime
    days: float

    def items(self, weeks: range | None = None) -> pl.DataFrame:
        """The risk view of the given weeks (all weeks by default)."""
        chosen = range(len(self.view)) if weeks is None else weeks
        return pl.concat([self.view[w] for w in chosen])


def make_traffic(consignments: int, weeks: int, seed: int) -> Traffic:
    """Generate the traffic, its revenue at stake and its risk view.

    Consignments are put in weeks by filing time from the start of the period; the few
    lodged before the start (pre-arrival filings) count in week 1, and any filed after the
    end in the last week.
    """
    start = DEFAULT_START
    days = 7.0 * weeks
    config = TrafficConfig(consignments=consignments, seed=seed, start=start, days=days)
    assessor = tariff_assessor()
    chunks = [
        with_revenue_at_stake(chunk, assessor)
        for chunk in generate_traffic(config, with_events=False)
    ]
    cons = pl.concat([ch.consignments for ch in chunks])
    items = pl.concat([ch.items for ch in chunks])
    labels = pl.concat([ch.labels for ch in chunks])
    view = build_risk_view(cons, items, rates=load_exchange_rates(), currency="EUR")
    week = (
        ((pl.col(FILED_AT) - pl.lit(start)).dt.total_seconds() // (7 * 86_400))
        .clip(0, weeks - 1)
        .cast(pl.Int32)
        .alias(WEEK)
    )
    truth = (
        cons.select(CID, FILED_AT)
        .with_columns(week)
        .join(
            labels.select(
                CID,
                IS_NONCOMPLIANT,
                FRAUD_TYPE,
                REPEAT,
                pl.col(REVENUE_AT_STAKE).cast(pl.Float64).fill_null(0.0),
            ),
            on=CID,
        )
        .sort(CID)
    )
    parts = view.join(truth.select(CID, WEEK), on=CID).partition_by(WEEK, as_dict=True)
    by_week = tuple(
        parts.get((w,), view.clear()).drop(WEEK, strict=False).sort(FILED_AT, CID, "item_no")
        for w in range(weeks)
    )
    return Traffic(view=by_week, truth=truth, start=start, days=days)


def with_labels(view: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """``view`` with ``is_noncompliant`` and ``revenue_at_stake`` joined (null: unknown)."""
    known = labels.select(CID, IS_NONCOMPLIANT, REVENUE_AT_STAKE)
    return view.join(known, on=CID, how="left")


def consignment_scores(scored: pl.DataFrame, ids: pl.Series, column: str) -> FloatArray:
    """``column`` of ``scored`` in the order of ``ids`` (0 for a consignment not scored)."""
    joined = ids.to_frame().join(scored.select(CID, column), on=CID, how="left")
    values: FloatArray = joined[column].cast(pl.Float64).fill_null(0.0).to_numpy()
    return values


def fit_pipeline(
    history: pl.DataFrame, *, seed: int, config: FeatureConfig | None, groups: Sequence[str]
) -> RiskPipeline:
    """A :class:`RiskPipeline` with the library's default model, fitted on ``history``."""
    return RiskPipeline(config=config, oof_groups=groups, seed=seed).fit(history)


# --- 1. planted patterns ------------------------------------------------------------------


def pattern_masks(truth: pl.DataFrame) -> dict[str, BoolArray]:
    """Consignments of each planted pattern (rows of ``truth``)."""
    masks: dict[str, BoolArray] = {}
    for kind in FraudType:
        masks[kind.value] = (truth[FRAUD_TYPE] == kind.value).fill_null(False).to_numpy()
    repeat = truth[IS_NONCOMPLIANT] & truth[REPEAT]
    masks["repeat_offender (non-compliant)"] = repeat.fill_null(False).to_numpy()
    masks["all non-compliant"] = truth[IS_NONCOMPLIANT].fill_null(False).to_numpy()
    return masks


def ranker_scores(
    history: pl.DataFrame, test: pl.DataFrame, ids: pl.Series, rules: RuleSet, seed: int
) -> dict[str, FloatArray]:
    """Each ranker's consignment score for the test consignments ``ids`` (in that order)."""
    out: dict[str, FloatArray] = {}
    out["random"] = np.random.default_rng(seed).random(ids.len())
    reference = fit_value_reference(history)
    hits = rules.apply(with_value_controls(test, reference)).consignments
    out["rules"] = consignment_scores(hits, ids, RULE_SCORE)
    # what the engine ranks by: the model, with the summed rule weight as a feature
    history_hits = rules.apply(with_value_controls(history, reference)).consignments
    weight = pl.col(RULE_SCORE).fill_null(0.0)
    history_r = history.join(
        history_hits.select(CONSIGNMENT_ID, RULE_SCORE), on=CONSIGNMENT_ID, how="left"
    ).with_columns(weight)
    test_r = test.join(hits.select(CONSIGNMENT_ID, RULE_SCORE), on=CONSIGNMENT_ID, how="left")
    for name, config, groups, hist, scored_view in (
        ("plain_gbm", plain_config(FeatureConfig()), (), history, test),
        ("smartcustoms_ungrouped", None, (), history, test),
        ("smartcustoms", None, GROUPED, history, test),
        (
            "engine",
            FeatureConfig(extra_numerics=(RULE_SCORE,)),
            GROUPED,
            history_r,
            test_r.with_columns(weight),
        ),
    ):
        pipeline = fit_pipeline(hist, seed=seed, config=config, groups=groups)
        scored = pipeline.score_consignments(scored_view, top=0)
        out[name] = consignment_scores(scored, ids, RISK_SCORE)
        print(f"  fitted {name}", file=sys.stderr, flush=True)
    return out


def pattern_benchmark(
    traffic: Traffic, rules: RuleSet, *, train_share: float, seed: int
) -> dict[str, Any]:
    """Part 1: fit every ranker on the history, rank the test consignments."""
    cut = traffic.start + timedelta(days=traffic.days * train_share)
    view = traffic.items()
    history = with_labels(view.filter(pl.col(FILED_AT) < cut), traffic.truth)
    test = view.filter(pl.col(FILED_AT) >= cut)
    # One seeded random order for the test consignments: ties break the same, at random,
    # for every ranker (a stable sort would otherwise break them by consignment id).
    test_truth = traffic.truth.filter(pl.col(FILED_AT) >= cut)
    order = np.random.default_rng([seed, 1]).permutation(test_truth.height)
    test_truth = test_truth[order.tolist()]
    scores = ranker_scores(history, test, test_truth[CID], rules, seed)
    y = test_truth[IS_NONCOMPLIANT].to_numpy()
    revenue = test_truth[REVENUE_AT_STAKE].to_numpy()
    masks = pattern_masks(test_truth)
    overall: dict[str, dict[str, object]] = {}
    patterns: dict[str, dict[str, object]] = {
        name: {"consignments": int(mask.sum()), "recall": {}} for name, mask in masks.items()
    }
    for ranker, s in scores.items():
        overall[ranker] = ranking_metrics(y, s, revenue=revenue, budgets=OVERALL_BUDGETS).as_dict()
        tops = {pct: top_n_mask(s, pct) for pct in PATTERN_BUDGETS}
        for name, mask in masks.items():
            recall = patterns[name]["recall"]
            assert isinstance(recall, dict)
            recall[ranker] = {
                f"recall@{pct:g}%": float((top & mask).sum() / mask.sum()) if mask.any() else None
                for pct, top in tops.items()
            }
    return {
        "split_at": cut.isoformat(),
        "history_consignments": traffic.truth.height - test_truth.height,
        "test_consignments": test_truth.height,
        "test_noncompliant": int(y.sum()),
        "overall": overall,
        "patterns": patterns,
    }


# --- 2. online weekly replay --------------------------------------------------------------


def scaled_policy(traffic: Traffic, target: float) -> tuple[LanePolicy, dict[str, Any]]:
    """The default policy with red/yellow capacity scaled so ``target`` of all is inspected.

    Keeps the default's rates and its red:yellow capacity ratio, and picks the scale whose
    planned red + yellow budget (per office and day: min(capacity, round(rate x count)),
    as lane selection computes it) is closest to ``target`` of the consignments.
    """
    policy = default_policy()
    base = policy.default
    view = traffic.items()
    per_day = (
        view.select(CID, "office_of_arrival", "period")
        .unique(CID)
        .group_by("office_of_arrival", "period")
        .len()["len"]
        .to_numpy()
        .astype(np.float64)
    )
    red_target = np.floor(base.red_rate * per_day + 0.5)
    yellow_target = np.floor(base.yellow_rate * per_day + 0.5)
    best: tuple[float, int, int] | None = None
    for scale in np.linspace(0.01, 1.0, 199):
        red = round(base.red_capacity * scale)
        yellow = round(base.yellow_capacity * scale)
        planned = np.minimum(red, red_target).sum() + np.minimum(yellow, yellow_target).sum()
        gap = abs(planned / traffic.truth.height - target)
        if best is None or gap < best[0]:
            best = (gap, red, yellow)
    assert best is not None
    _, red, yellow = best
    office = replace(base, red_capacity=red, yellow_capacity=yellow)
    info = {
        "red_capacity": red,
        "yellow_capacity": yellow,
        "red_rate": base.red_rate,
        "yellow_rate": base.yellow_rate,
        "strategy": base.strategy.value,
        "mean_consignments_per_day": float(per_day.mean()),
        "target_inspected_share": target,
    }
    return replace(policy, default=office), info


def week_metrics(
    decisions: pl.DataFrame, truth: pl.DataFrame, references: Mapping[str, FloatArray | None]
) -> dict[str, Any]:
    """Hit rate, recall, revenue share and AUCs of one week's decisions.

    ``references`` are scores of reference models for the same consignments, in ``truth``
    order (``None`` in the first week, which has no history).
    """
    joined = truth.select(CID, IS_NONCOMPLIANT, REVENUE_AT_STAKE).join(
        decisions.select(CID, LANE, IS_RANDOM_PICK, RISK_SCORE, PRIORITY),
        on=CID,
        how="left",
        maintain_order="left",
    )
    y = joined[IS_NONCOMPLIANT].to_numpy()
    revenue = joined[REVENUE_AT_STAKE].to_numpy()
    inspected = joined[LANE].is_in(INSPECTED_LANES).fill_null(False).to_numpy()
    n_inspected = int(inspected.sum())
    hits = int((y & inspected).sum())
    model = joined[RISK_SCORE]
    return {
        "consignments": joined.height,
        "noncompliant": int(y.sum()),
        "inspected": n_inspected,
        "inspected_share": n_inspected / joined.height,
        "random_picks": int(joined[IS_RANDOM_PICK].fill_null(False).sum()),
        "hits": hits,
        "hit_rate": hits / n_inspected if n_inspected else None,
        "recall": hits / int(y.sum()) if y.any() else None,
        "revenue_total": float(revenue.sum()),
        "revenue_caught": float(revenue[inspected].sum()),
        "revenue_share": float(revenue[inspected].sum() / revenue.sum()) if revenue.any() else None,
        "auc_model": auc(y, model.to_numpy()) if model.null_count() == 0 else None,
        "auc_priority": auc(y, joined[PRIORITY].fill_null(0.0).to_numpy()),
        **{
            f"auc_{name}": auc(y, scores) if scores is not None else None
            for name, scores in references.items()
        },
    }


def reference_scores(
    traffic: Traffic, inspect: float, seed: int
) -> dict[str, list[FloatArray | None]]:
    """Per week, scores of two reference models trained on all earlier weeks.

    * ``full_labels`` - every label of the history known (the ceiling);
    * ``random_labels`` - only the labels of a uniformly random ``inspect`` share of each
      earlier week (what inspecting purely at random would have revealed: as many labels as
      the replayed policies get, none of their selection bias).

    Scores are in the order of the week's consignments in ``traffic.truth``.
    """
    out: dict[str, list[FloatArray | None]] = {"full_labels": [None], "random_labels": [None]}
    truth = traffic.truth
    sampled = []
    for w in range(len(traffic.view)):
        week = truth.filter(pl.col(WEEK) == w)
        k = round(inspect * week.height)
        pick = np.random.default_rng([seed, 2, w]).choice(week.height, k, replace=False)
        sampled.append(week[np.sort(pick).tolist()])
    for w in range(1, len(traffic.view)):
        ids = truth.filter(pl.col(WEEK) == w)[CID]
        history = traffic.items(range(w))
        for name, labels in (
            ("full_labels", truth),
            ("random_labels", pl.concat(sampled[:w])),
        ):
            pipeline = fit_pipeline(
                with_labels(history, labels), seed=seed, config=None, groups=GROUPED
            )
            scored = pipeline.score_consignments(traffic.view[w], top=0)
            out[name].append(consignment_scores(scored, ids, RISK_SCORE))
        print(f"  reference models for week {w + 1}", file=sys.stderr, flush=True)
    return out


def replay(
    traffic: Traffic,
    policy: LanePolicy,
    rules: RuleSet | None,
    references: Mapping[str, Sequence[FloatArray | None]],
    *,
    seed: int,
) -> list[dict[str, Any]]:
    """Part 2 for one policy: select, reveal the inspected, retrain, week after week.

    Without ``rules``, week 1 has nothing to rank by (every priority is 0), so lane
    selection's seeded tie-break makes its score picks random too.
    """
    revealed = traffic.truth.clear().select(CID, IS_NONCOMPLIANT, REVENUE_AT_STAKE)
    weeks: list[dict[str, Any]] = []
    for w in range(len(traffic.view)):
        pipeline: RiskPipeline | None = None
        note = "no model: rules and the random share"
        if w > 0:
            history = with_labels(traffic.items(range(w)), revealed)
            try:
                pipeline = fit_pipeline(history, seed=seed, config=None, groups=GROUPED)
                note = "model"
            except InsufficientLabelsError as exc:
                note = f"no model: {exc}"
        engine = RiskEngine(policy=policy, rules=rules, pipeline=pipeline, seed=seed)
        decisions = engine.assess(traffic.view[w]).decisions
        truth = traffic.truth.filter(pl.col(WEEK) == w)
        week_refs = {name: scores[w] for name, scores in references.items()}
        figures = week_metrics(decisions, truth, week_refs)
        figures.update(week=w + 1, labelled_history=revealed.height, note=note)
        weeks.append(figures)
        inspected = decisions.filter(pl.col(LANE).is_in(INSPECTED_LANES)).select(CID)
        revealed = pl.concat(
            [revealed, truth.join(inspected, on=CID).select(revealed.columns)]
        ).sort(CID)
        print(f"  week {w + 1}: {note}", file=sys.stderr, flush=True)
    return weeks


def totals(weeks: Sequence[dict[str, Any]], truth: pl.DataFrame, first: int) -> dict[str, Any]:
    """Inspections, hits, recall and revenue share over weeks ``first`` (1-based) onwards."""
    chosen = [w for w in weeks if w["week"] >= first]
    part = truth.filter(pl.col(WEEK) >= first - 1)
    inspected = sum(w["inspected"] for w in chosen)
    hits = sum(w["hits"] for w in chosen)
    revenue = sum(w["revenue_total"] for w in chosen)
    caught = sum(w["revenue_caught"] for w in chosen)
    return {
        "weeks": f"{first}-{weeks[-1]['week']}",
        "inspected": inspected,
        "random_picks": sum(w["random_picks"] for w in chosen),
        "hits": hits,
        "hit_rate": hits / inspected if inspected else None,
        "recall": hits / int(part[IS_NONCOMPLIANT].sum()),
        "revenue_share": caught / revenue if revenue else None,
        "mean_auc_model": _mean([w["auc_model"] for w in chosen]),
        "mean_auc_random_labels": _mean([w["auc_random_labels"] for w in chosen]),
        "mean_auc_full_labels": _mean([w["auc_full_labels"] for w in chosen]),
    }


def _mean(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (``None`` when there are none)."""
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


# --- output -------------------------------------------------------------------------------


def pct(value: object, digits: int = 1) -> str:
    """A share as a percentage, or a dash."""
    if not isinstance(value, int | float) or value != value:
        return "-"
    return f"{100.0 * value:.{digits}f}"


def num(value: object, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or a dash."""
    if not isinstance(value, int | float) or value != value:
        return "-"
    return f"{value:.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """The Markdown tables of a report."""
    part1 = report["patterns"]
    out = [
        f"### Planted patterns (test: {part1['test_consignments']:,} consignments filed from "
        f"{part1['split_at'][:10]}, {part1['test_noncompliant']:,} non-compliant; history: "
        f"{part1['history_consignments']:,} consignments, every label known)",
        "",
        "Share of each pattern's test consignments in the top 5 % / top 10 % of the ranking, %:",
        "",
    ]
    rows = []
    for name, entry in part1["patterns"].items():
        cells = [f"{name} ({entry['consignments']:,})"]
        for ranker in RANKERS:
            r = entry["recall"][ranker]
            cells.append(f"{pct(r['recall@5%'])} / {pct(r['recall@10%'])}")
        rows.append(cells)
    out.append(table(["pattern (test consignments)", *RANKERS], rows))
    out += [
        "",
        "Overall, consignment level (P = precision, R = recall, Rev = revenue share, %):",
        "",
    ]
    header = ["ranker", "AUC"]
    for metric in ("precision", "recall", "revenue"):
        short = {"precision": "P", "recall": "R", "revenue": "Rev"}[metric]
        header += [f"{short}@{b:g}%" for b in OVERALL_BUDGETS]
    rows = []
    for ranker in RANKERS:
        m = part1["overall"][ranker]
        cells = [ranker, num(m["auc"])]
        for metric in ("precision", "recall", "revenue"):
            cells += [pct(m[f"{metric}@{b:g}%"]) for b in OVERALL_BUDGETS]
        rows.append(cells)
    out.append(table(header, rows))
    cap = report["replay"]["capacity"]
    out += [
        "",
        f"### Online weekly replay (red capacity {cap['red_capacity']}/day, yellow "
        f"{cap['yellow_capacity']}/day, rates {cap['red_rate']:g} / {cap['yellow_rate']:g}; "
        f"{cap['mean_consignments_per_day']:.0f} consignments per day on average)",
    ]
    share = f"{100 * cap['target_inspected_share']:g} %"
    header = [
        "week",
        "labels known",
        "inspected",
        "random",
        "hit rate %",
        "recall %",
        "revenue %",
        "AUC model",
        "AUC selection",
        f"AUC random {share} labels",
        "AUC full labels",
    ]
    for policy, entry in report["replay"]["policies"].items():
        rules = entry["rules"] or "none"
        out += ["", f"**{policy}** (random_share = {entry['random_share']:g}, rules: {rules}):", ""]
        rows = [
            [
                str(w["week"]),
                f"{w['labelled_history']:,}",
                f"{w['inspected']:,} ({pct(w['inspected_share'])} %)",
                str(w["random_picks"]),
                pct(w["hit_rate"]),
                pct(w["recall"]),
                pct(w["revenue_share"]),
                num(w["auc_model"]),
                num(w["auc_priority"]),
                num(w["auc_random_labels"]),
                num(w["auc_full_labels"]),
            ]
            for w in entry["weeks"]
        ]
        out.append(table(header, rows))
    out += ["", "Totals:", ""]
    rows = []
    for policy, entry in report["replay"]["policies"].items():
        for t in entry["totals"]:
            rows.append(
                [
                    policy,
                    t["weeks"],
                    f"{t['inspected']:,}",
                    f"{t['random_picks']:,}",
                    f"{t['hits']:,}",
                    pct(t["hit_rate"]),
                    pct(t["recall"]),
                    pct(t["revenue_share"]),
                    num(t["mean_auc_model"]),
                ]
            )
    out.append(
        table(
            [
                "policy",
                "weeks",
                "inspected",
                "random",
                "hits",
                "hit rate %",
                "recall %",
                "revenue %",
                "mean AUC model",
            ],
            rows,
        )
    )
    later = next(iter(report["replay"]["policies"].values()))["totals"][-1]
    out += [
        "",
        f"Reference models, mean AUC over weeks {later['weeks']}: trained on the labels of a"
        f" uniformly random {share} of each earlier week {num(later['mean_auc_random_labels'])},"
        f" on every label {num(later['mean_auc_full_labels'])}.",
    ]
    return "\n".join(out)


def library_version() -> dict[str, object]:
    """The commit of the code measured, and the source files changed since (if any)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout

    status = git("status", "--porcelain", "--", "src").splitlines()
    changed = [line[3:] for line in status if line.strip()]
    return {"commit": git("rev-parse", "HEAD").strip() or None, "changed_sources": changed}


def main(argv: Sequence[str] | None = None) -> None:
    """Run both measurements, write the JSON report and print the Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consignments", type=int, default=60_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-share", type=float, default=0.7)
    parser.add_argument("--inspect", type=float, default=0.05, help="share to inspect")
    parser.add_argument(
        "--without-rules",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also replay both policies with no targeting rules (model and random share only)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/risk-synth.json"))
    args = parser.parse_args(argv)
    if args.weeks < 2:
        parser.error("--weeks must be at least 2")
    started = time.perf_counter()
    traffic = make_traffic(args.consignments, args.weeks, args.seed)
    rules = load_example_rules(today=traffic.start.date())
    print("planted patterns", file=sys.stderr, flush=True)
    patterns = pattern_benchmark(traffic, rules, train_share=args.train_share, seed=args.seed)
    policy, capacity = scaled_policy(traffic, args.inspect)
    print("replay: reference models", file=sys.stderr, flush=True)
    references = reference_scores(traffic, args.inspect, args.seed)
    policies: dict[str, Any] = {}
    variants: list[tuple[str, float, RuleSet | None]] = [
        ("exploitation", 0.0, rules),
        ("exploration", policy.default.random_share, rules),
    ]
    if args.without_rules:
        variants += [
            ("exploitation, no rules", 0.0, None),
            ("exploration, no rules", policy.default.random_share, None),
        ]
    for name, share, ruleset in variants:
        print(f"replay: {name}", file=sys.stderr, flush=True)
        chosen = replace(policy, default=replace(policy.default, random_share=share))
        weeks = replay(traffic, chosen, ruleset, references, seed=args.seed)
        policies[name] = {
            "random_share": share,
            "rules": None if ruleset is None else f"{ruleset.id} {ruleset.version}",
            "weeks": weeks,
            "totals": [totals(weeks, traffic.truth, 1), totals(weeks, traffic.truth, 2)],
        }
    truth = traffic.truth
    report: dict[str, Any] = {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {os.cpu_count()} cores, Python {host.python_version()}",
        "library": library_version(),
        "config": {
            "consignments": args.consignments,
            "weeks": args.weeks,
            "seed": args.seed,
            "start": traffic.start.isoformat(),
            "train_share": args.train_share,
            "goods_items": sum(v.height for v in traffic.view),
            "noncompliant": int(truth[IS_NONCOMPLIANT].sum()),
            "revenue_at_stake_eur": round(float(truth[REVENUE_AT_STAKE].sum()), 2),
            "ruleset": f"{rules.id} {rules.version}",
        },
        "patterns": patterns,
        "replay": {"capacity": capacity, "policies": policies},
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))
    print(f"\n(report: {args.out}; {report['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
