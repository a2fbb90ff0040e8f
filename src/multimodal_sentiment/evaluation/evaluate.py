"""`multimodal-sentiment evaluate MODEL_DIR [MODEL_DIR ...] --dataset PATH --split test`

Per model: results.json (metrics; see `results.py` for the schema), confusion_matrix.png, the
silhouette of the labels and cross-modal retrieval precision@k in results.json. For all models
together: tsne.png, one panel per model (e.g. the text-only baseline beside ERA).

From Python: `evaluate_models(model_dirs, DatasetOptions(...), EvaluationArguments(...))`, which
is what the command runs once `main` has parsed its argv.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from transformers import HfArgumentParser

from ..cli.args import add_dataclass_arguments, hf_argument_parser, options_from
from ..data import MultimodalCollator, dataset_display_name, get_split, tokenize_dataset
from ..data.coverage import (
    DEFAULT_MIN_VIEW_COVERAGE,
    LowViewCoverageError,
    check_view_coverage,
    format_coverage,
    view_coverage,
)
from ..data.options import DatasetOptions, load_dataset_from_options
from ..data.schema import VIEW_COLUMNS, canonical_split
from ..modeling.input_spec import InputSpec
from .metrics import predicted_ids
from .representations import plot_tsne, retrieval_precision_at_k, run_model, silhouette_by_label
from .results import command_line, read_training_record, write_evaluation

logger = logging.getLogger(__name__)

TOKENIZED_CACHE_FOLDER = "tokenized"  # inside the output folder unless --cache_dir


@dataclass
class EvaluationArguments:
    """How `evaluate` runs, besides the dataset (`DatasetOptions`) and the model folders: the
    command's other options, declared once here (`build_parser` makes them flags)."""

    split: str = field(default="test", metadata={"help": "train, validation (or dev), test"})
    output_dir: str | None = field(default=None, metadata={"help": "default: <first model>/eval-<dataset>-<split>"})
    batch_size: int = 64
    retrieval_k: list[int] = field(default_factory=lambda: [1, 5, 10])
    retrieval_views: list[str] | None = field(
        default=None,
        metadata={
            "choices": VIEW_COLUMNS,
            "help": "views forming the description for retrieval; default: the model's image_views (caption for "
            "text-only models)",
        },
    )
    tsne_max_points: int = field(default=2000, metadata={"help": "t-SNE on a random sample of this size"})
    tsne_max_iter: int = field(default=1000, metadata={"help": "t-SNE optimisation steps (at least 250)"})
    no_tsne: bool = field(default=False, metadata={"help": "skip the t-SNE map (the slowest part on CPU)"})
    no_retrieval: bool = False
    seed: int = field(default=0, metadata={"help": "t-SNE and sampling seed"})
    device: str | None = field(default=None, metadata={"help": "default: cuda when available, else cpu"})
    trust_remote_code: bool = field(default=False, metadata={"help": "for checkpoints of models not in this package"})
    quantize: str | None = field(
        default=None, metadata={"choices": ("int8",), "help": "dynamic int8 classifier on CPU, as pipeline(quantize='int8')"}
    )


def build_parser() -> HfArgumentParser:
    """The dataset options are `DatasetOptions`, the same dataclass `train` parses; the others
    are `EvaluationArguments`."""
    parser = hf_argument_parser(
        DatasetOptions,
        prog="multimodal-sentiment evaluate",
        description="Metrics, confusion matrix, t-SNE map and cross-modal retrieval of trained models on one split.",
    )
    parser.add_argument("model_dirs", nargs="+", help="saved model folder(s); with several, tsne.png compares them")
    add_dataclass_arguments(parser, EvaluationArguments)
    return parser


def parse_arguments(argv: Sequence[str]) -> tuple[list[str], DatasetOptions, EvaluationArguments]:
    """The model folders, the dataset options and the evaluation's own options."""
    options, namespace = build_parser().parse_args_into_dataclasses(args=list(argv))
    return list(namespace.model_dirs), options, options_from(EvaluationArguments, namespace)


def check_models_coverage(
    dataset: Any,
    split: str,
    model_dirs: Sequence[str],
    *,
    min_view_coverage: float = DEFAULT_MIN_VIEW_COVERAGE,
    allow_low_coverage: bool = False,
    trust_remote_code: bool = False,
) -> dict[str, dict[str, Any]]:
    """Per model folder, the coverage of the views its config reads on the evaluated split; raises
    `LowViewCoverageError` (before any model is loaded) when a view is too rare, unless allowed."""
    from transformers import AutoConfig

    import multimodal_sentiment  # noqa: F401  (registers this package's configs)

    coverages = {}
    for model_dir in model_dirs:
        config = AutoConfig.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
        views = list(getattr(config, "image_views", None) or [])
        coverage = view_coverage({split: dataset}, views, min_share=min_view_coverage, allow_low=allow_low_coverage)
        low = check_view_coverage(coverage, f"The model {model_dir}")
        if low:
            logger.warning("%s reads %s, but few rows carry them (--allow_low_coverage):\n%s", model_dir, views,
                           format_coverage(coverage))  # fmt: skip
        coverages[model_dir] = coverage
    return coverages


def short_names(model_dirs: Sequence[str]) -> list[str]:
    """Distinct names for model folders: as many trailing path parts as it takes
    (runs/text-only/seed1 and runs/era/seed1 -> text-only-seed1, era-seed1)."""
    parts = [Path(d).resolve().parts for d in model_dirs]
    for depth in range(1, max(map(len, parts)) + 1):
        names = ["-".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [f"model{i}" for i in range(len(model_dirs))]  # the same folder given twice


def _label_ids_for_model(dataset: Any, model_config: Any) -> np.ndarray:
    """The dataset's labels as the model's class ids, matched by name (orders may differ)."""
    data_names = dataset.features["label"].names
    model_names = [model_config.id2label[i] for i in range(model_config.num_labels)]
    if sorted(data_names) != sorted(model_names):
        raise ValueError(f"The model's labels {model_names} do not match the dataset's {data_names}.")
    to_model = np.array([model_names.index(name) for name in data_names])
    return to_model[np.asarray(dataset["label"])]


def evaluate_model(
    model_dir: str,
    dataset: Any,
    *,
    dataset_name: str,
    split: str,
    output_dir: Path,
    args: EvaluationArguments,
    command: str,
    coverage: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Evaluate one saved model; return its results record and its pooled vectors (row order).
    Tokenized rows are cached in `cache_dir` (default: `output_dir`/tokenized)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import multimodal_sentiment  # noqa: F401  (registers this package's models with the Auto classes)

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # A compact checkpoint loads its frozen encoder itself on the first forward.
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, trust_remote_code=args.trust_remote_code)
    model.to(device).eval()
    if args.quantize:  # --quantize int8: the accuracy cost of the pipeline's int8 path
        from ..modeling.quantization import check_quantizable, quantize_classifier

        check_quantizable(device)
        quantize_classifier(model)  # loads a compact checkpoint's frozen encoder first
    config = model.config
    spec = InputSpec.from_config(config, tokenizer)  # what the model reads, decided once from its config
    views = list(spec.image_views)
    labels = _label_ids_for_model(dataset, config)
    label_names = [config.id2label[i] for i in range(config.num_labels)]
    collator = MultimodalCollator(tokenizer)

    def encode(mode: str, image_views: Sequence[str], rows: Any = dataset) -> Any:
        return tokenize_dataset(
            rows,
            tokenizer,
            image_views=image_views,
            max_length=spec.max_length,
            separator=spec.view_separator,
            mode=mode,
            cache_dir=cache_dir or output_dir / TOKENIZED_CACHE_FOLDER,
            emoji_as_words=spec.emoji_as_words,
        )

    logits, pooled = run_model(
        model,
        encode(spec.mode, views),  # how this model reads a post: input_spec.py
        collator,
        args.batch_size,
        desc=f"{Path(model_dir).name}",
    )
    training = read_training_record(model_dir)
    representations: dict[str, Any] = {"silhouette_by_label": silhouette_by_label(pooled, labels)}
    if not args.no_retrieval:
        representations["retrieval"] = cross_modal_retrieval(
            model, dataset, labels, encode, collator, args, args.retrieval_views or views or ["caption"]
        )
    record = write_evaluation(
        output_dir,
        predictions=predicted_ids(logits),
        references=labels,
        label_names=label_names,
        model=str(model_dir),
        model_type=config.model_type,
        dataset=dataset_name,
        split=split,
        seed=training.get("hyperparameters", {}).get("seed"),
        command=command,
        preset=training.get("preset"),
        representations=representations,
        view_coverage=coverage,
    )
    return record, pooled


def cross_modal_retrieval(
    model: Any,
    dataset: Any,
    labels: np.ndarray,
    encode: Any,
    collator: Any,
    args: EvaluationArguments,
    views: Sequence[str],
) -> dict[str, Any]:
    """Precision@k of post text -> image description and back, from the pooled vectors of the
    text alone and of the description alone (one segment each); same label = hit. Rows without
    a description are left out (they have nothing to retrieve)."""
    described = [
        i for i, row in enumerate(dataset.select_columns(list(VIEW_COLUMNS))) if any(row.get(v) for v in views)
    ]
    if len(described) < 2:
        return {"views": list(views), "num_queries": len(described), "note": "fewer than 2 rows with a description"}
    rows = dataset.select(described)
    _, texts = run_model(model, encode("text", views, rows), collator, args.batch_size, desc="text alone")
    _, descriptions = run_model(
        model, encode("description", views, rows), collator, args.batch_size, desc="description alone"
    )
    kept = labels[described]
    return {
        "views": list(views),
        "num_queries": len(described),
        "text_to_description": retrieval_precision_at_k(texts, kept, descriptions, kept, args.retrieval_k),
        "description_to_text": retrieval_precision_at_k(descriptions, kept, texts, kept, args.retrieval_k),
    }


def evaluate_models(
    model_dirs: Sequence[str],
    options: DatasetOptions,
    args: EvaluationArguments | None = None,
    *,
    command: str = "",
) -> list[dict[str, Any]]:
    """What `multimodal-sentiment evaluate` does once its argv is parsed: evaluate each saved model
    on one split (`args.split`) of the dataset; writes each one's results.json and plots, and
    tsne.png of them all, under `args.output_dir`. Returns the results records, in order. Raises
    `LowViewCoverageError` before any model is loaded when a view a model reads is too rare."""
    args = args or EvaluationArguments()
    dataset_name = dataset_display_name(options.dataset)
    data = load_dataset_from_options(options)
    dataset = get_split(data, args.split)
    split = canonical_split(args.split)
    coverages = check_models_coverage(
        dataset,
        split,
        model_dirs,
        min_view_coverage=options.min_view_coverage,
        allow_low_coverage=options.allow_low_coverage,
        trust_remote_code=args.trust_remote_code,
    )
    output_dir = Path(args.output_dir or Path(model_dirs[0]) / f"eval-{dataset_name}-{split}")
    cache_dir = options.cache_dir or str(output_dir / TOKENIZED_CACHE_FOLDER)
    print(f"Tokenized rows cached in {cache_dir} (--cache_dir to move them)")
    # Plots colour by the dataset's label ids, so every panel shares one legend whatever each
    # model's label order (the silhouette does not depend on how labels are numbered).
    panels, labels, names = [], np.asarray(dataset["label"]), dataset.features["label"].names
    records = []
    for model_dir, name in zip(model_dirs, short_names(model_dirs), strict=True):
        folder = output_dir if len(model_dirs) == 1 else output_dir / name
        record, pooled = evaluate_model(
            model_dir,
            dataset,
            dataset_name=dataset_name,
            split=split,
            output_dir=folder,
            args=args,
            command=command,
            coverage=coverages[model_dir],
            cache_dir=cache_dir,
        )
        records.append(record)
        title = f"{name} ({record.get('preset') or record['model_type']})"
        panels.append((title, pooled, labels, record["representations"]["silhouette_by_label"]))
        metrics = record["metrics"]
        print(f"{model_dir}: accuracy {metrics['accuracy']:.4f}, weighted F1 {metrics['f1_weighted']:.4f} -> {folder}")
    if not args.no_tsne:
        plot_tsne(
            panels,
            names,
            output_dir / "tsne.png",
            seed=args.seed,
            max_points=args.tsne_max_points,
            max_iter=args.tsne_max_iter,
        )
    print(f"Wrote {output_dir}")
    return records


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    model_dirs, options, args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        evaluate_models(model_dirs, options, args, command=command_line("evaluate", argv))
    except LowViewCoverageError as error:
        print(f"multimodal-sentiment evaluate: {error}", file=sys.stderr)
        return 2
    return 0
