"""Sentiment classification metrics as an `evaluate` module that loads offline.

`evaluate.load("accuracy")` fetches its script from the Hub; this one ships inside the package:
`evaluate.load("<path>/sentiment_metrics")` (see `multimodal_sentiment.evaluation.metrics.load_metric`).
It imports only evaluate, datasets, numpy and scikit-learn, because `evaluate` copies it into
its module cache and imports it there.
"""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

_DESCRIPTION = """Accuracy, weighted and macro F1 / precision / recall, and per-class precision,
recall, F1 and support of a single-label classifier (scikit-learn, zero_division=0)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]`): predicted class ids.
    references (`list[int]`): true class ids.
    label_names (`list[str]`, optional): name of class id 0, 1, ...; keys of `per_class`.
        Classes with no prediction and no reference still get a row (support 0).
Returns:
    accuracy, f1_weighted, f1_macro, precision_weighted, recall_weighted, precision_macro,
    recall_macro (floats in [0, 1]) and per_class: {name: {precision, recall, f1, support}}.
Example:
    >>> metric = evaluate.load("path/to/sentiment_metrics")
    >>> metric.compute(predictions=[0, 1, 2], references=[0, 1, 1], label_names=["neg", "neu", "pos"])["accuracy"]
    0.6666666666666666
"""

_CITATION = """@article{scikit-learn, title={Scikit-learn: Machine Learning in {P}ython}, author={Pedregosa, F. and others},
journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}}"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SentimentMetrics(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html"],
        )

    def _compute(self, predictions, references, label_names=None):
        predictions, references = np.asarray(predictions), np.asarray(references)
        count = len(label_names) if label_names else int(max(predictions.max(initial=0), references.max(initial=0))) + 1
        labels = list(range(count))
        names = list(label_names) if label_names else [str(i) for i in labels]
        result = {"accuracy": float(accuracy_score(references, predictions))}
        for average in ("weighted", "macro"):
            precision, recall, f1, _ = precision_recall_fscore_support(
                references, predictions, labels=labels, average=average, zero_division=0
            )
            result.update(
                {
                    f"f1_{average}": float(f1),
                    f"precision_{average}": float(precision),
                    f"recall_{average}": float(recall),
                }
            )
        precision, recall, f1, support = precision_recall_fscore_support(
            references, predictions, labels=labels, average=None, zero_division=0
        )
        result["per_class"] = {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        }
        return result
