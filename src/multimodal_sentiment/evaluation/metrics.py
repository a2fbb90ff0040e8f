"""The package's classification metrics, through the local `evaluate` module."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

METRIC_PATH = Path(__file__).resolve().parent / "sentiment_metrics"
# Keys of the results JSON's "metrics" (besides per_class), in the order reports show them.
HEADLINE_METRICS = ("accuracy", "f1_weighted", "f1_macro", "precision_weighted", "recall_weighted")


@cache
def load_metric() -> Any:
    """`evaluate.load` of the shipped metric module: works offline (no Hub lookup)."""
    import evaluate

    return evaluate.load(str(METRIC_PATH))


def classification_metrics(
    predictions: Sequence[int], references: Sequence[int], label_names: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, weighted/macro F1, weighted precision/recall and per-class scores."""
    return load_metric().compute(
        predictions=list(predictions), references=list(references), label_names=list(label_names)
    )


def predicted_ids(logits: Any) -> np.ndarray:
    """Class ids from logits (or from a model output tuple whose first item is the logits)."""
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    return np.asarray(logits).argmax(-1)


def trainer_metrics(label_names: Sequence[str]) -> Callable[[Any], dict[str, float]]:
    """A `compute_metrics` for the Trainer: flat scalars (the Trainer logs and compares them),
    per-class F1 as `f1_<label>`. Expects class ids (see `preprocess_logits_for_metrics`)."""

    def compute(prediction: Any) -> dict[str, float]:
        predictions = prediction.predictions
        predictions = predictions[0] if isinstance(predictions, (tuple, list)) else predictions
        result = classification_metrics(np.asarray(predictions).reshape(-1), prediction.label_ids, label_names)
        flat = {k: v for k, v in result.items() if k != "per_class"}
        flat.update({f"f1_{name}": scores["f1"] for name, scores in result["per_class"].items()})
        return flat

    return compute


def preprocess_logits_for_metrics(logits: Any, labels: Any) -> Any:
    """Keep only the argmax during evaluation: models may return extra outputs, and logits of a
    whole split need not be held in memory."""
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    return logits.argmax(-1)
