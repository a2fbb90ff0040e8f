"""Evaluation: the offline metric module against scikit-learn, retrieval precision@k on a
hand-built case, the `evaluate` command's files, and the results report."""

from __future__ import annotations

import json

import evaluate
import numpy as np
import pytest
import torch
from helpers import METRIC_KEYS, REPO_ROOT, RESULT_KEYS, write_mvsa
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, silhouette_score

from multimodal_sentiment import EraConfig, EraForSequenceClassification
from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.data import load_dataset_by_name
from multimodal_sentiment.evaluation.evaluate import short_names
from multimodal_sentiment.evaluation.metrics import METRIC_PATH
from multimodal_sentiment.evaluation.report import main as report_main
from multimodal_sentiment.evaluation.representations import retrieval_precision_at_k, silhouette_by_label
from multimodal_sentiment.evaluation.results import results_record
from multimodal_sentiment.modeling.text_pairs import compose_description, encode_text_pairs

# ---------------------------------------------------------------- metric module


def test_metric_module_loads_offline_and_matches_sklearn():
    metric = evaluate.load(str(METRIC_PATH))
    rng = np.random.default_rng(0)
    references, predictions = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    predictions[:5] = 0  # and no class is absent
    result = metric.compute(predictions=predictions, references=references, label_names=["neg", "neu", "pos"])
    assert result["accuracy"] == pytest.approx(accuracy_score(references, predictions))
    for average in ("weighted", "macro"):
        precision, recall, f1, _ = precision_recall_fscore_support(
            references, predictions, average=average, zero_division=0
        )
        assert result[f"f1_{average}"] == pytest.approx(f1)
        assert result[f"precision_{average}"] == pytest.approx(precision)
        assert result[f"recall_{average}"] == pytest.approx(recall)
    precision, recall, f1, support = precision_recall_fscore_support(references, predictions, zero_division=0)
    for i, name in enumerate(["neg", "neu", "pos"]):
        assert result["per_class"][name] == pytest.approx(
            {"precision": precision[i], "recall": recall[i], "f1": f1[i], "support": int(support[i])}
        )


def test_metric_module_keeps_a_row_for_a_class_nobody_has():
    result = evaluate.load(str(METRIC_PATH)).compute(predictions=[0, 0], references=[0, 1], label_names=["a", "b", "c"])
    assert result["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert result["accuracy"] == 0.5


# ---------------------------------------------------------------- representations


def test_retrieval_precision_at_k_on_a_hand_built_case():
    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    keys = np.array([[1.0, 0.1], [0.9, 0.5], [0.0, 1.0], [0.2, 1.0]])
    query_labels, key_labels = [0, 1], [0, 1, 1, 0]
    # Cosine order for query 0: keys 0, 1, 3, 2 (labels 0 1 0 1); for query 1: keys 2, 3, 1, 0 (labels 1 0 1 0).
    expected = {"p@1": 1.0, "p@2": 0.5, "p@3": 2 / 3, "p@10": 0.5}  # k=10 is capped at the 4 keys
    assert retrieval_precision_at_k(queries, query_labels, keys, key_labels, [1, 2, 3, 10]) == pytest.approx(expected)
    scaled = retrieval_precision_at_k(3 * queries, query_labels, 5 * keys, key_labels, [1, 2, 3, 10])
    assert scaled == pytest.approx(expected)  # cosine: the vectors' lengths do not matter


def test_silhouette_by_label():
    vectors = np.random.default_rng(1).normal(size=(12, 5))
    labels = [0, 1, 2] * 4
    assert silhouette_by_label(vectors, labels) == pytest.approx(silhouette_score(vectors, labels, metric="cosine"))
    assert silhouette_by_label(vectors, [1] * 12) is None


# ---------------------------------------------------------------- the evaluate command


@pytest.fixture
def mvsa_dir(tmp_path):
    # Test split: ids 10..15; id 15 has no caption.
    return write_mvsa(tmp_path / "mvsa-multiple", sizes=(6, 3, 6))


@pytest.fixture
def text_only_dir(tiny_encoder_config, tokenizer, tmp_path):
    """A tiny text-only model (no description, plain mean pooling)."""
    torch.manual_seed(1)
    config = EraConfig(
        encoder_config=tiny_encoder_config.to_dict(),
        token_top_k=0,
        image_views=[],
        captioner=None,
        uniformity_weight=0.0,
        special_token_ids=sorted(set(tokenizer.all_special_ids)),
    )
    folder = tmp_path / "tiny-text-only"
    EraForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_evaluate_two_models_writes_results_plots_and_retrieval(
    tmp_path, mvsa_dir, tiny_era_dir, text_only_dir, tiny_era, tokenizer
):
    out = tmp_path / "eval"
    argv = ["evaluate", str(text_only_dir), str(tiny_era_dir), "--dataset", str(mvsa_dir), "--output_dir", str(out),
            "--retrieval_k", "1", "3", "--tsne_max_iter", "250", "--cache_dir", str(tmp_path / "cache")]  # fmt: skip
    assert cli_main(argv) == 0
    assert (out / "tsne.png").stat().st_size > 0
    era = json.loads((out / "tiny-era" / "results.json").read_text())
    assert RESULT_KEYS <= set(era) and set(era["metrics"]) == METRIC_KEYS
    assert (
        era["dataset"] == "mvsa-multiple"
        and era["split"] == "test"
        and era["num_examples"] == 6
        and era["seed"] is None
    )
    assert era["model_type"] == "era-multimodal-sentiment" and era["command"] == "multimodal-sentiment " + " ".join(
        argv
    )
    assert (out / "tiny-era" / "confusion_matrix.png").stat().st_size > 0
    assert (out / "tiny-text-only" / "confusion_matrix.png").stat().st_size > 0

    # The metrics are those of the model on the shared (text, caption) encoding of the test rows.
    test = load_dataset_by_name(mvsa_dir)["test"]
    descriptions = [compose_description({"caption": c}, ["caption"]) for c in test["caption"]]
    batch = encode_text_pairs(tokenizer, list(test["text"]), descriptions, 128, padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = tiny_era(**batch).logits.argmax(-1).numpy()
    assert era["metrics"]["accuracy"] == pytest.approx(float((predicted == np.asarray(test["label"])).mean()))

    representations = era["representations"]
    assert representations["silhouette_by_label"] is not None
    retrieval = representations["retrieval"]
    assert retrieval["views"] == ["caption"] and retrieval["num_queries"] == 5  # the row without a caption is left out
    for direction in ("text_to_description", "description_to_text"):
        assert set(retrieval[direction]) == {"p@1", "p@3"} and all(0 <= v <= 1 for v in retrieval[direction].values())
    text_only = json.loads((out / "tiny-text-only" / "results.json").read_text())
    assert text_only["representations"]["retrieval"]["views"] == ["caption"]  # text-only model: caption by default


def test_short_names_are_distinct():
    assert short_names(["runs/text-only/seed1", "runs/era/seed1"]) == ["text-only-seed1", "era-seed1"]
    assert short_names(["a/x", "b/y"]) == ["x", "y"]


def test_evaluate_one_model_default_output_and_switches(tmp_path, mvsa_dir, tiny_era_dir):
    argv = ["evaluate", str(tiny_era_dir), "--dataset", str(mvsa_dir), "--split", "dev", "--no_tsne", "--no_retrieval",
            "--cache_dir", str(tmp_path / "cache")]  # fmt: skip
    assert cli_main(argv) == 0
    out = tiny_era_dir / "eval-mvsa-multiple-validation"
    results = json.loads((out / "results.json").read_text())
    assert (
        results["split"] == "validation"
        and results["num_examples"] == 3
        and "retrieval" not in results["representations"]
    )
    assert not (out / "tsne.png").exists() and (out / "confusion_matrix.png").exists()


def test_evaluate_models_from_python_and_the_default_builds_metric_check(tmp_path, mvsa_dir, tiny_era_dir):
    """`evaluate_models` takes typed options (no argv); `default_model.build` checks the shipped
    weights' metrics through it and refuses a drift."""
    from multimodal_sentiment.data.options import DatasetOptions
    from multimodal_sentiment.default_model.build import check_shipped_metrics
    from multimodal_sentiment.evaluation.evaluate import EvaluationArguments, evaluate_models

    options = DatasetOptions(dataset=str(mvsa_dir), cache_dir=str(tmp_path / "cache"))
    settings = EvaluationArguments(output_dir=str(tmp_path / "eval"), no_tsne=True, no_retrieval=True)
    (record,) = evaluate_models([str(tiny_era_dir)], options, settings)
    assert record == json.loads((tmp_path / "eval" / "results.json").read_text())
    assert record["split"] == "test" and record["num_examples"] == 6
    run = {"split": "test", "metrics": record["metrics"]}
    shipped = check_shipped_metrics(tiny_era_dir, run, str(mvsa_dir), tmp_path / "work")
    assert shipped == {name: record["metrics"][name] for name in ("accuracy", "f1_weighted")}
    drifted = {"split": "test", "metrics": {**record["metrics"], "accuracy": record["metrics"]["accuracy"] - 0.1}}
    with pytest.raises(ValueError, match="storing the trained layers in float16 changed the model"):
        check_shipped_metrics(tiny_era_dir, drifted, str(mvsa_dir), tmp_path / "work2")


def test_evaluate_refuses_a_model_with_other_labels(tmp_path, mvsa_dir, tiny_encoder_config, tokenizer):
    config = EraConfig(encoder_config=tiny_encoder_config.to_dict(), id2label={0: "sad", 1: "glad"}, captioner=None)
    folder = tmp_path / "two-labels"
    EraForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with pytest.raises(ValueError, match=r"model's labels \['sad', 'glad'\] do not match the dataset's"):
        cli_main(["evaluate", str(folder), "--dataset", str(mvsa_dir), "--no_tsne", "--cache_dir", str(tmp_path / "c")])


# ---------------------------------------------------------------- report


def _record(preset: str, seed: int, accuracy: float, f1: float) -> dict:
    metrics = {
        "accuracy": accuracy,
        "f1_weighted": f1,
        "f1_macro": f1,
        "precision_weighted": f1,
        "recall_weighted": f1,
        "per_class": {},
    }
    return results_record(model=f"runs/{preset}/seed{seed}", model_type="era-multimodal-sentiment", dataset="mvsa-multiple",
                          split="test", seed=seed, metrics=metrics, num_examples=1700, preset=preset, wall_time_s=600.0,
                          command=f"multimodal-sentiment train --preset {preset} --seed {seed}")  # fmt: skip


def test_report_mean_std_anchors_and_commands(tmp_path):
    runs = [
        ("text-only", 1, 0.70, 0.67),
        ("text-only", 2, 0.71, 0.68),
        ("text-only", 3, 0.72, 0.69),
        ("era-caption-ocr", 1, 0.73, 0.705),
    ]
    for preset, seed, accuracy, f1 in runs:
        path = tmp_path / "runs" / preset / f"seed{seed}" / "results.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(_record(preset, seed, accuracy, f1)))
    output = tmp_path / "results.md"
    output.write_text("# Results\n\nProse before.\n")
    assert report_main([str(tmp_path / "runs"), "--output", str(output)]) == 0
    text = output.read_text()
    # _record sets macro F1 = weighted F1 and no per-class figures: no neutral recall, no ECE.
    assert "| text-only | 1, 2, 3 | 71.00 ± 1.00 | 68.00 ± 1.00 | 68.00 ± 1.00 | – | – | 10.0 |" in text
    assert "| era-caption-ocr | 1 | 73.00 | 70.50 | 70.50 | – | – | 10.0 |" in text
    assert text.index("era-caption-ocr |") < text.index("text-only |")  # best weighted F1 first
    assert "| CLMLF (Li et al., NAACL Findings 2022) (published) | – | 72.00 | 69.83 | – | – | – | – |" in text
    assert "| MDSE (published) | – | 72.31 | 70.12 | – | – | – | – |" in text
    assert "| era-caption-ocr | text-only | 1 | 3.00 | 3.50 | 3.50 |" in text  # minus text-only, seed 1
    assert "`multimodal-sentiment train --preset text-only --seed 2`" in text
    # A second report replaces its block and keeps the rest of the page.
    output.write_text(text + "\nProse after.\n")
    assert report_main([str(tmp_path / "runs" / "text-only"), "--output", str(output)]) == 0
    again = output.read_text()
    assert "Prose after." in again and again.count("results:begin") == 1 and "era-caption-ocr" not in again


def test_report_subtracts_the_same_encoder_baseline_seed_by_seed(tmp_path):
    # era-mpnet seeds 1-3 against text-only-mpnet seeds 1-2: only the shared seeds are paired,
    # and the MiniLM text-only row is not the mpnet flagship's baseline.
    runs = [
        ("era-mpnet", 1, 0.72, 0.70), ("era-mpnet", 2, 0.71, 0.69), ("era-mpnet", 3, 0.90, 0.90),
        ("text-only-mpnet", 1, 0.70, 0.69), ("text-only-mpnet", 2, 0.70, 0.66),
        ("text-only", 1, 0.50, 0.50),
    ]  # fmt: skip
    for preset, seed, accuracy, f1 in runs:
        path = tmp_path / "runs" / preset / f"seed{seed}" / "results.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(_record(preset, seed, accuracy, f1)))
    output = tmp_path / "results.md"
    assert report_main([str(tmp_path / "runs"), "--output", str(output)]) == 0
    paired = output.read_text().split("Minus the text-only baseline on the same encoder")[1].split("Commands:")[0]
    # accuracy +2, +1 -> 1.50 ± 0.71; weighted (= macro) F1 +1, +3 -> 2.00 ± 1.41
    assert "| era-mpnet | text-only-mpnet | 1, 2 | 1.50 ± 0.71 | 2.00 ± 1.41 | 2.00 ± 1.41 |" in paired
    assert "| era-mpnet | text-only |" not in paired and paired.count("| era-mpnet |") == 1


def test_report_says_how_far_each_goal_is(tmp_path):
    # The flagship's targets (GOALS) against the files: a mean over seeds, a seed-by-seed margin
    # over the same-encoder baseline, and ECE (at most); fewer than three seeds are marked.
    runs = [
        ("era-mpnet", 1, 0.72, 0.70), ("era-mpnet", 2, 0.71, 0.69), ("era-mpnet", 3, 0.76, 0.74),
        ("text-only-mpnet", 1, 0.70, 0.69), ("text-only-mpnet", 2, 0.70, 0.66),
    ]  # fmt: skip
    for preset, seed, accuracy, f1 in runs:
        record = _record(preset, seed, accuracy, f1)
        if preset == "era-mpnet":
            record["metrics"]["f1_macro"] = 0.58
            record["calibration"] = {
                "logit_temperature": 1.0, "class_logit_bias": None, "ece_before": 0.1, "ece_after": 0.02 * seed,
            }  # fmt: skip
        path = tmp_path / "runs" / preset / f"seed{seed}" / "results.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
    output = tmp_path / "results.md"
    assert report_main([str(tmp_path / "runs"), "--output", str(output)]) == 0
    goals = output.read_text().split("Goals (issue 12")[1].split("Commands:")[0]
    # accuracy (72 + 71 + 76) / 3 = 73.00 and weighted F1 71.00: both met
    assert "| era-mpnet, accuracy (%) | ≥ 72.50 | 73.00 | 1, 2, 3 | – | yes |" in goals
    assert "| era-mpnet, weighted F1 (%) | ≥ 70.50 | 71.00 | 1, 2, 3 | – | yes |" in goals
    # margins over seeds 1 and 2 only: accuracy +2, +1 -> 1.50 (met); weighted F1 +1, +3 -> 2.00
    assert "| era-mpnet minus text-only-mpnet, accuracy (points) | ≥ 1.50 | 1.50 | 1, 2 | – | yes (on 2 of 3 seeds) |" in goals
    assert "| era-mpnet minus text-only-mpnet, weighted F1 (points) | ≥ 1.50 | 2.00 | 1, 2 | – | yes (on 2 of 3 seeds) |" in goals
    # A miss says by how much: macro F1 58 on every seed, 2 points short of 60.
    assert "| era-mpnet, macro F1 (%) | ≥ 60.00 | 58.00 | 1, 2, 3 | 2.00 | no |" in goals
    # ECE 0.02, 0.04, 0.06 -> 0.040 <= 0.05
    assert "| era-mpnet, ECE calibrated | ≤ 0.050 | 0.040 | 1, 2, 3 | – | yes |" in goals
    # Without seed 3 the means fall short, by the difference.
    (tmp_path / "runs" / "era-mpnet" / "seed3").joinpath("results.json").unlink()
    assert report_main([str(tmp_path / "runs"), "--output", str(output)]) == 0
    goals = output.read_text().split("Goals (issue 12")[1].split("Commands:")[0]
    assert "| era-mpnet, accuracy (%) | ≥ 72.50 | 71.50 | 1, 2 | 1.00 | no (on 2 of 3 seeds) |" in goals
    assert "| era-mpnet, weighted F1 (%) | ≥ 70.50 | 69.50 | 1, 2 | 1.00 | no (on 2 of 3 seeds) |" in goals


def test_report_counts_a_run_evaluated_twice_once(tmp_path, capsys):
    run = tmp_path / "runs" / "text-only" / "seed1"
    (run / "eval-mvsa-multiple-test").mkdir(parents=True)
    first = _record("text-only", 1, 0.70, 0.67) | {"date": "2026-11-24T03:00:00+00:00"}
    again = _record("text-only", 1, 0.70, 0.67) | {"date": "2026-11-24T04:00:00+00:00"}
    (run / "results.json").write_text(json.dumps(first))
    (run / "eval-mvsa-multiple-test" / "results.json").write_text(json.dumps(again))
    output = tmp_path / "results.md"
    assert report_main([str(tmp_path / "runs"), "--output", str(output)]) == 0
    assert "| text-only | 1 | 70.00 | 67.00 | 67.00 | – | – | 10.0 |" in output.read_text()
    assert "text-only seed 1 appears twice; using " + str(run / "eval-mvsa-multiple-test" / "results.json") in (
        capsys.readouterr().out
    )


def test_report_neutral_recall_calibration_and_label_columns(tmp_path):
    # Neutral recall from per_class, the calibrated ECE, and MSED's emotion runs as their own
    # table (the label column read from the command of records that do not name it).
    calibrated = _record("era-mpnet", 1, 0.75, 0.72)
    calibrated["metrics"]["per_class"] = {"neutral": {"precision": 0.5, "recall": 0.45, "f1": 0.47, "support": 440}}
    calibrated["calibration"] = {
        "logit_temperature": 1.3, "class_logit_bias": None, "fitted_on": "validation", "ece_before": 0.08,
        "ece_after": 0.031,
    }  # fmt: skip
    plain = _record("era-mpnet", 2, 0.73, 0.70)
    plain["metrics"]["per_class"] = {"neutral": {"precision": 0.5, "recall": 0.35, "f1": 0.4, "support": 440}}
    emotion = _record("text-only", 1, 0.80, 0.79) | {"dataset": "msed"}
    emotion["command"] += " --label_column emotion"
    sentiment = _record("text-only", 1, 0.85, 0.84) | {"dataset": "msed"}
    for name, record in {"a": calibrated, "b": plain, "c": emotion, "d": sentiment}.items():
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "results.json").write_text(json.dumps(record))
    # The kept checkpoint's validation figures come from the training record beside results.json.
    evaluations = [
        {"eval_accuracy": 0.70, "eval_f1_weighted": 0.66, "eval_f1_macro": 0.55, "step": 1},
        {"eval_accuracy": 0.69, "eval_f1_weighted": 0.68, "eval_f1_macro": 0.58, "step": 2},
    ]
    (tmp_path / "runs" / "a" / "training_record.json").write_text(
        json.dumps({"hyperparameters": {"metric_for_best_model": "f1_weighted"}, "evaluations": evaluations})
    )
    output = tmp_path / "results.md"
    assert report_main([str(tmp_path / "runs"), "--output", str(output)]) == 0
    text = output.read_text()
    validation = text.split("### mvsa-multiple, test split")[1].split("Validation split, the checkpoint each run kept")[1]
    assert "| era-mpnet | 1 | 69.00 | 68.00 | 58.00 |" in validation.split("Commands:")[0]
    assert "| era-mpnet | 1, 2 | 74.00 ± 1.41 | 71.00 ± 1.41 | 71.00 ± 1.41 | 40.00 ± 7.07 | 0.031 (1 of 2) | 10.0 |" in text
    assert "  - calibrated on validation: temperature 1.3, class offsets None; ECE 0.080 -> 0.031" in text
    emotion_table = text.split("### msed (emotion), test split")[1].split("###")[0]
    assert "| text-only | 1 | 80.00 | 79.00 |" in emotion_table
    assert "| ERA paper (arXiv 2606.09148) (published) | – | – | 87.09 | – | – | – | – |" in emotion_table
    sentiment_table = text.split("### msed, test split")[1].split("###")[0]
    assert "| text-only | 1 | 85.00 | 84.00 |" in sentiment_table and "89.46" in sentiment_table


def collected_result_folders() -> list[str]:
    """The per-dataset folders of experiments/results/ (not the `compare-*` evaluate outputs)."""
    root = REPO_ROOT / "experiments" / "results"
    return sorted(str(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith("compare-"))


def test_docs_results_table_is_the_report_of_the_collected_results(tmp_path):
    # The figures in docs/results.md must be what `report` makes of experiments/results/,
    # never typed by hand: regenerating the block must change nothing.
    docs = REPO_ROOT / "docs" / "results.md"
    copy = tmp_path / "results.md"
    copy.write_text(docs.read_text())
    assert report_main([*collected_result_folders(), "--output", str(copy)]) == 0
    assert copy.read_text() == docs.read_text(), "run `bash experiments/collect_results.sh` to regenerate"
