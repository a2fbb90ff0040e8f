"""Model card generator: metadata, model-index from results files, text, template as package data."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml
from huggingface_hub import ModelCard

from multimodal_sentiment.model_card import (
    ResultsFileError,
    build_model_card,
    load_results,
    write_model_card,
)

CONFIG = {
    "model_type": "era-multimodal-sentiment",
    "encoder_config": {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2},
    "encoder_name_or_path": "sentence-transformers/all-MiniLM-L6-v2",
    "token_top_k": 4,
    "captioner": "Salesforce/blip-image-captioning-base",
    "captioner_prompt": "a picture of",
    "id2label": {"0": "negative", "1": "neutral", "2": "positive"},
    "auto_map": {"AutoConfig": "configuration_era.EraConfig"},
    "custom_pipelines": {"multimodal-sentiment": {"impl": "pipeline_multimodal_sentiment.MultimodalSentimentPipeline"}},
}


def _result(seed: int | None, accuracy: float, dataset: str = "mvsa-single", split: str = "test") -> dict:
    return {
        "model": "runs/era",
        "model_type": "era-multimodal-sentiment",
        "dataset": dataset,
        "split": split,
        "seed": seed,
        "num_examples": 450,
        "metrics": {
            "accuracy": accuracy,
            "f1_weighted": accuracy - 0.013,
            "f1_macro": accuracy - 0.1,
            "precision_weighted": accuracy + 0.002,
            "recall_weighted": accuracy,
            "per_class": {"negative": {"precision": 0.5, "recall": 0.4, "f1": 0.44, "support": 50}},
        },
        "command": "multimodal-sentiment evaluate runs/era --split test",
        "date": "2026-07-01T10:00:00+00:00",
        "machine": "Linux x86_64, 2 CPU cores, no GPU",
        "versions": {"torch": "2.13.0", "transformers": "5.23.0"},
    }


def _write(tmp_path, name: str, data: dict):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_card_metadata_and_model_index_come_from_the_results_file(tmp_path):
    results = load_results([_write(tmp_path, "r.json", _result(13, 0.8231))])
    card = build_model_card(CONFIG, repo_id="org/era-small", revision="v1.0", results=results, datasets=["mvsa-single"])
    card.save(tmp_path / "README.md")

    loaded = ModelCard.load(tmp_path / "README.md")  # survives the huggingface_hub parser
    meta = _front_matter((tmp_path / "README.md").read_text())
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert {"multimodal-sentiment", "custom_code"} <= set(meta["tags"])
    assert meta["license"] == "apache-2.0"
    assert meta["base_model"] == ["sentence-transformers/all-MiniLM-L6-v2"]
    assert meta["datasets"] == ["mvsa-single"]

    (entry,) = meta["model-index"][0]["results"]
    assert entry["dataset"] == {"name": "mvsa-single", "type": "mvsa-single", "split": "test"}
    values = {(m["type"], m.get("config")): m["value"] for m in entry["metrics"]}
    expected = results[0]["metrics"]
    assert values[("accuracy", None)] == expected["accuracy"]
    assert values[("f1", "weighted")] == expected["f1_weighted"]
    assert values[("f1", "macro")] == expected["f1_macro"]
    assert values[("precision", "weighted")] == expected["precision_weighted"]
    assert values[("recall", "weighted")] == expected["recall_weighted"]
    assert [r.metric_value for r in loaded.data.eval_results][0] == expected["accuracy"]

    text = loaded.text
    assert 'revision="v1.0"' in text and 'model="org/era-small"' in text and "trust_remote_code=True" in text
    assert "82.31" in text  # the table shows the file's number, in %
    assert "bsd-3-clause" in text and "Salesforce/blip-image-captioning-base" in text
    assert "arXiv:2606.09148" in text and "14743--14755" in text  # both papers cited
    assert "multimodal-sentiment evaluate runs/era --split test" in text  # provenance
    assert "has not been evaluated" not in text


def test_card_without_results_says_not_evaluated_and_has_no_model_index(tmp_path):
    card = build_model_card(CONFIG)
    meta = _front_matter(str(card))
    assert "model-index" not in meta and "metrics" not in meta
    assert "This model has not been evaluated" in card.text
    assert "<commit sha or tag>" in card.text  # no pin known: the card says how to pin


def test_several_seeds_give_mean_and_std_and_every_number_is_from_a_file(tmp_path):
    paths = [_write(tmp_path, f"r{s}.json", _result(s, a)) for s, a in ((1, 0.80), (2, 0.82), (3, 0.84))]
    paths.append(_write(tmp_path, "msed.json", _result(1, 0.90, dataset="msed")))
    runs = load_results(paths)
    card = build_model_card(CONFIG, repo_id="org/era", revision="abc", results=runs)
    meta = _front_matter(str(card))
    by_dataset = {r["dataset"]["name"]: r for r in meta["model-index"][0]["results"]}
    accuracies = sorted(m["value"] for m in by_dataset["mvsa-single"]["metrics"] if m["type"] == "accuracy")
    assert accuracies == [0.80, 0.82, 0.84]
    assert {m["args"]["seed"] for m in by_dataset["mvsa-single"]["metrics"]} == {1, 2, 3}
    assert "82.00 ± 2.00" in card.text  # mean ± sample std over the three seeds, in %
    assert "(3 runs)" in card.text and "msed" in card.text
    assert "these weights" not in card.text  # no training record: which seed is unknown


def test_the_exported_seed_is_marked_among_several(tmp_path):
    runs = load_results([_write(tmp_path, f"r{s}.json", _result(s, a)) for s, a in ((1, 0.80), (2, 0.82))])
    runs[1]["calibration"] = {"logit_temperature": 0.9, "class_logit_bias": None, "ece_before": 0.05, "ece_after": 0.03}
    info = {"hyperparameters": {"seed": 2, "learning_rate": 2e-5}}
    text = build_model_card(CONFIG, results=runs, training_info=info).text
    assert "| seed 2 (these weights) | 450 | 82.00 |" in text and "| seed 1 | 450 | 80.00 |" in text
    assert "| seed 2 (these weights) | 0.9 |" in text  # the calibration table says it too
    # One run only: nothing to tell apart, no marker.
    single = build_model_card(CONFIG, results=runs[1:], training_info=info).text
    assert "these weights" not in single


def test_a_baseline_is_shown_with_this_model_minus_it_seed_by_seed(tmp_path):
    runs = load_results([_write(tmp_path, f"r{s}.json", _result(s, a)) for s, a in ((1, 0.80), (2, 0.82), (3, 0.84))])
    baseline = [_result(s, a) | {"preset": "text-only"} for s, a in ((1, 0.79), (2, 0.83))]
    card = build_model_card(CONFIG, results=runs, baseline_results=load_results(
        [_write(tmp_path, f"b{i}.json", b) for i, b in enumerate(baseline)]))
    text = card.text
    section = text.split("### Against the baseline `text-only` (mvsa-single, split `test`)")[1].split("## Limitations")[0]
    assert "| baseline, seed 1 | 79.00 | 77.70 | 69.00 |" in section
    assert "| baseline, mean ± std (2 runs) | 81.00 ± 2.83 |" in section
    # Only seeds 1 and 2 pair: accuracy +1, -1 -> +0.00 ± 1.41 (seed 3 has no baseline).
    assert "| this model minus the baseline, seed by seed (seeds 1, 2; points) | +0.00 ± 1.41 | +0.00 ± 1.41 | +0.00 ± 1.41 |" in section
    assert "Baseline commands:" in section and "- seed 1: `multimodal-sentiment evaluate runs/era --split test`" in section
    # The model-index metadata is this model's only.
    meta = _front_matter(str(card))
    assert sorted(m["value"] for r in meta["model-index"][0]["results"] for m in r["metrics"] if m["type"] == "accuracy") == [0.80, 0.82, 0.84]
    # A baseline of a dataset this card has no results for would compare nothing: refused, named.
    with pytest.raises(ResultsFileError, match="Baseline results are for msed, split 'test'.*--results"):
        build_model_card(CONFIG, results=runs, baseline_results=[_result(1, 0.5, dataset="msed")])
    assert "Against the baseline" not in build_model_card(CONFIG, results=runs).text


def test_training_info_is_read_with_whatever_keys_exist(tmp_path):
    info = {
        "hyperparameters": {"learning_rate": 5e-5, "num_train_epochs": 3},
        "evaluations": [{"epoch": 1.0, "step": 10, "eval_accuracy": 0.7}, {"epoch": 2.0, "step": 20, "eval_accuracy": 0.75}],
        "train_set": {"num_examples": 120, "label_counts": {"negative": 40, "neutral": 40, "positive": 40},
                      "label_examples": {"negative": ["a private tweet text"]}},
        "train_wall_time_s": 12.5,
        "versions": {"torch": "2.13.0"},
        "best_model_checkpoint": "/home/someone/runs/checkpoint-20",
    }
    text = build_model_card(CONFIG, training_info=info).text
    assert "learning_rate: `5e-05`" in text and "num_train_epochs: `3`" in text
    assert "| 2 | 20 | 0.75 |" in text  # per-epoch evaluation table
    assert "negative: 40" in text and "train_wall_time_s: 12.5" in text
    assert "a private tweet text" not in text and "/home/someone" not in text  # never published
    # Nothing required: an empty or unrelated record still renders.
    assert "No training information" in build_model_card(CONFIG, training_info={}).text
    assert "foo: bar" in build_model_card(CONFIG, training_info={"foo": "bar"}).text


@pytest.mark.parametrize(
    "data, message",
    [
        ({"dataset": "x", "split": "test"}, r"missing \['metrics'\]"),
        ({"dataset": "x", "split": "test", "metrics": {"f1_macro": 0.5}}, "at least `accuracy`"),
        ({"dataset": "x", "split": "test", "metrics": {"accuracy": "high"}}, "must be a finite number"),
    ],
)
def test_bad_results_files_fail_with_the_file_and_the_problem(tmp_path, data, message):
    path = _write(tmp_path, "bad.json", data)
    with pytest.raises(ResultsFileError, match=message) as error:
        load_results([path])
    assert "bad.json" in str(error.value)
    with pytest.raises(ResultsFileError, match="does not exist"):
        load_results([tmp_path / "missing.json"])


def test_results_of_another_model_type_are_refused():
    other = dict(_result(1, 0.7), model_type="misr-multimodal-sentiment")
    with pytest.raises(ResultsFileError, match="model_type 'misr-multimodal-sentiment'"):
        build_model_card(CONFIG, results=[other])


def test_write_model_card_lists_the_code_files_and_template_ships_as_package_data(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "modeling_era.py").write_text('"""ERA models: the classifier."""\n')
    (tmp_path / "pipeline_multimodal_sentiment.py").write_text('"""The multimodal-sentiment pipeline."""\n')
    path = write_model_card(tmp_path, repo_id="org/x", revision="0" * 40)
    text = path.read_text()
    assert "| `modeling_era.py` | ERA models: the classifier. |" in text
    assert "`pipeline_multimodal_sentiment.py`" in text and "custom_pipelines" in text
    assert resources.files("multimodal_sentiment.model_card").joinpath("template.md").is_file()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        write_model_card(tmp_path / "empty")


def test_calibrated_results_show_temperature_offsets_and_ece(tmp_path):
    calibrated = _result(1, 0.70) | {
        "calibration": {"logit_temperature": 1.1652, "class_logit_bias": [0.0, 0.25, 0.0], "ece_before": 0.0402,
                        "ece_after": 0.0145, "fitted_on": "validation"},
    }  # fmt: skip
    text = build_model_card(CONFIG, results=[calibrated]).text
    assert "fitted on the validation split, stored in `config.json`" in text
    row = next(line for line in text.splitlines() if "1.1652" in line)
    assert "[0.0, 0.25, 0.0]" in row and "0.0402" in row and "0.0145" in row
    assert "Calibration (" not in build_model_card(CONFIG, results=[_result(1, 0.70)]).text
