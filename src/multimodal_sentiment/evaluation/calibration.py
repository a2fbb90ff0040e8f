"""`multimodal-sentiment calibrate MODEL_DIR --dataset PATH`: calibrated scores, chosen on validation.

Fits, on the validation split only, what the config applies to the model's logits outside
training (`(logits + class_logit_bias) / logit_temperature`, see `calibrated_logits`):

1. optionally a per-class logit offset (`--class_bias macro_f1`): the offsets that maximise
   macro F1 among those that keep validation accuracy within `--max_accuracy_drop` points of the
   model's own (logit adjustment: makes a model that rarely says the minority classes say them);
   or (`--class_bias min_recall --min_recall neutral=0.45`) the offsets with the best validation
   accuracy among those that give one class at least that recall (a class the model under-says);
2. then the temperature that minimises the negative log-likelihood (temperature scaling).

Writes them into MODEL_DIR/config.json, `calibration.json` beside it, and, with a test split,
the expected calibration error (15 bins) before and after plus the test metrics of the
calibrated model into the run's `results.json` (`calibration` key). The test split is read
only after everything is chosen.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .results import RESULTS_FILE, command_line, write_json

logger = logging.getLogger(__name__)
CALIBRATION_FILE = "calibration.json"
ECE_BINS = 15
CLASS_BIAS_OBJECTIVES = ("none", "macro_f1", "min_recall")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE over `n_bins` equal-width confidence bins: sum over bins of |accuracy - confidence|
    weighted by the bin's share of rows (confidence = the top probability)."""
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)
    confidence = probabilities.max(axis=-1)
    correct = probabilities.argmax(axis=-1) == labels
    # Bin b holds confidences in (b/n, (b+1)/n]; a confidence of exactly 0 joins the first bin.
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    error = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray) -> float:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0) -> float:
    """The temperature in [low, high] minimising the NLL of `logits / T` (golden-section search on
    log T; the NLL is unimodal in T)."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits / math.exp(log_t), labels)

    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(80):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    return float(math.exp((a + b) / 2))


def _accuracy_and_macro_f1(predictions: np.ndarray, labels: np.ndarray, num_labels: int) -> tuple[float, float]:
    f1s = []
    for k in range(num_labels):
        tp = np.sum((predictions == k) & (labels == k))
        predicted, actual = np.sum(predictions == k), np.sum(labels == k)
        f1s.append(0.0 if predicted + actual == 0 else 2 * tp / (predicted + actual))
    return float(np.mean(predictions == labels)), float(np.mean(f1s))


def _coordinate_ascent(
    score: Callable[[np.ndarray], float], num_labels: int, grid: Sequence[float], rounds: int
) -> tuple[np.ndarray, float]:
    """The per-class offsets maximising `score`: coordinate ascent over classes 1.. on `grid`, class
    0's offset fixed at 0 (only differences matter); ties keep the smaller change."""
    bias = np.zeros(num_labels)
    best = score(bias)
    for _ in range(rounds):
        improved = False
        for k in range(1, num_labels):
            for value in sorted(grid, key=abs):
                candidate = bias.copy()
                candidate[k] = value
                value_score = score(candidate)
                if value_score > best + 1e-12:
                    best, bias, improved = value_score, candidate, True
        if not improved:
            break
    return bias, best


def choose_class_bias(
    logits: np.ndarray,
    labels: np.ndarray,
    max_accuracy_drop: float = 0.01,
    grid: Sequence[float] = tuple(np.round(np.arange(-3.0, 3.0001, 0.05), 2)),
    rounds: int = 3,
) -> list[float]:
    """Per-class logit offsets maximising macro F1 among those whose accuracy is at least the
    unbiased accuracy minus `max_accuracy_drop` (a fraction), by `_coordinate_ascent` on `grid`."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    num_labels = logits.shape[-1]
    floor = _accuracy_and_macro_f1(logits.argmax(-1), labels, num_labels)[0] - max_accuracy_drop

    def score(candidate: np.ndarray) -> float:
        accuracy, macro_f1 = _accuracy_and_macro_f1((logits + candidate).argmax(-1), labels, num_labels)
        return macro_f1 if accuracy >= floor - 1e-12 else -1.0

    return [round(float(v), 4) for v in _coordinate_ascent(score, num_labels, grid, rounds)[0]]


def choose_recall_bias(
    logits: np.ndarray,
    labels: np.ndarray,
    class_index: int,
    min_recall: float,
    grid: Sequence[float] = tuple(np.round(np.arange(-3.0, 3.0001, 0.05), 2)),
    rounds: int = 3,
) -> list[float]:
    """Per-class logit offsets with the highest accuracy among those giving class `class_index` a
    recall of at least `min_recall` (coordinate ascent as in `choose_class_bias`; while no offset
    reaches the recall, the one closest to it ranks first). Raises when none reaches it."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    num_labels = logits.shape[-1]
    members = labels == class_index
    if not members.any():
        raise ValueError(f"class {class_index} never occurs in the validation labels; its recall is undefined.")

    def score(candidate: np.ndarray) -> float:
        predictions = (logits + candidate).argmax(-1)
        recall = float(np.mean(predictions[members] == class_index))
        return float(np.mean(predictions == labels)) if recall >= min_recall - 1e-12 else recall - 1.0

    bias, best = _coordinate_ascent(score, num_labels, grid, rounds)
    if best < 0:
        raise ValueError(
            f"no class offset within [{min(grid)}, {max(grid)}] gives class {class_index} a validation recall of "
            f"{min_recall:.0%}; ask for less."
        )
    return [round(float(v), 4) for v in bias]


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    class_bias: str = "none",
    max_accuracy_drop: float = 0.01,
    min_recall: tuple[int, float] | None = None,
) -> dict[str, Any]:
    """The offsets (`class_bias` "macro_f1", or "min_recall" with `min_recall` = (class index,
    fraction)) then the temperature, from raw validation logits."""
    if class_bias not in CLASS_BIAS_OBJECTIVES:
        raise ValueError(f"class_bias must be one of {', '.join(map(repr, CLASS_BIAS_OBJECTIVES))}, got {class_bias!r}.")
    if (class_bias == "min_recall") != (min_recall is not None):
        raise ValueError("class_bias 'min_recall' and min_recall=(class index, fraction) go together.")
    bias = None
    if class_bias == "macro_f1":
        bias = choose_class_bias(logits, labels, max_accuracy_drop)
    elif class_bias == "min_recall":
        bias = choose_recall_bias(logits, labels, *min_recall)
    shifted = logits + np.asarray(bias) if bias is not None else logits
    return {"class_logit_bias": bias, "logit_temperature": round(fit_temperature(shifted, labels), 4)}


def apply_calibration(logits: np.ndarray, calibration: dict[str, Any]) -> np.ndarray:
    """The numpy twin of `modeling_common.calibrated_logits`, for logits computed uncalibrated."""
    if calibration.get("class_logit_bias") is not None:
        logits = logits + np.asarray(calibration["class_logit_bias"])
    return logits / calibration.get("logit_temperature", 1.0)


def calibration_summary(raw_logits: np.ndarray, labels: np.ndarray, calibration: dict[str, Any]) -> dict[str, Any]:
    """ECE and NLL before and after, accuracy / macro F1 before and after, on one split."""
    after = apply_calibration(raw_logits, calibration)
    num_labels = raw_logits.shape[-1]
    acc_before, f1_before = _accuracy_and_macro_f1(raw_logits.argmax(-1), labels, num_labels)
    acc_after, f1_after = _accuracy_and_macro_f1(after.argmax(-1), labels, num_labels)
    return {
        "ece_before": expected_calibration_error(softmax(raw_logits), labels),
        "ece_after": expected_calibration_error(softmax(after), labels),
        "nll_before": negative_log_likelihood(raw_logits, labels),
        "nll_after": negative_log_likelihood(after, labels),
        "accuracy_before": acc_before,
        "accuracy_after": acc_after,
        "f1_macro_before": f1_before,
        "f1_macro_after": f1_after,
        "num_examples": int(len(labels)),
    }


def build_parser() -> Any:
    """The dataset options are `DatasetOptions`, the dataclass `train` and `evaluate` parse."""
    from ..cli.args import hf_argument_parser
    from ..data.options import DatasetOptions

    parser = hf_argument_parser(
        DatasetOptions, prog="multimodal-sentiment calibrate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("model_dir", help="a trained model folder (e.g. runs/mvsa-multiple/era-mpnet/seed1)")
    parser.add_argument("--validation_split", default="validation", help="the split the calibration is fitted on")
    parser.add_argument("--test_split", default="test", help="split reported after fitting ('none' to skip)")
    parser.add_argument(
        "--class_bias",
        default="none",
        choices=list(CLASS_BIAS_OBJECTIVES),
        help="also choose per-class logit offsets on validation: macro_f1 (within --max_accuracy_drop) or "
        "min_recall (best accuracy giving --min_recall)",
    )
    parser.add_argument(
        "--min_recall",
        default=None,
        metavar="LABEL=FRACTION",
        help="with --class_bias min_recall: the validation recall one class must reach, e.g. neutral=0.45",
    )
    parser.add_argument(
        "--max_accuracy_drop", type=float, default=1.0, help="points of validation accuracy the offsets may cost"
    )
    parser.add_argument("--batch_size", type=int, default=64)
    return parser


def parse_min_recall(class_bias: str, spec: str | None, label2id: dict[str, int]) -> tuple[int, float] | None:
    """`--min_recall LABEL=FRACTION` as (class index, fraction); checked against `--class_bias`."""
    if class_bias != "min_recall":
        if spec is not None:
            raise SystemExit("calibrate: --min_recall goes with --class_bias min_recall.")
        return None
    label, _, fraction = (spec or "").partition("=")
    if not spec or label not in label2id:
        raise SystemExit(
            f"calibrate: --class_bias min_recall needs --min_recall LABEL=FRACTION with LABEL one of "
            f"{sorted(label2id)}, e.g. {sorted(label2id)[0]}=0.45; got {spec!r}."
        )
    try:
        value = float(fraction)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise SystemExit(f"calibrate: --min_recall {spec}: the fraction must lie in (0, 1], e.g. {label}=0.45.")
    return label2id[label], value


def model_logits(model: Any, tokenizer: Any, rows: Any, batch_size: int, desc: str = "calibrating") -> np.ndarray:
    """Uncalibrated logits of every row (the config's calibration is switched off meanwhile)."""
    from ..data import MultimodalCollator, tokenize_dataset
    from ..modeling.input_spec import InputSpec
    from .representations import run_model

    config = model.config
    spec = InputSpec.from_config(config, tokenizer)  # the inputs the model reads, emoji spelled out as it does
    saved = config.logit_temperature, config.class_logit_bias
    config.logit_temperature, config.class_logit_bias = 1.0, None
    try:
        encoded = tokenize_dataset(
            rows,
            tokenizer,
            image_views=list(spec.image_views),
            max_length=spec.max_length,
            separator=spec.view_separator,
            mode=spec.mode,
            emoji_as_words=spec.emoji_as_words,
        )
        logits, _ = run_model(model, encoded, MultimodalCollator(tokenizer), batch_size, desc=desc)
    finally:
        config.logit_temperature, config.class_logit_bias = saved
    return np.asarray(logits, dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    options, args = build_parser().parse_args_into_dataclasses(args=argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import multimodal_sentiment  # noqa: F401  (registers this package's models with the Auto classes)

    from ..data import get_split
    from ..data.options import load_dataset_from_options
    from ..data.schema import canonical_split
    from .evaluate import _label_ids_for_model

    model_dir = Path(args.model_dir)
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"calibrate: {model_dir} holds no config.json; pass a trained model folder.")
    data = load_dataset_from_options(options)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()  # a compact one loads its encoder itself

    min_recall = parse_min_recall(args.class_bias, args.min_recall, model.config.label2id)  # before the slow part
    validation = get_split(data, args.validation_split)
    val_logits = model_logits(model, tokenizer, validation, args.batch_size)
    val_labels = _label_ids_for_model(validation, model.config)
    calibration = fit_calibration(
        val_logits,
        val_labels,
        class_bias=args.class_bias,
        max_accuracy_drop=args.max_accuracy_drop / 100,
        min_recall=min_recall,
    )
    report: dict[str, Any] = {
        **calibration,
        "fitted_on": canonical_split(args.validation_split),
        "class_bias_objective": args.class_bias + (f" {args.min_recall}" if min_recall else ""),
        "max_accuracy_drop_points": args.max_accuracy_drop,
        "ece_bins": ECE_BINS,
        "validation": calibration_summary(val_logits, val_labels, calibration),
        "command": command_line("calibrate", argv),
    }
    model.config.logit_temperature = calibration["logit_temperature"]
    model.config.class_logit_bias = calibration["class_logit_bias"]
    _store_in_config(model_dir / "config.json", calibration)

    if args.test_split.lower() != "none":
        test = get_split(data, args.test_split)
        test_logits = model_logits(model, tokenizer, test, args.batch_size)
        test_labels = _label_ids_for_model(test, model.config)
        report["test"] = calibration_summary(test_logits, test_labels, calibration)
        _update_results(model_dir, model.config, test_logits, test_labels, calibration, report)
    write_json(model_dir / CALIBRATION_FILE, report)
    summary = report.get("test", report["validation"])
    print(
        f"{model_dir}: temperature {calibration['logit_temperature']}, offsets {calibration['class_logit_bias']}; "
        f"ECE {summary['ece_before']:.4f} -> {summary['ece_after']:.4f} on {summary['num_examples']} rows"
    )
    return 0


def _store_in_config(path: Path, calibration: dict[str, Any]) -> None:
    """Set the two fields in config.json and change nothing else (`save_pretrained` would also
    copy code files into the folder and rewrite its code references)."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["logit_temperature"] = calibration["logit_temperature"]
    config["class_logit_bias"] = calibration["class_logit_bias"]
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _update_results(
    model_dir: Path,
    config: Any,
    test_logits: np.ndarray,
    test_labels: np.ndarray,
    calibration: dict[str, Any],
    report: dict[str, Any],
) -> None:
    """Record the calibration in the run's results.json; with offsets the predictions change, so
    its metrics become the calibrated model's (the uncalibrated ones are kept beside them)."""
    from .metrics import HEADLINE_METRICS, classification_metrics

    path = model_dir / RESULTS_FILE
    if not path.is_file():
        return
    record = json.loads(path.read_text(encoding="utf-8"))
    label_names = [config.id2label[i] for i in range(config.num_labels)]
    record.setdefault("metrics_uncalibrated", record["metrics"])
    computed = classification_metrics(apply_calibration(test_logits, calibration).argmax(-1), test_labels, label_names)
    record["metrics"] = {key: computed[key] for key in (*HEADLINE_METRICS, "per_class")}
    record["calibration"] = {
        key: report[key] for key in ("logit_temperature", "class_logit_bias", "fitted_on", "class_bias_objective")
    } | {"ece_bins": ECE_BINS, "ece_before": report["test"]["ece_before"], "ece_after": report["test"]["ece_after"]}
    write_json(path, record)
