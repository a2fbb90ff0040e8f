"""A TrainerCallback that keeps the facts a model card needs in a JSON beside the model
(after setfit's CardData: nothing in a card is typed by hand)."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset, Image
from transformers import TrainerCallback

from ..data.schema import VIEW_COLUMNS
from ..evaluation.results import TRAINING_RECORD_FILE, library_versions, write_json

# Config fields worth a line in a card, for whichever model kind has them.
CARD_CONFIG_FIELDS = (
    "token_top_k",
    "token_gate",
    "uniformity_weight",
    "uniformity_type",
    "uniformity_temperature",
    "selector_hidden_size",
    "classifier_dropout",
    "latent_size",
    "kl_weight",
    "environments",
    "invariance_type",
    "invariance_weight",
    "env_loss",
    "image_views",
    "view_separator",
    "max_input_tokens",
    "encoder_name_or_path",
)
TRAINING_FIELDS = (
    "learning_rate",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "warmup_steps",
    "weight_decay",
    "lr_scheduler_type",
    "optim",
    "seed",
    "data_seed",
    "metric_for_best_model",
    "fp16",
    "bf16",
)


def dataset_statistics(dataset: Dataset, examples_per_label: int = 2) -> dict[str, Any]:
    """Size, label distribution, text length in words, coverage of images and views, examples."""
    names = dataset.features["label"].names
    labels = dataset["label"]
    counts = Counter(labels)
    words = [len((text or "").split()) for text in dataset["text"]] or [0]
    images = dataset.cast_column("image", Image(decode=False))["image"] if "image" in dataset.column_names else []
    examples: dict[str, list[str]] = {name: [] for name in names}
    for text, label in zip(dataset["text"], labels, strict=True):
        if label is not None and len(examples[names[label]]) < examples_per_label:
            examples[names[label]].append(text)
    return {
        "num_examples": len(dataset),
        "label_counts": {name: counts.get(i, 0) for i, name in enumerate(names)},
        "text_words": {"min": min(words), "median": statistics.median(words), "max": max(words)},
        "with_image": sum(image is not None for image in images),
        "with_view": {v: sum(bool(x) for x in dataset[v]) for v in VIEW_COLUMNS if v in dataset.column_names},
        "label_examples": examples,
    }


class TrainingRecordCallback(TrainerCallback):
    """Writes `training_record.json` into output_dir after every evaluation and at the end.

    It holds the hyper-parameters, the training-set statistics, every evaluation (from the
    Trainer's log history, so it survives a resume), the best checkpoint, the wall time summed
    over resumed sessions, and library versions. `extra` entries are merged in at each write.
    """

    def __init__(self, record: dict[str, Any]):
        self.record = dict(record)
        self._started: float | None = None
        self._ended: float | None = None
        self._previous_wall_time = 0.0

    def _path(self, args: Any) -> Path:
        return Path(args.output_dir) / TRAINING_RECORD_FILE

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.monotonic()
        path = self._path(args)
        if state.global_step and path.is_file():
            # A resumed run: keep counting the time the earlier sessions spent.
            self._previous_wall_time = json.loads(path.read_text(encoding="utf-8")).get("train_wall_time_s", 0.0)
        self.record["resumed_from_step"] = state.global_step or None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if state.is_world_process_zero:
            self.write(args, state)

    def on_train_end(self, args, state, control, **kwargs):
        self._ended = time.monotonic()
        if state.is_world_process_zero:
            self.write(args, state)

    def wall_time(self) -> float:
        # Training time only: the final test evaluation is not part of it.
        running = (self._ended or time.monotonic()) - self._started if self._started is not None else 0.0
        return round(self._previous_wall_time + running, 1)

    def write(self, args: Any, state: Any, extra: dict[str, Any] | None = None) -> Path:
        self.record.update(extra or {})
        evaluations: Sequence[dict[str, Any]] = [e for e in state.log_history if any(k.startswith("eval_") for k in e)]
        self.record.update(
            {
                "global_step": state.global_step,
                "epoch": state.epoch,
                "evaluations": list(evaluations),
                "best_metric": state.best_metric,
                "best_model_checkpoint": state.best_model_checkpoint,
                "train_wall_time_s": self.wall_time(),
                "versions": library_versions(),
            }
        )
        return write_json(self._path(args), self.record)


def hyperparameters(training_args: Any, config: Any) -> dict[str, Any]:
    values = {name: getattr(training_args, name) for name in TRAINING_FIELDS if hasattr(training_args, name)}
    values.update({name: getattr(config, name) for name in CARD_CONFIG_FIELDS if hasattr(config, name)})
    return {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}
