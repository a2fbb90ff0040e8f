"""`multimodal-sentiment caption`: batched, resumable, OCR view, per-rank parts and their merge."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image
from transformers import BlipForConditionalGeneration

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.inference import caption
from multimodal_sentiment.modeling.image_to_text import OcrReader, TransformersCaptioner

COLOURS = ("red", "blue", "green", "gray", "orange")


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    for i, colour in enumerate(COLOURS):
        target = folder / "nested" if i == 4 else folder
        Image.new("RGB", (20 + i, 16), colour).save(target / f"{colour}.png")
    (folder / "notes.txt").write_text("not an image, not listed")
    return folder




@pytest.fixture
def generate_batches(count_generate) -> list[int]:
    return count_generate(BlipForConditionalGeneration)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _run(*args: str) -> int:
    return caption.main(list(args))


def test_captions_a_folder_in_batches_with_the_dataset_layout(photos, blip_dir, tmp_path, generate_batches, capsys):
    output = tmp_path / "out" / "captions.csv"
    code = cli_main(
        [
            "caption",
            str(photos),
            "-o",
            str(output),
            "--captioner",
            str(blip_dir),
            "--batch-size",
            "2",
            "--max-new-tokens",
            "4",
        ]
    )
    assert code == 0
    rows = _rows(output)
    assert list(rows[0]) == ["id", "caption"]
    assert [r["id"] for r in rows] == ["blue", "gray", "green", "nested/orange", "red"]  # sorted relative ids
    assert generate_batches == [2, 2, 1]
    reference = TransformersCaptioner(str(blip_dir), prompt="a picture of", max_new_tokens=4)
    assert rows[4]["caption"] == reference.describe([Image.open(photos / "red.png").convert("RGB")])[0]
    assert "caption [rank 0]" in capsys.readouterr().err  # the progress bar


def test_resumes_after_a_kill_without_redoing_finished_ids(photos, blip_dir, tmp_path, generate_batches):
    output = tmp_path / "captions.csv"
    common = ["-o", str(output), "--captioner", str(blip_dir), "--max-new-tokens", "3", "--batch-size", "2"]
    assert _run(str(photos), "--limit", "2", *common) == 0
    assert generate_batches == [2]
    with output.open("a") as handle:
        handle.write("gray,half a capt")  # killed mid-row: no newline
    assert _run(str(photos), *common) == 0
    rows = _rows(output)
    assert sorted(r["id"] for r in rows) == ["blue", "gray", "green", "nested/orange", "red"]
    assert "half a capt" not in output.read_text()
    assert generate_batches == [2, 2, 1]  # only the three unfinished images
    assert _run(str(photos), *common) == 0 and generate_batches == [2, 2, 1]  # nothing left to do


def test_manifest_with_missing_image_records_the_error_and_retries_it(photos, blip_dir, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    lines = [
        {"id": "a", "image": "photos/red.png"},
        {"id": "b", "image": "photos/absent.png"},
        {"id": "a", "image": "x.png"},
    ]
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    output = tmp_path / "captions.csv"
    common = [str(manifest), "-o", str(output), "--captioner", str(blip_dir), "--max-new-tokens", "3"]
    assert _run(*common) == 1
    assert [r["id"] for r in _rows(output)] == ["a"]
    errors = [json.loads(line) for line in (tmp_path / "captions.csv.errors.jsonl").read_text().splitlines()]
    assert errors[0]["id"] == "b" and "image file not found" in errors[0]["error"]
    Image.new("RGB", (8, 8), "blue").save(photos / "absent.png")
    assert _run(*common) == 0
    assert [r["id"] for r in _rows(output)] == ["a", "b"]


def test_ocr_view_writes_id_ocr_text(photos, tmp_path, monkeypatch):
    monkeypatch.setattr(
        OcrReader, "_get_engine", lambda self: lambda image: ([[[[0, 0]] * 4, "SALE 50%", 0.98]], [0.0])
    )
    output = tmp_path / "ocr.csv"
    assert _run(str(photos), "-o", str(output), "--view", "ocr", "--batch-size", "4") == 0
    rows = _rows(output)
    assert list(rows[0]) == ["id", "ocr_text"] and {r["ocr_text"] for r in rows} == {"SALE 50%"} and len(rows) == 5


def test_each_rank_writes_its_part_and_merge_joins_them(photos, blip_dir, tmp_path, monkeypatch):
    output = tmp_path / "captions.csv"
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("LOCAL_RANK", str(rank))
        assert _run(str(photos), "-o", str(output), "--captioner", str(blip_dir), "--max-new-tokens", "3") == 0
    parts = sorted(p.name for p in tmp_path.glob("captions.rank*"))
    assert parts == ["captions.rank00000-of-00002.csv", "captions.rank00001-of-00002.csv"]
    assert [r["id"] for r in _rows(tmp_path / parts[0])] == ["blue", "green", "red"]  # every 2nd image
    assert [r["id"] for r in _rows(tmp_path / parts[1])] == ["gray", "nested/orange"]
    monkeypatch.delenv("RANK")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert _run("--merge", "-o", str(output)) == 0
    assert sorted(r["id"] for r in _rows(output)) == ["blue", "gray", "green", "nested/orange", "red"]
    assert _run("--merge", "-o", str(output)) == 0 and len(_rows(output)) == 5  # merging twice adds nothing


def test_clear_errors_for_bad_arguments(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not an image folder or a"):
        caption.list_images(tmp_path / "nothing-here")
    with pytest.raises(SystemExit) as exited:
        _run("-o", str(tmp_path / "x.csv"))  # no source
    assert exited.value.code == 2  # argparse's usage error
    assert "error: give an image folder or manifest (or --merge)" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="No part files"):
        _run("--merge", "-o", str(tmp_path / "x.csv"))
