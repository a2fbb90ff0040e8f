"""`multimodal-sentiment train`: fine-tune ERA (or MISR) with the Hugging Face Trainer.

    multimodal-sentiment train --preset era-caption-ocr --dataset ../shared/data/mvsa-multiple \\
        --output_dir runs/era-caption-ocr/seed42 --seed 42

Options: this module's ModelArguments / DataArguments / RunArguments, `distillation.py`'s
DistillationArguments (`--distill_from` a teacher) plus every `transformers.TrainingArguments` field. Defaults differ from the Trainer's where the task
needs it: evaluate and save every epoch, keep the best checkpoint on the validation split by
weighted F1, lr 5e-5 with 10% linear warm-up, batch 32, 3 epochs, no external loggers.

A run resumes from the last checkpoint in output_dir; a run whose results.json exists is
skipped. At the end the best model and tokenizer are saved in output_dir, the test split is
evaluated into results.json and confusion_matrix.png, and training_record.json holds the
hyper-parameters, training-set statistics, per-epoch metrics and versions for the model card.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, HfArgumentParser, Trainer, TrainingArguments, set_seed

from ..cli.args import hf_argument_parser
from ..data import MultimodalCollator, dataset_display_name, get_split, tokenize_dataset
from ..data.coverage import LowViewCoverageError, check_view_coverage, format_coverage, view_coverage
from ..data.options import load_dataset_from_options
from ..data.schema import canonical_split
from ..evaluation.metrics import preprocess_logits_for_metrics, trainer_metrics
from ..evaluation.results import RESULTS_FILE, command_line, write_evaluation
from ..modeling.input_spec import InputSpec
from ..modeling.modeling_common import resolve_encoder_source
from .arguments import DataArguments, ModelArguments, RunArguments, apply_preset
from .callbacks import TrainingRecordCallback, dataset_statistics, hyperparameters
from .checkpoints import checkpoint_problem, last_complete_checkpoint, remove_incomplete_checkpoints
from .distillation import (
    TEACHER_COLUMN,
    TEACHER_LOGITS_FILE,
    DistillationArguments,
    DistillationTrainer,
    teacher_logits,
)
from .progress import TimedProgressCallback

logger = logging.getLogger(__name__)

TOKENIZED_CACHE_FOLDER = "tokenized"  # inside output_dir unless --cache_dir
TRAINING_DEFAULTS: dict[str, Any] = {
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "load_best_model_at_end": True,
    "metric_for_best_model": "f1_weighted",
    "greater_is_better": True,
    "save_total_limit": 2,
    "learning_rate": 5e-5,
    "warmup_steps": 0.1,
    "num_train_epochs": 3.0,
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 64,
    "logging_steps": 50,
    "report_to": "none",
}
ERA_ONLY_FIELDS = (
    "token_top_k", "token_gate", "uniformity_weight", "uniformity_type", "selector_hidden_size", "class_weights",
    "encoder_trained_layers",
)  # fmt: skip


def build_parser() -> HfArgumentParser:
    parser = hf_argument_parser((ModelArguments, DataArguments, RunArguments, TrainingArguments, DistillationArguments))
    parser.prog = "multimodal-sentiment train"
    # set_defaults keeps every default overridable from the command line (and shows it in --help).
    # Pinned memory only helps copies to an accelerator; without one torch warns on every loader.
    parser.set_defaults(**TRAINING_DEFAULTS, dataloader_pin_memory=accelerator_available())
    return parser


def accelerator_available() -> bool:
    import torch

    accelerator = getattr(torch, "accelerator", None)
    return bool(accelerator.is_available() if accelerator is not None else torch.cuda.is_available())


def align_special_tokens(model: Any, tokenizer: Any) -> None:
    """Give the model's config the tokenizer's PAD/BOS/EOS ids, as the Trainer would (with a
    warning on every run) if they differed: the pad token is set once, consistently."""
    configs = [model.config.get_text_config()]
    if getattr(model, "generation_config", None) is not None:
        configs.append(model.generation_config)
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is None:
            continue
        for config in configs:
            current = getattr(config, name, None)
            if value != current and not (isinstance(current, list) and value in current):
                setattr(config, name, value)


def resolve_class_weights(spec: str | None, labels: Sequence[int], num_labels: int) -> list[float] | None:
    """`--class_weights`: None, 'balanced' (n / (k * count), from the training labels) or 'w0,w1,...'."""
    if spec is None:
        return None
    if spec == "balanced":
        counts = Counter(labels)
        missing = [i for i in range(num_labels) if not counts[i]]
        if missing:
            raise ValueError(f"--class_weights balanced: labels {missing} never occur in the training split.")
        return [len(labels) / (num_labels * counts[i]) for i in range(num_labels)]
    try:
        return [float(w) for w in spec.split(",")]
    except ValueError:
        raise ValueError(f"--class_weights must be 'balanced' or comma-separated numbers, got {spec!r}.") from None


def build_model(
    model_args: ModelArguments,
    data_args: DataArguments,
    label_names: list[str],
    tokenizer: Any,
    train_labels: Sequence[int] = (),
) -> Any:
    """A fresh ERA or MISR classifier around the pretrained encoder."""
    config_kwargs: dict[str, Any] = {
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: i for i, name in enumerate(label_names)},
        "image_views": list(data_args.image_views),
        "view_separator": data_args.view_separator,
        "max_input_tokens": data_args.max_length,
    }
    chosen = {name: getattr(model_args, name) for name in (*ERA_ONLY_FIELDS, "classifier_dropout")}
    config_kwargs.update({k: v for k, v in chosen.items() if v is not None})
    if chosen["class_weights"] is not None:
        config_kwargs["class_weights"] = resolve_class_weights(chosen["class_weights"], train_labels, len(label_names))
    config_kwargs.update(json.loads(model_args.model_config or "{}"))
    if model_args.model_kind == "era":
        from ..modeling.modeling_era import EraForSequenceClassification as model_class
    else:
        misused = [name for name in ERA_ONLY_FIELDS if chosen[name] is not None]
        if misused:
            raise ValueError(f"{misused} are ERA settings; MISR takes its own through --model_config JSON.")
        from ..modeling.modeling_misr import MisrForSequenceClassification as model_class
    model = model_class.from_encoder(model_args.encoder_name_or_path, tokenizer=tokenizer, **config_kwargs)
    align_special_tokens(model, tokenizer)
    return model


def _split_name(role: str, data_args: DataArguments) -> str:
    """The dataset's name of the split a run uses as `train`, `eval` or `test`."""
    return {"train": data_args.train_split, "eval": data_args.eval_split, "test": data_args.test_split}[role]


def _resume_checkpoint(training_args: TrainingArguments, run_args: RunArguments) -> str | None:
    """The checkpoint to resume from: the one asked for (refused if incomplete), else the newest
    complete one in output_dir; incomplete ones (a kill during a save) are removed by rank 0."""
    if training_args.resume_from_checkpoint:
        problem = checkpoint_problem(training_args.resume_from_checkpoint)
        if problem:
            raise ValueError(
                f"--resume_from_checkpoint {training_args.resume_from_checkpoint}: not a complete checkpoint ({problem})."
            )
        return training_args.resume_from_checkpoint
    output_dir = Path(training_args.output_dir)
    if run_args.auto_resume and output_dir.is_dir():
        checkpoint = last_complete_checkpoint(output_dir)
        if training_args.process_index == 0:
            remove_incomplete_checkpoints(output_dir)
        return checkpoint
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if (
        not any(a == "--output_dir" or a.startswith("--output_dir=") for a in argv)
        and "-h" not in argv
        and "--help" not in argv
    ):
        parser.error("--output_dir is required (one folder per preset and seed, e.g. runs/text-only/seed1)")
    model_args, data_args, run_args, training_args, distill_args = parser.parse_args_into_dataclasses(args=argv)
    apply_preset(model_args, data_args, run_args)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    output_dir = Path(training_args.output_dir)
    command = command_line("train", argv)
    if run_args.skip_finished and (output_dir / RESULTS_FILE).is_file():
        print(f"{output_dir / RESULTS_FILE} exists: this run is finished (pass --no_skip_finished to redo it).")
        return 0

    # Seed before the model exists: the head and selector are initialised in build_model.
    set_seed(training_args.seed)
    data = load_dataset_from_options(data_args)
    train_set = get_split(data, data_args.train_split)
    label_names = list(train_set.features["label"].names)
    splits = {"train": train_set}
    if training_args.eval_strategy != "no":
        splits["eval"] = get_split(data, data_args.eval_split)
    if data_args.test_split:
        splits["test"] = get_split(data, data_args.test_split)
    # Before anything heavy: the views the model reads must be in the data (or accepted as low).
    coverage = view_coverage(
        {canonical_split(_split_name(name, data_args)): ds for name, ds in splits.items()},
        data_args.image_views,
        min_share=data_args.min_view_coverage,
        allow_low=data_args.allow_low_coverage,
    )
    reader = f"--preset {run_args.preset}" if run_args.preset else "This run"
    try:
        low = check_view_coverage(coverage, reader)
    except LowViewCoverageError as error:
        print(f"multimodal-sentiment train: {error}", file=sys.stderr)
        return 2
    if low:
        logger.warning(
            "%s reads %s, but few rows carry %s; going on (--allow_low_coverage):\n%s",
            reader,
            data_args.image_views,
            ", ".join(f"{view} in {split}" for split, view in low),
            format_coverage(coverage),
        )
    else:
        logger.info("Rows with each image view:\n%s", format_coverage(coverage))

    tokenizer = AutoTokenizer.from_pretrained(
        resolve_encoder_source(model_args.tokenizer_name_or_path or model_args.encoder_name_or_path)
    )
    model = build_model(model_args, data_args, label_names, tokenizer, train_set["label"])

    cache_dir = Path(data_args.cache_dir) if data_args.cache_dir else output_dir / TOKENIZED_CACHE_FOLDER
    print(f"Tokenized splits cached in {cache_dir} (--cache_dir to move them)", flush=True)
    # Under torchrun / accelerate the main process writes the tokenization cache, the others read it.
    with training_args.main_process_first(desc="tokenization"):
        tokenized = {
            name: tokenize_dataset(
                ds,
                tokenizer,
                image_views=data_args.image_views,
                max_length=data_args.max_length,
                separator=data_args.view_separator,
                mode=InputSpec.from_config(model.config).mode,  # how this model reads a post
                cache_dir=cache_dir,
                emoji_as_words=bool(getattr(model.config, "emoji_as_words", False)),
            )
            for name, ds in splits.items()
        }
    distillation = None
    if distill_args.distill_from:
        soft = teacher_logits(distill_args.distill_from, train_set, label_names, output_dir / TEACHER_LOGITS_FILE)
        tokenized["train"] = tokenized["train"].add_column(TEACHER_COLUMN, soft.tolist())
        distillation = {
            "teacher": distill_args.distill_from,
            "weight": distill_args.distill_weight,
            "temperature": distill_args.distill_temperature,
        }

    record = TrainingRecordCallback(
        {
            "preset": run_args.preset,
            "model_kind": model_args.model_kind,
            "model_type": model.config.model_type,
            "encoder": model_args.encoder_name_or_path,
            "dataset": dataset_display_name(data_args.dataset),
            "label_column": data_args.label_column or "label",
            "command": command,
            "hyperparameters": hyperparameters(training_args, model.config),
            "train_set": dataset_statistics(train_set),
            "view_coverage": coverage,
            "distillation": distillation,
        }
    )
    trainer_class, distill_kwargs = Trainer, {}
    if distillation:
        trainer_class = DistillationTrainer
        distill_kwargs = {
            "distill_weight": distill_args.distill_weight,
            "distill_temperature": distill_args.distill_temperature,
        }
    trainer = trainer_class(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized.get("eval"),
        processing_class=tokenizer,
        data_collator=MultimodalCollator(tokenizer),
        compute_metrics=trainer_metrics(label_names),
        preprocess_logits_for_metrics=preprocess_logits_for_metrics,
        callbacks=[record, TimedProgressCallback(run_args.progress_interval)],
        **distill_kwargs,
    )
    checkpoint = _resume_checkpoint(training_args, run_args)
    if checkpoint:
        logger.info("Resuming from %s", checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model()  # the best model (load_best_model_at_end) and its tokenizer
    trainer.save_state()

    final: dict[str, Any] = {"resumed_from_checkpoint": checkpoint}
    # Every process takes part in predict (it gathers across processes); only the first writes.
    prediction = trainer.predict(tokenized["test"], metric_key_prefix="test") if "test" in tokenized else None
    if not trainer.is_world_process_zero():
        return 0
    if prediction is not None:
        test_split = canonical_split(data_args.test_split)
        results = write_evaluation(
            output_dir,
            predictions=prediction.predictions.reshape(-1),
            references=prediction.label_ids,
            label_names=label_names,
            model=str(output_dir),
            model_type=model.config.model_type,
            dataset=dataset_display_name(data_args.dataset),
            split=canonical_split(data_args.test_split),
            seed=training_args.seed,
            command=command,
            preset=run_args.preset,
            wall_time_s=record.wall_time(),
            view_coverage={**coverage, "splits": {k: v for k, v in coverage["splits"].items() if k == test_split}},
            distilled_from=distill_args.distill_from,  # its own row in `report`
        )
        final["test_metrics"] = metrics = results["metrics"]
        print(
            f"test accuracy {metrics['accuracy']:.4f}, weighted F1 {metrics['f1_weighted']:.4f} -> {output_dir / RESULTS_FILE}"
        )
    record.write(training_args, trainer.state, final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
