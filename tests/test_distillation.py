"""`train --distill_from TEACHER`: the teacher's calibrated logits over the training split (cached),
the distillation loss, refusal of a teacher with other labels, and a tiny end-to-end run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import tiny_era_classifier
from test_training import smoke_args

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.data import get_split
from multimodal_sentiment.data.options import DatasetOptions, load_dataset_from_options
from multimodal_sentiment.evaluation.calibration import model_logits
from multimodal_sentiment.evaluation.report import row_name
from multimodal_sentiment.evaluation.results import TRAINING_RECORD_FILE
from multimodal_sentiment.training.distillation import (
    TEACHER_COLUMN,
    TEACHER_LOGITS_FILE,
    DistillationArguments,
    DistillationTrainer,
    teacher_logits,
)

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture
def calibrated_teacher_dir(tokenizer, tiny_encoder_config, tmp_path):
    """A tiny ERA teacher whose config stores a temperature and class offsets."""
    teacher = tiny_era_classifier(
        tokenizer, tiny_encoder_config, logit_temperature=2.0, class_logit_bias=[0.0, 0.7, 0.0]
    )
    folder = tmp_path / "teacher"
    teacher.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def train_rows(mvsa_dir):
    return get_split(load_dataset_from_options(DatasetOptions(dataset=str(mvsa_dir))), "train")


def test_teacher_logits_are_calibrated_and_cached(calibrated_teacher_dir, train_rows, tokenizer, tmp_path):
    from transformers import AutoModelForSequenceClassification

    cache = tmp_path / "out" / TEACHER_LOGITS_FILE
    logits = teacher_logits(calibrated_teacher_dir, train_rows, LABELS, cache)
    teacher = AutoModelForSequenceClassification.from_pretrained(calibrated_teacher_dir).eval()
    raw = model_logits(teacher, tokenizer, train_rows, batch_size=4)
    assert logits.shape == (len(train_rows), 3)
    np.testing.assert_allclose(logits, (raw + np.array([0.0, 0.7, 0.0])) / 2.0, rtol=1e-5, atol=1e-5)
    assert np.array_equal(np.load(cache), logits)
    # A resumed run reads the cache: the teacher folder is not opened again.
    again = teacher_logits(tmp_path / "no-such-teacher", train_rows, LABELS, cache)
    assert np.array_equal(again, logits)


def test_a_teacher_with_other_labels_is_refused(tokenizer, tiny_encoder_config, train_rows, tmp_path):
    teacher = tiny_era_classifier(tokenizer, tiny_encoder_config, id2label={0: "sad", 1: "calm", 2: "glad"})
    teacher.save_pretrained(tmp_path / "teacher")
    tokenizer.save_pretrained(tmp_path / "teacher")
    with pytest.raises(ValueError, match=r"labels \['sad', 'calm', 'glad'\] differ from this dataset's"):
        teacher_logits(tmp_path / "teacher", train_rows, LABELS, tmp_path / TEACHER_LOGITS_FILE)
    with pytest.raises(FileNotFoundError, match="no config.json there"):
        teacher_logits(tmp_path / "missing", train_rows, LABELS, tmp_path / "other.npy")


def test_distillation_loss_mixes_label_loss_and_softened_kl(tiny_era, tokenizer):
    encoded = tokenizer(["what a day", "the bus was late again"], padding=True, return_tensors="pt")
    labels = torch.tensor([2, 0])
    with torch.no_grad():
        own = tiny_era(**encoded, labels=labels)

    def loss(weight: float, teacher: torch.Tensor) -> float:
        trainer = SimpleNamespace(distill_weight=weight, distill_temperature=2.0)
        inputs = {**encoded, "labels": labels, TEACHER_COLUMN: teacher}
        with torch.no_grad():
            return float(DistillationTrainer.compute_loss(trainer, tiny_era, inputs))

    other = torch.tensor([[3.0, 0.0, -1.0], [0.0, 2.0, 0.0]])
    kl = F.kl_div(F.log_softmax(own.logits / 2.0, -1), F.softmax(other / 2.0, -1), reduction="batchmean") * 4.0
    assert loss(0.0, other) == pytest.approx(float(own.loss), rel=1e-5)
    assert loss(1.0, own.logits) == pytest.approx(0.0, abs=1e-6)  # the teacher's own answer costs nothing
    assert loss(0.5, other) == pytest.approx(0.5 * float(own.loss) + 0.5 * float(kl), rel=1e-5)
    assert float(kl) > 0.01


def test_distillation_arguments_are_checked():
    with pytest.raises(ValueError, match="--distill_weight must lie in"):
        DistillationArguments(distill_weight=1.5)
    with pytest.raises(ValueError, match="--distill_temperature must be positive"):
        DistillationArguments(distill_temperature=0)


def test_a_distilled_run_records_its_teacher(calibrated_teacher_dir, tiny_encoder_dir, mvsa_dir, tmp_path, monkeypatch):
    seen = []  # per loss call: did the teacher's logits reach it (the Trainer drops unknown columns)?
    compute_loss = DistillationTrainer.compute_loss

    def spy(self, model, inputs, *args, **kwargs):
        seen.append(TEACHER_COLUMN in inputs and model.training)
        return compute_loss(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(DistillationTrainer, "compute_loss", spy)
    output_dir = tmp_path / "student"
    argv = smoke_args(
        tiny_encoder_dir, mvsa_dir, output_dir, "--preset", "era-top-layer", "--max_steps", "2",
        "--distill_from", str(calibrated_teacher_dir), "--distill_weight", "0.7",
    )  # fmt: skip
    assert cli_main(argv) == 0
    record = json.loads((output_dir / TRAINING_RECORD_FILE).read_text())
    assert record["distillation"] == {"teacher": str(calibrated_teacher_dir), "weight": 0.7, "temperature": 2.0}
    assert np.load(output_dir / TEACHER_LOGITS_FILE).shape == (12, 3)
    assert record["global_step"] == 2 and (output_dir / "results.json").is_file()
    assert seen.count(True) == 2  # both training steps saw the teacher, evaluation did not
    results = json.loads((output_dir / "results.json").read_text())
    assert results["distilled_from"] == str(calibrated_teacher_dir)
    assert row_name(results) == "era-top-layer (distilled)"  # not averaged with the undistilled preset's seeds
    assert row_name({k: v for k, v in results.items() if k != "distilled_from"}) == "era-top-layer"
