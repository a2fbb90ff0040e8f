"""Knowledge distillation: a small model also learns a trained teacher's calibrated probabilities.

    multimodal-sentiment train --preset era-top-layer --distill_from runs/mvsa-multiple/era-mpnet/seed1 \\
        --dataset ../shared/data/mvsa-multiple --output_dir runs/mvsa-multiple/era-top-layer-distilled/seed1

The teacher reads the training split once, the way it reads posts (its own tokenizer and input
spec), with its stored calibration (temperature and class offsets) applied; its logits are cached in
output_dir so a resumed run does not pay for them again. The loss becomes
`(1 - distill_weight) * the model's own loss + distill_weight * T^2 * KL(teacher_T || student_T)`
with both distributions softened by `distill_temperature` T (Hinton et al., 2015). Evaluation and
test are the student's alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Trainer

TEACHER_COLUMN = "teacher_logits"
TEACHER_LOGITS_FILE = "teacher_logits.npy"  # in output_dir


@dataclass
class DistillationArguments:
    distill_from: str | None = field(
        default=None,
        metadata={
            "help": "a trained model folder (same labels) whose calibrated probabilities the model also learns, "
            "e.g. the flagship; off by default"
        },
    )
    distill_weight: float = field(
        default=0.5, metadata={"help": "share of the loss taken by the teacher's probabilities"}
    )
    distill_temperature: float = field(default=2.0, metadata={"help": "softens teacher and student alike"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.distill_weight <= 1.0:
            raise ValueError(f"--distill_weight must lie in [0, 1], got {self.distill_weight}.")
        if self.distill_temperature <= 0:
            raise ValueError(f"--distill_temperature must be positive, got {self.distill_temperature}.")


def teacher_logits(teacher_dir: str | Path, rows: Any, label_names: list[str], cache_file: Path) -> np.ndarray:
    """The teacher's calibrated logits for every row of `rows`, computed once and cached in `cache_file`."""
    if cache_file.is_file():
        cached = np.load(cache_file)
        if cached.shape == (len(rows), len(label_names)):
            return cached
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..evaluation.calibration import apply_calibration, model_logits

    folder = Path(teacher_dir)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"--distill_from {teacher_dir}: no config.json there; pass a trained model folder.")
    teacher = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    teacher_labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
    if teacher_labels != list(label_names):
        raise ValueError(
            f"--distill_from {teacher_dir}: the teacher's labels {teacher_labels} differ from this dataset's "
            f"{list(label_names)}; distil from a model trained on the same labels."
        )
    raw = model_logits(teacher, AutoTokenizer.from_pretrained(folder), rows, batch_size=64, desc="teacher logits")
    calibration = {
        "class_logit_bias": teacher.config.class_logit_bias,
        "logit_temperature": float(teacher.config.logit_temperature or 1.0),
    }
    logits = apply_calibration(raw, calibration).astype(np.float32)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    partial = cache_file.with_suffix(".partial.npy")  # atomic: a killed run leaves no half-written cache
    np.save(partial, logits)
    os.replace(partial, cache_file)
    return logits


class DistillationTrainer(Trainer):
    """`Trainer` whose training loss also matches the teacher's probabilities (rows carrying
    `teacher_logits`); batches without that column (evaluation) keep the model's own loss."""

    def __init__(self, *args: Any, distill_weight: float, distill_temperature: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.distill_weight = distill_weight
        self.distill_temperature = distill_temperature

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if TEACHER_COLUMN not in self._signature_columns:  # else the Trainer drops the column
            self._signature_columns.append(TEACHER_COLUMN)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher = inputs.pop(TEACHER_COLUMN, None)
        outputs = model(**inputs)
        loss = outputs.loss
        if teacher is not None:
            t = self.distill_temperature
            student = F.log_softmax(outputs.logits.float() / t, dim=-1)
            target = F.softmax(teacher.to(student.device, torch.float32) / t, dim=-1)
            matched = F.kl_div(student, target, reduction="batchmean") * t * t
            loss = (1.0 - self.distill_weight) * loss + self.distill_weight * matched
        return (loss, outputs) if return_outputs else loss
