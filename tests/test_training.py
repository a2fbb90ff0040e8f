"""`multimodal-sentiment train`: presets, defaults, a 3-step smoke run that ends in a results
JSON and a loadable model, resume from a checkpoint, skipping finished runs, MISR."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from helpers import METRIC_KEYS, RESULT_KEYS
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertModel

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.evaluation.results import RESULTS_FILE, TRAINING_RECORD_FILE
from multimodal_sentiment.training.arguments import PRESETS, apply_preset
from multimodal_sentiment.training.train import build_parser


def smoke_args(encoder, data, output_dir, *extra: str) -> list[str]:
    """A few steps, evaluating and checkpointing at every step, tiny batches."""
    return [
        "train", "--dataset", str(data), "--encoder_name_or_path", str(encoder), "--output_dir", str(output_dir),
        "--max_steps", "3", "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8",
        "--eval_strategy", "steps", "--save_strategy", "steps", "--eval_steps", "1", "--save_steps", "1",
        "--logging_steps", "1", "--max_length", "48", "--cache_dir", str(output_dir.parent / "token-cache"),
        "--dataloader_pin_memory", "False", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def era_run(tmp_path_factory, tiny_encoder_dir, mvsa_dir):
    """One 3-step ERA run (caption + OCR, K=4) through the `multimodal-sentiment` dispatcher."""
    output_dir = tmp_path_factory.mktemp("runs") / "era"
    argv = smoke_args(
        tiny_encoder_dir, mvsa_dir, output_dir, "--preset", "era-caption-ocr", "--token_top_k", "4", "--seed", "7"
    )
    assert cli_main(argv) == 0
    return output_dir


# ---------------------------------------------------------------- arguments


def parse(*argv: str):
    model_args, data_args, run_args, training_args, _ = build_parser().parse_args_into_dataclasses(
        args=["--dataset", "d", "--output_dir", "o", *argv]
    )
    apply_preset(model_args, data_args, run_args)
    return model_args, data_args, run_args, training_args


def test_defaults_follow_the_reference_recipe():
    model_args, data_args, run_args, args = parse()
    assert (args.learning_rate, args.warmup_steps, args.per_device_train_batch_size, args.num_train_epochs) == (
        5e-5,
        0.1,
        32,
        3.0,
    )
    assert args.load_best_model_at_end and args.metric_for_best_model == "f1_weighted" and args.greater_is_better
    assert args.eval_strategy == "epoch" and args.save_strategy == "epoch" and args.report_to == []
    assert model_args.model_kind == "era" and data_args.image_views == ["caption"] and data_args.max_length == 128
    assert run_args.auto_resume and run_args.skip_finished
    assert parse("--learning_rate", "1e-4")[3].learning_rate == 1e-4  # defaults stay overridable


def test_presets_fill_only_what_was_not_given(capsys):
    model_args, data_args, _, _ = parse("--preset", "text-only")
    assert data_args.image_views == [] and model_args.token_top_k == 0 and model_args.uniformity_weight == 0.0
    model_args, data_args, _, _ = parse("--preset", "era-no-topk", "--image_views", "caption")
    assert data_args.image_views == ["caption"] and model_args.token_top_k == 0
    model_args, data_args, _, _ = parse("--preset", "era-no-uniformity")
    assert (
        data_args.image_views == ["caption", "ocr"]
        and model_args.uniformity_weight == 0.0
        and model_args.token_top_k is None
    )
    assert parse("--image_views", "none")[1].image_views == []
    assert parse("--class_names", "sad", "glad")[1].class_names == ["sad", "glad"]
    assert parse("--preset", "misr")[0].model_kind == "misr"
    assert parse("--preset", "era-compact")[0].encoder_trained_layers == 0
    assert parse("--preset", "era-top-layer")[0].encoder_trained_layers == 1
    mpnet = parse("--preset", "era-mpnet")
    assert mpnet[0].encoder_name_or_path == "sentence-transformers/all-mpnet-base-v2"
    assert mpnet[1].image_views == ["caption", "ocr"] and mpnet[0].uniformity_weight is None  # the config's 0.1
    baseline = parse("--preset", "text-only-mpnet")
    assert baseline[0].encoder_name_or_path == "sentence-transformers/all-mpnet-base-v2"
    assert baseline[1].image_views == [] and baseline[0].token_top_k == 0
    assert parse("--preset", "era-mpnet", "--encoder_name_or_path", "x/y")[0].encoder_name_or_path == "x/y"
    assert set(PRESETS) == {
        "text-only", "era-caption", "era-caption-ocr", "era-no-topk", "era-no-uniformity", "misr", "era-compact", "era-top-layer",
        "era-mpnet", "text-only-mpnet",
    }  # fmt: skip
    with pytest.raises(SystemExit):
        parse("--preset", "era-best")
    assert "invalid choice: 'era-best'" in capsys.readouterr().err


def test_output_dir_is_required(capsys):
    with pytest.raises(SystemExit):
        cli_main(["train", "--dataset", "x"])
    assert "--output_dir is required" in capsys.readouterr().err


# ---------------------------------------------------------------- end to end


def test_smoke_run_writes_results_record_and_a_loadable_model(era_run, mvsa_dir):
    results = json.loads((era_run / RESULTS_FILE).read_text())
    assert RESULT_KEYS <= set(results) and METRIC_KEYS == set(results["metrics"])
    assert results["dataset"] == "mvsa-multiple" and results["split"] == "test" and results["num_examples"] == 6
    assert results["seed"] == 7 and results["preset"] == "era-caption-ocr" and results["wall_time_s"] > 0
    assert results["command"].startswith("multimodal-sentiment train --dataset ") and "--seed 7" in results["command"]
    assert set(results["metrics"]["per_class"]) == {"negative", "neutral", "positive"}
    assert sum(c["support"] for c in results["metrics"]["per_class"].values()) == 6
    assert (era_run / "confusion_matrix.png").stat().st_size > 0

    record = json.loads((era_run / TRAINING_RECORD_FILE).read_text())
    assert record["global_step"] == 3 and len(record["evaluations"]) == 3
    assert record["hyperparameters"]["token_top_k"] == 4 and record["hyperparameters"]["image_views"] == [
        "caption",
        "ocr",
    ]
    assert record["train_set"]["num_examples"] == 12 and record["train_set"]["label_counts"] == {
        "negative": 4,
        "neutral": 4,
        "positive": 4,
    }
    assert record["train_set"]["with_view"] == {"caption": 12, "ocr": 6} and record["train_set"]["with_image"] == 1
    assert record["best_model_checkpoint"] and "transformers" in record["versions"]
    assert record["test_metrics"] == results["metrics"]

    model = AutoModelForSequenceClassification.from_pretrained(era_run)
    assert type(model).__name__ == "EraForSequenceClassification"
    assert model.config.image_views == ["caption", "ocr"] and model.config.token_top_k == 4
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    # The saved model is the best checkpoint's (load_best_model_at_end).
    best = AutoModelForSequenceClassification.from_pretrained(record["best_model_checkpoint"])
    for (name, saved), loaded in zip(best.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.equal(saved, loaded), name
    tokenizer = AutoTokenizer.from_pretrained(era_run)
    assert tokenizer("hi")["input_ids"] == [101, 7632, 102]


def test_finished_run_is_skipped(era_run, tiny_encoder_dir, mvsa_dir, capsys):
    before = (era_run / RESULTS_FILE).read_text()
    assert cli_main(smoke_args(tiny_encoder_dir, mvsa_dir, era_run, "--preset", "era-caption-ocr")) == 0
    assert "this run is finished" in capsys.readouterr().out and (era_run / RESULTS_FILE).read_text() == before


def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, tiny_encoder_dir, mvsa_dir):
    output_dir = tmp_path / "text-only"
    assert (
        cli_main(smoke_args(tiny_encoder_dir, mvsa_dir, output_dir, "--preset", "text-only", "--max_steps", "2")) == 0
    )
    # As if killed after its last checkpoint: no results yet, a later step count asked for.
    (output_dir / RESULTS_FILE).unlink()
    shutil.rmtree(output_dir / "checkpoint-1", ignore_errors=True)
    assert (
        cli_main(smoke_args(tiny_encoder_dir, mvsa_dir, output_dir, "--preset", "text-only", "--max_steps", "3")) == 0
    )
    record = json.loads((output_dir / TRAINING_RECORD_FILE).read_text())
    assert record["resumed_from_checkpoint"].endswith("checkpoint-2") and record["resumed_from_step"] == 2
    assert record["global_step"] == 3 and len(record["evaluations"]) == 3  # the first session's evaluations kept
    assert json.loads((output_dir / RESULTS_FILE).read_text())["preset"] == "text-only"
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert model.config.image_views == [] and model.config.token_top_k == 0 and model.config.uniformity_weight == 0.0


def test_misr_preset_trains_on_text_and_description_separately(tmp_path, tiny_encoder_dir, mvsa_dir):
    output_dir = tmp_path / "misr"
    assert cli_main(smoke_args(tiny_encoder_dir, mvsa_dir, output_dir, "--preset", "misr", "--max_steps", "2")) == 0
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert model.config.model_type == "misr-multimodal-sentiment" and model.config.image_views == ["caption", "ocr"]
    assert json.loads((output_dir / RESULTS_FILE).read_text())["model_type"] == "misr-multimodal-sentiment"
    with pytest.raises(ValueError, match="are ERA settings"):
        cli_main(smoke_args(tiny_encoder_dir, mvsa_dir, tmp_path / "bad", "--preset", "misr", "--token_top_k", "3"))


def test_era_compact_trains_only_selector_and_head_and_exports_compact(tmp_path, tiny_encoder_dir, mvsa_dir):
    from safetensors import safe_open

    from multimodal_sentiment.convert import export_checkpoint

    output_dir = tmp_path / "compact"
    argv = smoke_args(tiny_encoder_dir, mvsa_dir, output_dir, "--preset", "era-compact", "--learning_rate", "1e-2")
    assert cli_main(argv) == 0
    trained = AutoModelForSequenceClassification.from_pretrained(output_dir)
    pretrained = BertModel.from_pretrained(tiny_encoder_dir).state_dict()
    for key, value in trained.era.encoder.state_dict().items():
        if key in pretrained:
            assert torch.equal(value, pretrained[key]), f"frozen encoder weight {key} changed"
    with pytest.raises(ValueError, match="are ERA settings"):
        cli_main(smoke_args(tiny_encoder_dir, mvsa_dir, tmp_path / "bad", "--preset", "misr", "--encoder_trained_layers", "0"))
    exported = export_checkpoint(output_dir, tmp_path / "exported", compact=True, log=lambda _: None)
    with safe_open(str(exported / "model.safetensors"), framework="pt") as handle:
        assert not [k for k in handle.keys() if k.startswith("era.encoder.")]
