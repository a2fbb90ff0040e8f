"""Calibrated scores: ECE, temperature and class offsets fitted on validation, stored in the config,
applied by the model outside training, and the `calibrate` command end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import write_mvsa

from multimodal_sentiment import EraConfig
from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.evaluation.calibration import (
    choose_class_bias,
    choose_recall_bias,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    parse_min_recall,
    softmax,
)


def test_ece_by_hand():
    # Three rows in three different bins: |1 - 0.9|, |0 - 0.6|, |1 - 0.7|, each weighted 1/3.
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    assert expected_calibration_error(probabilities, np.array([0, 1, 1])) == pytest.approx((0.1 + 0.6 + 0.3) / 3)
    # Perfectly calibrated bins give 0: two rows at confidence 0.5, one right, one wrong.
    assert expected_calibration_error(np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 1])) == pytest.approx(0.0)


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(20000, 3)) * 1.5
    labels = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    fitted = fit_temperature(3.0 * true_logits, labels)  # logits three times too sharp
    assert fitted == pytest.approx(3.0, rel=0.08)
    before = expected_calibration_error(softmax(3.0 * true_logits), labels)
    after = expected_calibration_error(softmax(3.0 * true_logits / fitted), labels)
    assert after < 0.02 < before


def test_class_bias_by_hand():
    # Label-1 rows lose to class 0 by 0.2; an offset of +0.25 on class 1 (the smallest on the
    # 0.05 grid that wins the argmax outright) makes every prediction right.
    logits = np.array([[1.0, 0.0, -1.0]] * 4 + [[0.5, 0.3, -1.0]] * 4 + [[0.0, 0.0, 2.0]] * 2)
    labels = np.array([0] * 4 + [1] * 4 + [2] * 2)
    bias = choose_class_bias(logits, labels, max_accuracy_drop=0.0)
    assert bias == [0.0, 0.25, 0.0]
    assert ((logits + np.array(bias)).argmax(-1) == labels).all()


def test_class_bias_never_costs_more_accuracy_than_allowed():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 3))
    labels = rng.choice(3, size=300, p=[0.6, 0.3, 0.1])
    logits[np.arange(300), labels] += 0.8
    base = (logits.argmax(-1) == labels).mean()
    for drop in (0.0, 0.02):
        bias = np.array(choose_class_bias(logits, labels, max_accuracy_drop=drop))
        assert (((logits + bias).argmax(-1) == labels).mean()) >= base - drop - 1e-9


def test_fit_calibration_rejects_unknown_objective():
    with pytest.raises(ValueError, match="class_bias must be one of 'none', 'macro_f1', 'min_recall', got 'recall'"):
        fit_calibration(np.zeros((2, 3)), np.array([0, 1]), class_bias="recall")
    with pytest.raises(ValueError, match="go together"):
        fit_calibration(np.zeros((2, 3)), np.array([0, 1]), class_bias="min_recall")


def test_recall_bias_reaches_the_recall_at_the_best_accuracy():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(400, 3))
    labels = rng.choice(3, size=400, p=[0.1, 0.3, 0.6])
    logits[np.arange(400), labels] += 0.9
    logits[:, 1] -= 0.8  # a model that under-says class 1
    neutral = labels == 1
    recall = lambda b: ((logits + b).argmax(-1)[neutral] == 1).mean()  # noqa: E731
    accuracy = lambda b: ((logits + b).argmax(-1) == labels).mean()  # noqa: E731
    assert recall(np.zeros(3)) < 0.45
    bias = np.array(choose_recall_bias(logits, labels, 1, 0.45))
    assert recall(bias) >= 0.45 and bias[1] > 0
    # No offset on class 1 alone (the 0.05 grid) that reaches the recall is more accurate.
    for value in np.round(np.arange(0, 3.0001, 0.05), 2):
        alone = np.array([0.0, value, 0.0])
        if recall(alone) >= 0.45:
            assert accuracy(bias) >= accuracy(alone) - 1e-12
    assert fit_calibration(logits, labels, class_bias="min_recall", min_recall=(1, 0.45))["class_logit_bias"] == list(bias)
    with pytest.raises(ValueError, match="never occurs"):
        choose_recall_bias(logits[:5], np.zeros(5, dtype=int), 1, 0.5)


def test_min_recall_flag_is_checked_before_any_work():
    label2id = {"negative": 0, "neutral": 1, "positive": 2}
    assert parse_min_recall("min_recall", "neutral=0.45", label2id) == (1, 0.45)
    assert parse_min_recall("macro_f1", None, label2id) is None
    with pytest.raises(SystemExit, match=r"LABEL one of \['negative', 'neutral', 'positive'\], e.g. negative=0.45; got 'calm=0.4'"):
        parse_min_recall("min_recall", "calm=0.4", label2id)
    with pytest.raises(SystemExit, match="must lie in"):
        parse_min_recall("min_recall", "neutral=45", label2id)
    with pytest.raises(SystemExit, match="goes with --class_bias min_recall"):
        parse_min_recall("none", "neutral=0.4", label2id)


def test_config_validates_and_round_trips(tmp_path, tiny_encoder_config):
    with pytest.raises(ValueError, match="logit_temperature must be positive, got 0"):
        EraConfig(encoder_config=tiny_encoder_config.to_dict(), logit_temperature=0)
    with pytest.raises(ValueError, match=r"class_logit_bias needs one offset per label \(3\), got \[1.0\]"):
        EraConfig(encoder_config=tiny_encoder_config.to_dict(), class_logit_bias=[1.0])
    config = EraConfig(encoder_config=tiny_encoder_config.to_dict(), logit_temperature=1.7, class_logit_bias=[0, 1, 0])
    config.save_pretrained(tmp_path)
    loaded = EraConfig.from_pretrained(tmp_path)
    assert (loaded.logit_temperature, loaded.class_logit_bias) == (1.7, [0, 1, 0])


def test_model_applies_calibration_outside_training_only(tiny_era, tokenizer):
    for module in tiny_era.modules():  # no dropout: train and eval mode then differ only by calibration
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    batch = tokenizer(["great day", "awful day"], ["a beach", "rain"], padding=True, return_tensors="pt")
    with torch.no_grad():
        raw = tiny_era(**batch).logits
        tiny_era.config.logit_temperature, tiny_era.config.class_logit_bias = 2.0, [0.0, 1.0, -0.5]
        calibrated = tiny_era(**batch).logits
        tiny_era.train()
        in_training = tiny_era(**batch).logits
    expected = (raw + torch.tensor([0.0, 1.0, -0.5])) / 2.0
    torch.testing.assert_close(calibrated, expected)
    torch.testing.assert_close(in_training, raw)


def test_calibrate_command(tmp_path, tiny_era_dir):
    data = write_mvsa(tmp_path / "mvsa-multiple", sizes=(6, 12, 9))
    (tiny_era_dir / "results.json").write_text(
        json.dumps({"metrics": {"accuracy": 0.0}, "dataset": "mvsa-multiple", "split": "test"}), encoding="utf-8"
    )
    files_before = sorted(p.name for p in tiny_era_dir.iterdir())
    argv = ["calibrate", str(tiny_era_dir), "--dataset", str(data), "--class_bias", "macro_f1"]
    assert cli_main(argv) == 0
    # Only config.json changes (in place) and calibration.json is added: no code files copied in.
    assert sorted(p.name for p in tiny_era_dir.iterdir()) == sorted([*files_before, "calibration.json"])
    config = json.loads((tiny_era_dir / "config.json").read_text())
    report = json.loads((tiny_era_dir / "calibration.json").read_text())
    results = json.loads((tiny_era_dir / "results.json").read_text())
    assert config["logit_temperature"] == report["logit_temperature"] > 0
    assert config["class_logit_bias"] == report["class_logit_bias"] and len(report["class_logit_bias"]) == 3
    assert report["fitted_on"] == "validation" and report["validation"]["num_examples"] == 12
    assert report["test"]["num_examples"] == 9
    assert results["metrics_uncalibrated"] == {"accuracy": 0.0}
    assert set(results["calibration"]) >= {"ece_before", "ece_after", "logit_temperature", "class_logit_bias"}
    assert results["calibration"]["ece_after"] == report["test"]["ece_after"]
    assert results["metrics"]["accuracy"] == pytest.approx(report["test"]["accuracy_after"])

    argv = ["calibrate", str(tiny_era_dir), "--dataset", str(data), "--class_bias", "min_recall", "--min_recall", "neutral=0.5"]
    assert cli_main(argv) == 0
    report = json.loads((tiny_era_dir / "calibration.json").read_text())
    assert report["class_bias_objective"] == "min_recall neutral=0.5"
