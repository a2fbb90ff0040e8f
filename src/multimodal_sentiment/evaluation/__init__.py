"""Evaluation: the offline metric module, results JSONs, plots, retrieval, and the report.

`multimodal-sentiment evaluate` runs `evaluate.main`; `python -m
multimodal_sentiment.evaluation.report` writes docs/results.md from results files.
"""

from .metrics import METRIC_PATH, classification_metrics, load_metric
from .representations import retrieval_precision_at_k, silhouette_by_label
from .results import RESULTS_FILE, TRAINING_RECORD_FILE, results_record, write_evaluation

__all__ = [
    "METRIC_PATH",
    "RESULTS_FILE",
    "TRAINING_RECORD_FILE",
    "classification_metrics",
    "load_metric",
    "results_record",
    "retrieval_precision_at_k",
    "silhouette_by_label",
    "write_evaluation",
]
