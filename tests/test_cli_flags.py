"""One flag style (issue 13): every command shows its long options in snake_case, as
`TrainingArguments` spells them, and still accepts the other spelling (`--batch-size`,
`--image-views caption,ocr`) as a hidden alias. One test per command: the old command line parses
to exactly what the new one does."""

from __future__ import annotations

import argparse
import re

import pytest

from multimodal_sentiment import cli
from multimodal_sentiment.cli.args import ArgumentParser, CommaList

KEBAB_OPTION = re.compile(r"(?<![\w-])--[a-z0-9]+-[a-z0-9-]+")


def _options_in_help(parser: argparse.ArgumentParser) -> list[str]:
    """Long options as the help's option list shows them (description and epilog text left out)."""
    return [option for action in parser._actions for option in action.option_strings if option.startswith("--")]


def _same(parser: argparse.ArgumentParser, old: list[str], new: list[str]) -> argparse.Namespace:
    assert not [o for o in _options_in_help(parser) if KEBAB_OPTION.fullmatch(o)], "help shows a kebab-case option"
    parsed = parser.parse_args(old)
    assert parsed == parser.parse_args(new)
    return parsed


def test_the_shared_parser_spells_snake_case_and_hides_the_alias():
    parser = ArgumentParser(prog="x")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--image-views", nargs="+", action=CommaList)
    group = parser.add_argument_group("data")
    group.add_argument("--caption-file", "--caption_file")  # both spellings declared: declared once
    parser.add_argument("source")
    help_text = parser.format_help()
    assert "--batch_size" in help_text and "--image_views" in help_text and "--caption_file" in help_text
    assert not KEBAB_OPTION.search(help_text)
    old = parser.parse_args(["s", "--batch-size=3", "--image-views", "caption,ocr", "--caption-file", "c"])
    new = parser.parse_args(["s", "--batch_size", "3", "--image_views", "caption", "ocr", "--caption_file", "c"])
    assert old == new == argparse.Namespace(batch_size=3, image_views=["caption", "ocr"], caption_file="c", source="s")
    # A value that looks like an option, after `--`, is left alone.
    assert parser.parse_args(["--batch-size", "2", "--", "--image-views"]).source == "--image-views"


def test_caption_old_flags_still_parse():
    from multimodal_sentiment.inference.caption import build_parser

    parsed = _same(
        build_parser(),
        ["photos", "-o", "c.csv", "--max-new-tokens", "3", "--batch-size", "2", "--id-column", "key", "--trust-remote-code"],
        ["photos", "-o", "c.csv", "--max_new_tokens", "3", "--batch_size", "2", "--id_column", "key", "--trust_remote_code"],
    )
    assert (parsed.max_new_tokens, parsed.batch_size, parsed.id_column, parsed.trust_remote_code) == (3, 2, "key", True)


def test_predict_old_flags_still_parse():
    from multimodal_sentiment.inference.predict import build_parser

    parsed = _same(
        build_parser(),
        ["m", "-i", "in.csv", "-o", "o.jsonl", "--batch-size", "4", "--image-views", "caption,ocr",
         "--captioner-prompt", "a photo of", "--return-evidence", "--on-error", "record"],
        ["m", "-i", "in.csv", "-o", "o.jsonl", "--batch_size", "4", "--image_views", "caption", "ocr",
         "--captioner_prompt", "a photo of", "--return_evidence", "--on_error", "record"],
    )  # fmt: skip
    assert parsed.image_views == ["caption", "ocr"] and parsed.batch_size == 4 and parsed.return_evidence


def test_train_old_flags_still_parse():
    from multimodal_sentiment.training.arguments import apply_preset
    from multimodal_sentiment.training.train import build_parser

    parser = build_parser()
    assert not [o for o in _options_in_help(parser) if KEBAB_OPTION.fullmatch(o)]
    old = parser.parse_args_into_dataclasses(
        args=["--dataset", "d", "--output-dir", "o", "--per-device-train-batch-size", "4", "--image-views", "caption,ocr"]
    )
    new = parser.parse_args_into_dataclasses(
        args=["--dataset", "d", "--output_dir", "o", "--per_device_train_batch_size", "4", "--image_views", "caption", "ocr"]
    )
    assert old[3].per_device_train_batch_size == new[3].per_device_train_batch_size == 4
    assert old[3].output_dir == new[3].output_dir == "o"
    for args in (old, new):
        apply_preset(*args[:3])
    assert old[1] == new[1] and old[1].image_views == ["caption", "ocr"]


def test_evaluate_old_flags_still_parse():
    from multimodal_sentiment.evaluation.evaluate import build_parser

    parser = build_parser()
    assert not [o for o in _options_in_help(parser) if KEBAB_OPTION.fullmatch(o)]
    old = parser.parse_args_into_dataclasses(
        args=["m", "--dataset", "d", "--output-dir", "o", "--batch-size", "8", "--no-tsne", "--caption-file", "c.json"]
    )
    new = parser.parse_args_into_dataclasses(
        args=["m", "--dataset", "d", "--output_dir", "o", "--batch_size", "8", "--no_tsne", "--caption_file", "c.json"]
    )
    assert old == new and old[1].batch_size == 8 and old[1].no_tsne and old[0].caption_file == "c.json"


def test_calibrate_old_flags_still_parse():
    from multimodal_sentiment.evaluation.calibration import build_parser

    parsed = _same(
        build_parser(),
        ["m", "--dataset", "d", "--class-bias", "macro_f1", "--max-accuracy-drop", "0.5", "--batch-size", "8"],
        ["m", "--dataset", "d", "--class_bias", "macro_f1", "--max_accuracy_drop", "0.5", "--batch_size", "8"],
    )
    assert (parsed.class_bias, parsed.max_accuracy_drop, parsed.batch_size) == ("macro_f1", 0.5, 8)


def test_report_old_flags_still_parse(tmp_path):
    # `report` has one-word options only (--output, --dataset, --split): the old spellings are the new.
    from multimodal_sentiment.evaluation.report import build_parser

    parsed = _same(build_parser(), ["runs", "--output=out.md", "--split", "test"], ["runs", "--output", "out.md", "--split", "test"])
    assert parsed.output == "out.md"


def test_export_old_flags_still_parse():
    from multimodal_sentiment.convert.export import build_parser

    parsed = _same(
        build_parser(),
        ["src", "out", "--key-map", "a.=b.", "--allow-missing", "x*", "--trust-remote-code", "--training-info", "t.json",
         "--card-revision", "v1", "--image-processor", "ip"],
        ["src", "out", "--key_map", "a.=b.", "--allow_missing", "x*", "--trust_remote_code", "--training_info", "t.json",
         "--card_revision", "v1", "--image_processor", "ip"],
    )  # fmt: skip
    assert parsed.key_map == ["a.=b."] and parsed.trust_remote_code and parsed.image_processor == "ip"


def test_push_old_flags_still_parse():
    from multimodal_sentiment.convert.push import build_parser

    parsed = _same(
        build_parser(),
        ["folder", "org/name", "--commit-message", "m", "--keep-remote-files"],
        ["folder", "org/name", "--commit_message", "m", "--keep_remote_files"],
    )
    assert parsed.commit_message == "m" and parsed.keep_remote_files


def test_demo_old_flags_still_parse():
    from multimodal_sentiment.demo.run import build_parser

    parsed = _same(build_parser(), ["--output-dir", "out"], ["--output_dir", "out"])
    assert parsed.output_dir == "out"


def test_serve_old_flags_still_parse():
    from multimodal_sentiment.serve.command import build_parser

    parsed = _same(build_parser(), ["--write-space", "space", "--space-model", "org/m"], ["--write_space", "space", "--space_model", "org/m"])
    assert (parsed.write_space, parsed.space_model) == ("space", "org/m")


def test_every_command_has_a_flag_test():
    tested = {name.removeprefix("test_").removesuffix("_old_flags_still_parse") for name in globals() if name.endswith("_old_flags_still_parse")}
    assert tested == set(cli.COMMANDS)


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_help_lists_snake_case_options_only(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    options = re.findall(r"^\s+(?:-\w[ ,]+)?(--\w[\w-]*)", capsys.readouterr().out, flags=re.MULTILINE)
    assert options and not [o for o in options if "-" in o[2:]], options
