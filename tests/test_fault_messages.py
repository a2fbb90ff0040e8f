"""The exact messages of the fault campaign's holes (issue 15, items 4-8): caption ids that used to
collide, an unwritable description cache, batch_size and num_labels, and predict's resume and
error paths. Each test states the message a user reads."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import helpers
import pytest
from PIL import Image
from transformers import BertConfig

from multimodal_sentiment import EraConfig, MisrConfig
from multimodal_sentiment.inference import caption, predict
from multimodal_sentiment.modeling import image_to_text
from multimodal_sentiment.modeling.image_to_text import DescriptionCache


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- 4: caption ids


def test_caption_ids_are_unique_when_names_differ_only_in_suffix(tmp_path, capsys):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name, colour in (("a.jpg", "red"), ("a.png", "blue"), ("b.png", "green"), ("sub/a.png", "gray")):
        Image.new("RGB", (8, 8), colour).save(photos / name)
    items = caption.list_images(photos)
    assert [(item.id, Path(item.image).name) for item in items] == [
        ("a.jpg", "a.jpg"),
        ("a.png", "a.png"),
        ("b", "b.png"),
        ("sub/a", "a.png"),
    ]
    assert capsys.readouterr().err == (
        "caption: 2 image(s) share a name without suffix with another image; their ids keep the suffix: a.jpg, a.png\n"
    )
    # A file whose stem is another file's name keeps its suffix too: ids stay unique.
    assert caption.folder_ids(["a.jpg", "a.jpg.png", "c.png"]) == ["a", "a.jpg.png", "c"]


def test_caption_partial_then_full_run_does_every_image(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (8, 8), "red").save(photos / "a.jpg")
    Image.new("RGB", (8, 8), "blue").save(photos / "a.png")
    monkeypatch.setattr(image_to_text, "build_captioner", lambda *a, **k: _NamingDescriber())
    output = tmp_path / "captions.csv"
    assert caption.main([str(photos), "-o", str(output), "--limit", "1"]) == 0
    assert caption.main([str(photos), "-o", str(output)]) == 0
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["id"], row["caption"]) for row in rows] == [("a.jpg", "8x8 red-ish"), ("a.png", "8x8 blue-ish")]


class _NamingDescriber:
    def describe(self, images, **_):
        return [f"{i.width}x{i.height} {'red' if i.getpixel((0, 0))[0] > 128 else 'blue'}-ish" for i in images]


def test_caption_names_the_file_of_a_corrupt_image(tmp_path, monkeypatch, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (8, 8), "red").save(photos / "good.png")
    good = (photos / "good.png").read_bytes()
    (photos / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff")
    monkeypatch.setattr(image_to_text, "build_captioner", lambda *a, **k: _NamingDescriber())
    output = tmp_path / "captions.csv"
    assert caption.main([str(photos), "-o", str(output)]) == 1
    (error,) = _lines(output.with_name("captions.csv.errors.jsonl"))
    assert error["id"] == "cut" and error["image"] == str(photos / "cut.jpg")
    assert error["error"].startswith(f"image file '{photos / 'cut.jpg'}' is ")
    assert "caption: 1 image(s) could not be read" in capsys.readouterr().err
    assert (photos / "good.png").read_bytes() == good


# ---------------------------------------------------------------- 6: description cache file


def test_unwritable_description_cache_file_is_refused_at_construction(tmp_path, tiny_era, tokenizer):
    remedy = "give a file path in a folder this process can write, or leave description_cache_file out"
    folder = tmp_path / "cache-dir"
    folder.mkdir()
    with pytest.raises(ValueError) as caught:
        DescriptionCache(path=folder)
    assert str(caught.value) == f"description_cache_file '{folder}' is a directory, not a file; {remedy}"
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    target = blocker / "sub" / "descriptions.jsonl"
    with pytest.raises(ValueError) as caught:
        helpers.in_process(tiny_era, tokenizer, description_cache_file=str(target))
    assert str(caught.value) == (
        f"description_cache_file '{target}' cannot be written ('{blocker}' is a file, not a folder); {remedy}"
    )
    fine = tmp_path / "new" / "deeper" / "descriptions.jsonl"
    DescriptionCache(path=fine)
    assert not fine.exists() and not fine.parent.exists()  # checking writes nothing


# ---------------------------------------------------------------- 7: batch_size, num_labels


@pytest.mark.parametrize("bad", [0, -1, "4", 2.0, True])
def test_batch_size_must_be_a_positive_integer(tiny_era, tokenizer, bad):
    message = f"batch_size must be a positive integer (posts per batch), got {bad!r}"
    classifier = helpers.in_process(tiny_era, tokenizer)
    with pytest.raises(ValueError) as caught:
        classifier(["good", "bad"], batch_size=bad)
    assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        helpers.in_process(tiny_era, tokenizer, batch_size=bad)
    assert str(caught.value) == message
    assert [r["label"] is not None for r in classifier(["good", "bad"], batch_size=2)] == [True, True]


@pytest.mark.parametrize("config_class", [EraConfig, MisrConfig])
@pytest.mark.parametrize("labels", [{"num_labels": 0}, {"id2label": {}}])
def test_configs_refuse_zero_labels(config_class, labels):
    with pytest.raises(ValueError) as caught:
        config_class(encoder_config=BertConfig(hidden_size=32).to_dict(), **labels)
    assert str(caught.value) == (
        f"{config_class.__name__} needs at least one label, got num_labels=0: pass num_labels=N (N >= 1) "
        "or id2label={0: 'negative', ...}."
    )
    assert config_class(encoder_config=BertConfig(hidden_size=32).to_dict(), num_labels=2).num_labels == 2


# ---------------------------------------------------------------- 8: predict


@pytest.fixture
def posts(tmp_path) -> Path:
    """Ten text posts r0..r9 and, at row 7, an image cut inside its JPEG header."""
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00")
    rows = [{"id": f"r{i}", "text": f"post number {i}"} for i in range(10)]
    rows[7]["image"] = "cut.jpg"
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_predict_names_row_id_and_file_also_after_a_resume(tiny_era_dir, posts, tmp_path):
    output = tmp_path / "out.jsonl"
    common = [str(tiny_era_dir), "-i", str(posts), "-o", str(output)]
    assert predict.main([*common, "--limit", "5"]) == 0
    assert predict.main(common) == 1  # resumes at row 5: the bad row is the 3rd post of this run
    lines = _lines(output)
    assert [line["id"] for line in lines] == [f"r{i}" for i in range(10)]
    assert lines[7]["error"].startswith(f"row 7 (id 'r7'): image file '{tmp_path / 'cut.jpg'}' is ")
    assert [i for i, line in enumerate(lines) if line.get("error")] == [7]


def test_predict_removes_a_damaged_line_in_the_middle_and_redoes_its_row(tiny_era_dir, posts, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    common = [str(tiny_era_dir), "-i", str(posts), "-o", str(output)]
    assert predict.main([*common, "--limit", "6"]) == 0
    whole = output.read_text().splitlines(keepends=True)
    damaged = whole[:2] + [whole[2][:25] + "\n"] + whole[3:]  # row 2's line cut short, later lines intact
    output.write_text("".join(damaged))
    assert predict.main(common) == 1  # row 7 fails (exit status 1)
    assert f"predict: removed 1 damaged line(s) from {output} (line 3); their rows are done again" in (
        capsys.readouterr().err
    )
    lines = _lines(output)  # every line parses: the damaged one is gone
    assert sorted(line["id"] for line in lines) == sorted(f"r{i}" for i in range(10))
    assert lines[:2] == [json.loads(line) for line in whole[:2]]
    assert next(line for line in lines if line["id"] == "r2") == json.loads(whole[2])  # done again, same result


def test_predict_refuses_bad_paths_with_a_message(tiny_era_dir, posts, tmp_path):
    def message(*argv: str) -> str:
        with pytest.raises(SystemExit) as caught:
            predict.main(list(argv))
        return str(caught.value.code)

    model = str(tiny_era_dir)
    out = str(tmp_path / "o.jsonl")
    missing_input = tmp_path / "nope.jsonl"
    assert message(model, "-i", str(missing_input), "-o", out) == (
        f"predict: input file '{missing_input}' not found (looked for {missing_input}); "
        "give a .jsonl, .json, .csv or .tsv file"
    )
    assert message(model, "-i", str(tmp_path), "-o", out) == (
        f"predict: input file '{tmp_path}' is a directory, not a file; give a .jsonl, .json, .csv or .tsv file"
    )
    folder = tmp_path / "results"
    folder.mkdir()
    assert message(model, "-i", str(posts), "-o", str(folder)) == (
        f"predict: --output '{folder}' is a directory; give a file path such as '{folder / 'predictions.jsonl'}'"
    )
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("a file where a folder should be")
    assert message(model, "-i", str(posts), "-o", str(blocker / "o.jsonl")) == (
        f"predict: cannot write --output '{blocker / 'o.jsonl'}' ('{blocker}' is a file, not a folder)"
    )
    gone = tmp_path / "no" / "such" / "model"
    assert message(str(gone), "-i", str(posts), "-o", out) == (
        f"predict: model folder '{gone}' not found (looked for {gone}); give a checkpoint folder or a Hub id like org/name"
    )
    assert message(str(posts), "-i", str(posts), "-o", out) == (
        f"predict: model '{posts}' is a file; give the checkpoint folder (with config.json) or a Hub id like org/name"
    )
