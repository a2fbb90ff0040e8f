"""Issue 18: a preset never trains (or evaluates) silently without the image views it reads; the
loaders' options on the command line (one shared `DatasetOptions`); caption JSONs found under
the public releases' names; timed progress lines; the tokenized cache in the run folder; no
PAD/BOS/EOS or pin_memory warning in a `train` run's output."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import write_mvsa

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.data import DatasetOptions, LowViewCoverageError, load_dataset_from_options
from multimodal_sentiment.data.coverage import check_view_coverage, format_coverage, view_coverage
from multimodal_sentiment.data.twitter import caption_file_candidates
from multimodal_sentiment.evaluation.evaluate import build_parser as evaluate_parser
from multimodal_sentiment.evaluation.results import RESULTS_FILE, TRAINING_RECORD_FILE
from multimodal_sentiment.model_card.card import build_model_card
from multimodal_sentiment.training.arguments import DataArguments
from multimodal_sentiment.training.train import build_parser as train_parser

TWITTER_HEADER = "index\t#1 Label\t#2 ImageID\t#3 String\t#3 String\n"
TWITTER_ROWS = [
    "1\t2\t10.jpg\tRT @ fan : $T$ is great tonight !\tJoe\n",
    "2\t0\t11.jpg\tCourt to censure $T$ judge\tMontana\n",
    "3\t1\t12.jpg\tCourt to censure Montana $T$\tjudge\n",
]


def write_twitter(root: Path) -> Path:
    """Twitter-2015 TomBERT TSVs (3 rows per split, images 10-12.jpg), no caption file."""
    root.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (root / f"{split}.tsv").write_text(TWITTER_HEADER + "".join(TWITTER_ROWS), encoding="utf-8")
    return root


def write_caption_json(path: Path, prefix: str = "a photo") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({f"{i}.jpg": f"{prefix} {i}" for i in (10, 11, 12)}), encoding="utf-8")
    return path


def without_captions(root: Path) -> Path:
    """An MVSA folder whose descriptions hold OCR only (the caption file was never written)."""
    (root / "descriptions" / "captions.csv").unlink()
    return root


# ---------------------------------------------------------------- coverage, unit level


def test_coverage_counts_non_empty_views_and_the_boundary_passes(tmp_path):
    data = load_dataset_from_options(DatasetOptions(dataset=str(write_mvsa(tmp_path / "mvsa", sizes=(6, 4, 2)))))
    # Captions on ids 1..11 (id 12, the last, has none); OCR on even ids only.
    coverage = view_coverage({"train": data["train"], "test": data["test"]}, ["caption", "ocr"])
    assert coverage["splits"]["train"] == {
        "rows": 6,
        "with": {"caption": 6, "ocr": 3},
        "share": {"caption": 1.0, "ocr": 0.5},
    }
    assert coverage["splits"]["test"]["with"] == {"caption": 1, "ocr": 1}
    assert coverage["required_views"] == ["caption", "ocr"] and coverage["min_share"] == 0.5
    assert check_view_coverage(coverage, "x") == []  # exactly 50% is enough
    lower = view_coverage({"test": data["test"].select([1])}, ["caption"])  # the row without a caption
    with pytest.raises(LowViewCoverageError, match=r"fewer than 50% of the rows carry caption in test"):
        check_view_coverage(lower, "x")
    assert check_view_coverage({**lower, "allow_low_coverage": True}, "x") == [("test", "caption")]
    assert check_view_coverage({**lower, "min_share": 0.0}, "x") == []
    assert format_coverage(lower).splitlines()[1].split() == ["test", "1", "0", "(0.0%)", "1", "(100.0%)"]


def test_coverage_error_names_splits_views_and_remedies(tmp_path):
    data = load_dataset_from_options(DatasetOptions(dataset=str(without_captions(write_mvsa(tmp_path / "mvsa")))))
    coverage = view_coverage(dict(data), ["caption"])
    with pytest.raises(LowViewCoverageError) as error:
        check_view_coverage(coverage, "--preset era-caption")
    message = str(error.value)
    assert message.startswith(
        "--preset era-caption reads the image views ['caption'], but fewer than 50% of the rows carry caption in "
        "train, caption in validation, caption in test (--min_view_coverage 0.5)."
    )
    assert "  train       6     0 (0.0%)  3 (50.0%)" in message
    for remedy in ("--descriptions_dir DIR", "--caption_file FILE", "multimodal-sentiment caption", "--preset text-only",
                   "--allow_low_coverage", "--min_view_coverage"):  # fmt: skip
        assert remedy in message


# ---------------------------------------------------------------- one argument group, loader options


def test_train_and_evaluate_parse_the_same_dataset_options():
    assert issubclass(DataArguments, DatasetOptions)
    argv = ["--dataset", "d", "--caption_file", "c.json", "--descriptions_dir", "desc", "--image_dir", "img",
            "--no_target_prefix", "--allow_low_coverage", "--min_view_coverage", "0.3", "--limit", "5"]  # fmt: skip
    data_args = train_parser().parse_args_into_dataclasses(args=[*argv, "--output_dir", "o"])[1]
    options = evaluate_parser().parse_args_into_dataclasses(args=["model", *argv])[0]
    for name in DatasetOptions.__dataclass_fields__:
        assert getattr(data_args, name) == getattr(options, name), name
    assert (options.caption_file, options.target_prefix, options.allow_low_coverage) == ("c.json", False, True)
    assert options.min_view_coverage == 0.3 and options.limit == 5
    help_text = evaluate_parser().format_help()
    for flag in ("--caption_file", "--descriptions_dir", "--image_dir", "--no_target_prefix", "--allow_low_coverage"):
        assert flag in help_text


def test_caption_file_flag_reads_a_json_under_any_name(tmp_path, caplog):
    root = write_twitter(tmp_path / "twitter2015")
    captions = write_caption_json(tmp_path / "elsewhere" / "my captions.json", "a picture of")
    assert load_dataset_from_options(DatasetOptions(dataset=str(root)))["train"]["caption"] == [None, None, None]
    with caplog.at_level(logging.INFO, logger="multimodal_sentiment.data.twitter"):
        data = load_dataset_from_options(DatasetOptions(dataset=str(root), caption_file=str(captions)))
    assert data["train"]["caption"] == ["a picture of 10", "a picture of 11", "a picture of 12"]
    assert f"twitter2015: captions of 3 images from {captions} (caption_file)" in caplog.text
    plain = load_dataset_from_options(DatasetOptions(dataset=str(root), target_prefix=False))["test"]
    assert plain[1]["text"] == "Court to censure Montana judge"
    with pytest.raises(FileNotFoundError, match="--caption_file .*missing.json does not exist"):
        load_dataset_from_options(DatasetOptions(dataset=str(root), caption_file=str(tmp_path / "missing.json")))
    mvsa = write_mvsa(tmp_path / "mvsa")
    with pytest.raises(ValueError, match="The mvsa format does not read --caption_file; it reads --descriptions_dir, "
                                         "--image_dir"):  # fmt: skip
        load_dataset_from_options(DatasetOptions(dataset=str(mvsa), caption_file=str(captions)))


def test_descriptions_dir_flag_points_at_another_folder(tmp_path):
    root = without_captions(write_mvsa(tmp_path / "mvsa"))
    other = tmp_path / "my-descriptions"
    other.mkdir()
    (other / "captions.csv").write_text("id,caption\n1,a red bus\n", encoding="utf-8")
    train = load_dataset_from_options(DatasetOptions(dataset=str(root), descriptions_dir=str(other)))["train"]
    assert train["caption"] == ["a red bus", None, None, None, None, None] and train["ocr"] == [None] * 6
    with pytest.raises(FileNotFoundError, match=r"^--descriptions_dir .*typo does not exist \(looked for "):
        load_dataset_from_options(DatasetOptions(dataset=str(root), descriptions_dir=str(tmp_path / "typo")))


@pytest.mark.parametrize(
    "where",
    ["twitter2015/twitter2015_images.json", "twitter2015_images.json", "caption/twitter2015_images.json",
     "captions/twitter2015_images.json", "twitter2015/captions/twitter2015_images.json"],
)  # fmt: skip
def test_release_caption_names_are_found_and_logged(tmp_path, caplog, where):
    root = write_twitter(tmp_path / "twitter2015")
    captions = write_caption_json(tmp_path / where)
    assert captions in caption_file_candidates(root)
    with caplog.at_level(logging.INFO, logger="multimodal_sentiment.data.twitter"):
        train = load_dataset_from_options(DatasetOptions(dataset=str(root)))["train"]
    assert train["caption"] == ["a photo 10", "a photo 11", "a photo 12"]
    assert f"twitter2015: captions of 3 images from {captions} (found by name)" in caplog.text


def test_twitter2017_release_name_and_the_first_candidate_wins(tmp_path):
    root = write_twitter(tmp_path / "data" / "twitter2017")
    write_caption_json(tmp_path / "data" / "caption" / "twitter2017_images.json", "release")
    write_caption_json(tmp_path / "data" / "caption" / "twitter2015_images.json", "other dataset")
    assert load_dataset_from_options(DatasetOptions(dataset=str(root)))["validation"]["caption"][0] == "release 10"
    write_caption_json(root / "twitter2017_caption.json", "inside")  # the folder's own file comes first
    assert load_dataset_from_options(DatasetOptions(dataset=str(root)))["train"]["caption"][0] == "inside 10"


# ---------------------------------------------------------------- train: coverage check, record, card


def small_train_args(encoder: Path, data: Path, output_dir: Path, *extra: str) -> list[str]:
    return [
        "train", "--dataset", str(data), "--encoder_name_or_path", str(encoder), "--output_dir", str(output_dir),
        "--max_steps", "2", "--per_device_train_batch_size", "4", "--eval_strategy", "steps", "--save_strategy",
        "steps", "--eval_steps", "2", "--save_steps", "2", "--max_length", "32", *extra,
    ]  # fmt: skip


def test_caption_preset_without_captions_stops_with_the_coverage(tmp_path, tiny_encoder_dir, capsys):
    data = without_captions(write_mvsa(tmp_path / "mvsa-multiple"))
    output_dir = tmp_path / "run"
    assert cli_main(small_train_args(tiny_encoder_dir, data, output_dir, "--preset", "era-caption")) == 2
    err = capsys.readouterr().err
    assert err.startswith("multimodal-sentiment train: --preset era-caption reads the image views ['caption'], but")
    assert "split       rows  caption   ocr" in err and "--allow_low_coverage" in err and "--caption_file" in err
    assert not output_dir.exists()  # stopped before the tokenizer, the model or any file


@pytest.fixture(scope="module")
def accepted_run(tmp_path_factory, tiny_encoder_dir):
    """`--preset era-caption --allow_low_coverage` on data without captions, in a fresh
    interpreter (its output is exactly what a user sees): 12 steps, one evaluation at the end,
    no tqdm, the default logging interval and tokenized cache."""
    root = tmp_path_factory.mktemp("accepted")
    data = without_captions(write_mvsa(root / "mvsa-multiple", sizes=(12, 6, 6)))
    output_dir = root / "run"
    argv = small_train_args(tiny_encoder_dir, data, output_dir, "--preset", "era-caption", "--allow_low_coverage",
                            "--max_steps", "12", "--per_device_train_batch_size", "1", "--eval_steps", "12",
                            "--save_steps", "12", "--disable_tqdm", "true")  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    result = subprocess.run(
        [sys.executable, "-m", "multimodal_sentiment.cli", *argv], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, result


def test_accepted_low_coverage_trains_and_records_the_coverage(accepted_run):
    output_dir, result = accepted_run
    assert "going on (--allow_low_coverage)" in result.stderr
    record = json.loads((output_dir / TRAINING_RECORD_FILE).read_text())
    coverage = record["view_coverage"]
    assert coverage["required_views"] == ["caption"] and coverage["allow_low_coverage"] is True
    assert coverage["splits"]["train"] == {
        "rows": 12,
        "with": {"caption": 0, "ocr": 6},
        "share": {"caption": 0.0, "ocr": 0.5},
    }
    assert set(coverage["splits"]) == {"train", "validation", "test"}
    results = json.loads((output_dir / RESULTS_FILE).read_text())
    assert results["view_coverage"]["splits"] == {"test": coverage["splits"]["test"]}

    config = json.loads((output_dir / "config.json").read_text())
    card = str(build_model_card(config, results=[results], training_info=record))
    assert "### Image descriptions in the data" in card
    assert "| train | 12 | 0 (0.0%) | 6 (50.0%) |" in card
    assert "lower coverage was accepted with `--allow_low_coverage`" in card
    assert "| test | 6 | 0 (0.0%) | 3 (50.0%) |" in card  # the evaluation section's split


def test_first_progress_line_comes_before_the_first_evaluation(accepted_run):
    _, result = accepted_run
    lines = result.stdout.splitlines()
    first_progress = next(i for i, line in enumerate(lines) if line.startswith("progress: step 1/12"))
    first_eval = next(i for i, line in enumerate(lines) if "'eval_loss'" in line)
    assert first_progress < first_eval
    assert lines[first_progress - 1].startswith("progress: training 12 steps; a line like this every 60 s")


def test_tokenized_cache_is_in_the_run_folder_and_named(accepted_run):
    output_dir, result = accepted_run
    assert f"Tokenized splits cached in {output_dir / 'tokenized'}" in result.stdout
    assert len(list((output_dir / "tokenized").glob("tokenized-*.arrow"))) == 3  # train, eval, test


def test_no_special_token_or_pin_memory_warning(accepted_run):
    _, result = accepted_run
    output = result.stdout + result.stderr
    assert "PAD/BOS/EOS" not in output and "pin_memory" not in output
    config = json.loads((accepted_run[0] / "config.json").read_text())
    assert config["pad_token_id"] == 0  # the tokenizer's, set once


def test_pin_memory_default_follows_the_accelerator():
    training_args = train_parser().parse_args_into_dataclasses(args=["--dataset", "d", "--output_dir", "o"])[3]
    assert training_args.dataloader_pin_memory is torch.accelerator.is_available()
    forced = train_parser().parse_args_into_dataclasses(
        args=["--dataset", "d", "--output_dir", "o", "--dataloader_pin_memory", "true"]
    )[3]
    assert forced.dataloader_pin_memory is True


# ---------------------------------------------------------------- evaluate: the same check


def test_evaluate_checks_the_model_views_before_loading_it(tmp_path, tiny_era_dir, capsys):
    data = without_captions(write_mvsa(tmp_path / "mvsa-multiple"))
    out = tmp_path / "eval"
    argv = ["evaluate", str(tiny_era_dir), "--dataset", str(data), "--output_dir", str(out), "--no_tsne",
            "--no_retrieval"]  # fmt: skip
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert f"multimodal-sentiment evaluate: The model {tiny_era_dir} reads the image views ['caption']" in err
    assert not out.exists()
    assert cli_main([*argv, "--allow_low_coverage"]) == 0
    results = json.loads((out / RESULTS_FILE).read_text())
    assert results["view_coverage"]["splits"]["test"]["with"] == {"caption": 0, "ocr": 2}
    assert list((out / "tokenized").glob("tokenized-*.arrow"))


# ---------------------------------------------------------------- predict: a dataset split with the same options


def test_predict_reads_a_dataset_split_with_the_loader_options(tmp_path, tiny_era_dir, capsys):
    root = write_twitter(tmp_path / "twitter2015")
    captions = write_caption_json(tmp_path / "mine.json", "a stage")
    output = tmp_path / "predictions.jsonl"
    argv = ["predict", str(tiny_era_dir), "--dataset", str(root), "--split", "dev", "--caption_file", str(captions),
            "--output", str(output)]  # fmt: skip
    assert cli_main(argv) == 0
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["dev-1", "dev-2", "dev-3"]
    # The data's captions are the description (the model reads `caption`): no captioner ran.
    assert [line["image_description"] for line in lines] == ["a stage 10", "a stage 11", "a stage 12"]
    assert all(line["label"] in ("negative", "neutral", "positive") for line in lines)
    with pytest.raises(SystemExit):
        cli_main([*argv, "--input", str(tmp_path / "posts.jsonl")])
    assert "give --input (a .jsonl / .csv file of posts) or --dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        cli_main(["predict", str(tiny_era_dir), "--dataset", str(write_mvsa(tmp_path / "mvsa")), "--caption-file",
                  str(captions), "--output", str(tmp_path / "other.jsonl")])  # fmt: skip
    assert stopped.value.code == (
        "predict: The mvsa format does not read --caption_file; it reads --descriptions_dir, --image_dir."
    )
