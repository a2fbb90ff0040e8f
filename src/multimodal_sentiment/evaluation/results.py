"""The results JSON (read by the model-card generator and `report.py`) and the plots beside it.

Schema (keep these keys): {"model", "model_type", "dataset", "split", "seed", "num_examples",
"metrics": {"accuracy", "f1_weighted", "f1_macro", "precision_weighted", "recall_weighted",
"per_class": {label: {"precision", "recall", "f1", "support"}}}, "command", "date", "machine",
"versions"}; optional extra keys: "preset", "wall_time_s", "representations", "view_coverage" (rows of the
evaluated split that carry each image view; see `multimodal_sentiment.data.coverage`).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_FILE = "results.json"
TRAINING_RECORD_FILE = "training_record.json"
VERSIONED = (
    "multimodal-sentiment",
    "torch",
    "transformers",
    "datasets",
    "evaluate",
    "accelerate",
    "scikit-learn",
    "tokenizers",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def machine_description() -> str:
    """CPU cores this process may use (not the host's), and the GPU if any."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    return f"{platform.system()} {platform.machine()}, {cores} CPU cores, {gpu}"


def command_line(subcommand: str, argv: Sequence[str]) -> str:
    """The exact command, as the user would type it again."""
    return f"multimodal-sentiment {subcommand} {shlex.join(argv)}".strip()


def results_record(
    *,
    model: str,
    model_type: str,
    dataset: str,
    split: str,
    seed: int | None,
    metrics: dict[str, Any],
    num_examples: int,
    command: str,
    **extra: Any,
) -> dict[str, Any]:
    record = {
        "model": model,
        "model_type": model_type,
        "dataset": dataset,
        "split": split,
        "seed": seed,
        "num_examples": num_examples,
        "metrics": metrics,
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "versions": library_versions(),
    }
    record.update({k: v for k, v in extra.items() if v is not None})
    return record


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write atomically: a run killed mid-write never leaves half a results file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def read_training_record(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir) / TRAINING_RECORD_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def plot_confusion_matrix(
    predictions: Sequence[int], references: Sequence[int], label_names: Sequence[str], path: str | Path, title: str
) -> Path:
    """Confusion matrix PNG (rows: true label; counts, and row-normalised colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axis = plt.subplots(figsize=(1.2 * len(label_names) + 2.5, 1.2 * len(label_names) + 2))
    ConfusionMatrixDisplay.from_predictions(
        np.asarray(references),
        np.asarray(predictions),
        labels=list(range(len(label_names))),
        display_labels=list(label_names),
        ax=axis,
        colorbar=False,
        cmap="Blues",
    )
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)


def write_evaluation(
    output_dir: str | Path,
    *,
    predictions: Sequence[int],
    references: Sequence[int],
    label_names: Sequence[str],
    model: str,
    model_type: str,
    dataset: str,
    split: str,
    seed: int | None,
    command: str,
    **extra: Any,
) -> dict[str, Any]:
    """Metrics of one model on one split: `results.json` and `confusion_matrix.png` in `output_dir`."""
    from .metrics import HEADLINE_METRICS, classification_metrics

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    computed = classification_metrics(predictions, references, label_names)
    # Exactly the schema's keys: the model-card generator renders what it finds.
    metrics = {key: computed[key] for key in (*HEADLINE_METRICS, "per_class")}
    title = f"{Path(model).name} on {dataset}/{split}: acc {metrics['accuracy']:.4f}, weighted F1 {metrics['f1_weighted']:.4f}"
    plot_confusion_matrix(predictions, references, label_names, output_dir / "confusion_matrix.png", title)
    record = results_record(
        model=model,
        model_type=model_type,
        dataset=dataset,
        split=split,
        seed=seed,
        metrics=metrics,
        num_examples=len(references),
        command=command,
        **extra,
    )
    write_json(output_dir / RESULTS_FILE, record)
    return record
