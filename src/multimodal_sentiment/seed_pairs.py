"""Seed-by-seed differences between two sets of runs: the one definition of "this model minus its
baseline" that the results report (evaluation/report.py) and the model card (model_card/card.py)
both show, and the "mean ± std" cell both write under it. Runs are `multimodal-sentiment evaluate` results records. Standard library only, so the
card can use it without loading torch.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def metric_by_seed(runs: Iterable[Mapping[str, Any]], metric: str) -> dict[Any, float]:
    """Seed -> that run's metric in percent, for the runs that have it. `"ece"` is the calibrated
    expected calibration error, kept as a fraction (runs without calibration are left out)."""
    values: dict[Any, float] = {}
    for run in runs:
        if metric == "ece":
            if isinstance(run.get("calibration"), Mapping):
                values[run.get("seed")] = run["calibration"]["ece_after"]
        elif metric in run["metrics"]:
            values[run.get("seed")] = 100 * run["metrics"][metric]
    return values


def seed_differences(
    runs: Iterable[Mapping[str, Any]], baseline_runs: Iterable[Mapping[str, Any]], metric: str
) -> dict[Any, float]:
    """Seed -> run minus baseline run (points), in seed order, over the seeds both have; runs
    without a seed cannot be paired and are left out."""
    values, base = metric_by_seed(runs, metric), metric_by_seed(baseline_runs, metric)
    return {seed: values[seed] - base[seed] for seed in sorted(values.keys() & base.keys() - {None})}


def mean_std(values: Sequence[float], signed: bool = False) -> str:
    """`"mean ± std"` to two decimals (the mean alone for one value); `signed` writes the mean's sign
    (a difference)."""
    mean = f"{statistics.fmean(values):{'+' if signed else ''}.2f}"
    return f"{mean} ± {statistics.stdev(values):.2f}" if len(values) > 1 else mean
