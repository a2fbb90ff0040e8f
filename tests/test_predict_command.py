"""`multimodal-sentiment predict`: a file of posts through the pipeline, streamed and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import helpers
import pytest
from PIL import Image
from transformers import BlipForConditionalGeneration

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.inference import predict


@pytest.fixture
def posts(tmp_path) -> Path:
    (tmp_path / "img").mkdir()
    Image.new("RGB", (20, 20), "red").save(tmp_path / "img" / "red.png")
    Image.new("RGB", (20, 20), "blue").save(tmp_path / "img" / "blue.png")
    rows = [
        {"id": "p1", "text": "best day ever", "image": "img/red.png"},
        {"id": "p2", "text": "stuck in traffic"},
        {"id": "p3", "image": "img/blue.png"},
        {"id": "p4", "text": "new shoes", "image_description": "a pair of white sneakers"},
        {"id": "p5", "text": "where is it", "image": "img/gone.png"},
        {"id": "p6", "text": "again", "image": "img/red.png"},
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path




@pytest.fixture
def generate_batches(count_generate) -> list[int]:
    return count_generate(BlipForConditionalGeneration)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_predicts_every_post_like_the_pipeline(tiny_era_dir, blip_dir, posts, tmp_path, generate_batches, capsys):
    output = tmp_path / "out" / "predictions.jsonl"
    args = [str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--captioner", str(blip_dir)]
    code = cli_main(["predict", *args, "--batch-size", "2", "--captioner-max-new-tokens", "4"])
    assert code == 1  # p5 failed: a script must be able to tell (--allow-errors: 0)
    lines = _lines(output)
    assert [line["id"] for line in lines] == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert "image file not found" in lines[4]["error"] and lines[4]["label"] is None  # recorded, run went on
    assert lines[3]["image_description"] == "a pair of white sneakers"
    assert generate_batches == [1, 1]  # red in batch 1, blue in batch 2; p6's red comes from the cache
    reference = helpers.from_folder(
        tiny_era_dir,
        captioner=str(blip_dir),
        captioner_max_new_tokens=4,
    )
    expected = reference({"text": "best day ever", "image": str(posts.parent / "img" / "red.png")})
    assert lines[0]["label"] == expected["label"] and lines[0]["image_description"] == expected["image_description"]
    assert lines[0]["scores"] == pytest.approx(expected["scores"], abs=1e-5)
    assert "predict" in capsys.readouterr().err  # the progress bar


def test_resumes_after_a_kill(tiny_era_dir, blip_dir, posts, tmp_path, generate_batches):
    output = tmp_path / "predictions.jsonl"
    common = [str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--captioner", str(blip_dir)]
    assert predict.main([*common, "--limit", "3", "--captioner-max-new-tokens", "3"]) == 0
    first = _lines(output)
    with output.open("a") as handle:
        handle.write('{"id": "p4", "label": "neg')  # killed mid-line
    assert predict.main([*common, "--captioner-max-new-tokens", "3"]) == 1  # p5's image is missing
    lines = _lines(output)
    assert [line["id"] for line in lines] == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert lines[:3] == first
    assert lines[4]["error"] and not any(line.get("error") for i, line in enumerate(lines) if i != 4)
    (tmp_path / "img" / "gone.png").write_bytes((tmp_path / "img" / "red.png").read_bytes())  # the image appears
    assert predict.main([*common, "--captioner-max-new-tokens", "3"]) == 0
    lines = _lines(output)
    assert len(lines) == 7 and lines[-1]["id"] == "p5" and not lines[-1].get("error")  # only the failed row retried
    assert predict.main([*common, "--captioner-max-new-tokens", "3"]) == 0 and len(_lines(output)) == 7  # nothing left


def test_csv_input_options_and_persisted_descriptions(tiny_era_dir, blip_dir, tmp_path, generate_batches):
    Image.new("RGB", (20, 20), "green").save(tmp_path / "green.png")
    table = tmp_path / "posts.csv"
    table.write_text("post,picture,text\n1,green.png,what a view\n2,,just text\n")
    cache = tmp_path / "descriptions.jsonl"
    common = [str(tiny_era_dir), "-i", str(table), "--captioner", str(blip_dir), "--captioner-max-new-tokens", "3"]
    options = ["--id-column", "post", "--image-column", "picture", "--description-cache", str(cache)]
    output = tmp_path / "a.jsonl"
    assert predict.main([*common, *options, "-o", str(output), "--return-evidence", "--return-modalities"]) == 0
    lines = _lines(output)
    assert [line["id"] for line in lines] == ["1", "2"]
    assert lines[0]["description_views"] == ["caption"] and lines[1]["image_description"] is None  # empty cell
    assert {"evidence", "text_only", "description_only", "agreement"} <= set(lines[0])
    assert generate_batches == [1]
    assert predict.main([*common, *options, "-o", str(tmp_path / "b.jsonl")]) == 0
    assert generate_batches == [1]  # the second run read the description from the cache file
    assert _lines(tmp_path / "b.jsonl")[0]["image_description"] == lines[0]["image_description"]


def test_duplicate_ids_and_raise_mode(tiny_era_dir, tmp_path):
    table = tmp_path / "posts.jsonl"
    table.write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n')
    with pytest.raises(SystemExit, match="duplicate ids"):
        predict.main([str(tiny_era_dir), "-i", str(table), "-o", str(tmp_path / "o.jsonl")])
    table.write_text('{"text": "fine"}\n{"text": "   "}\n')
    with pytest.raises(ValueError, match=r"^row 1 \(id '1'\): nothing to classify"):
        predict.main(
            [
                str(tiny_era_dir),
                "-i",
                str(table),
                "-o",
                str(tmp_path / "o.jsonl"),
                "--on-error",
                "raise",
                "--batch-size",
                "1",
            ]
        )
    assert [line["id"] for line in _lines(tmp_path / "o.jsonl")] == ["0"]  # what finished before the error stays
