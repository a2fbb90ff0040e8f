"""`predict --engine ray`: a local Ray with 2 CPUs gives the same output as single-process predict,
row for row (JSON lines, CSV in, Parquet out); images are described in stage 1 (OCR here)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers import tiny_era_classifier
from skip_policy import optional_module

from multimodal_sentiment.demo.examples import draw_card
from multimodal_sentiment.inference import predict

pytestmark = pytest.mark.slow  # starting Ray takes 10-30 s on a loaded machine


@pytest.fixture(scope="module")
def ray_local():
    ray = optional_module("ray", "ray")
    optional_module("ray.data", "ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def ocr_era_dir(tokenizer, tiny_encoder_config, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ray-era")
    tiny_era_classifier(tokenizer, tiny_encoder_config, image_views=["ocr"]).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _posts(folder: Path) -> list[dict]:
    draw_card("I hate Mondays", (120, 30, 30)).save(folder / "monday.png")
    draw_card("BEST DAY EVER", (34, 139, 84)).save(folder / "best.png")
    words = ["great", "awful", "rain", "party", "tired", "win", "lost", "sunny"]
    posts = [
        {"id": f"p{i:03d}", "text": f"{a} and {b} today", "image_description": f"a photo of {b}" if i % 2 else ""}
        for i, (a, b) in enumerate(zip(words, reversed(words), strict=True))
    ]
    posts += [
        {"id": "img1", "text": "Back at the desk", "image": "monday.png", "image_description": ""},
        {"id": "img2", "text": "", "image": "best.png", "image_description": ""},
        {"id": "x007", "text": "text only, no picture", "image_description": ""},
    ]
    return posts


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_same_rows(got: list[dict], expected: list[dict]) -> None:
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for a, b in zip(got, expected, strict=True):
        assert a["label"] == b["label"], (a, b)
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
        assert a["image_description"] == b["image_description"]
        assert a["description_views"] == b["description_views"]
        assert a.get("agreement") == b.get("agreement")


def test_ray_predict_equals_single_process_predict_row_for_row(ray_local, ocr_era_dir, tmp_path):
    posts = _posts(tmp_path)
    source = tmp_path / "posts.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in posts))
    common = [str(ocr_era_dir), "--input", str(source), "--device", "cpu", "--batch-size", "4", "--return-modalities"]
    assert predict.main([*common, "--output", str(tmp_path / "local.jsonl")]) == 0
    argv = [*common, "--output", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--ray-actors", "1"]
    assert predict.main(argv) == 0
    expected, got = _read_jsonl(tmp_path / "local.jsonl"), _read_jsonl(tmp_path / "ray.jsonl")
    _assert_same_rows(got, expected)
    by_id = {r["id"]: r for r in got}
    assert by_id["img1"]["image_description"] == "I hate Mondays" and by_id["img1"]["description_views"] == ["ocr"]
    assert by_id["p001"]["description_views"] == ["precomputed"]
    assert set(got[0]) == set(expected[0])  # the same fields as the JSON lines predict writes
    # A Ray run does not resume: an existing output is refused unless --overwrite.
    with pytest.raises(SystemExit, match=r"ray\.jsonl exists \(a Ray run does not resume\): --overwrite"):
        predict.main(argv)


def test_ray_reads_csv_and_writes_parquet(ray_local, ocr_era_dir, tmp_path):
    pandas = optional_module("pandas", "ray")
    posts = _posts(tmp_path)
    source = tmp_path / "posts.csv"
    with source.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "image", "image_description"])
        writer.writeheader()
        writer.writerows(posts)
    common = [str(ocr_era_dir), "--input", str(source), "--device", "cpu", "--batch-size", "4"]
    assert predict.main([*common, "--output", str(tmp_path / "local.jsonl")]) == 0
    out = tmp_path / "out.parquet"
    assert predict.main([*common, "--output", str(out), "--engine", "ray", "--ray-actors", "2"]) == 0
    table = pandas.read_parquet(out)  # a folder of Parquet shards, written by the workers
    from multimodal_sentiment.inference.ray_engine import unflatten

    got = sorted((unflatten(row) for row in table.to_dict("records")), key=lambda r: r["id"])
    expected = sorted(_read_jsonl(tmp_path / "local.jsonl"), key=lambda r: r["id"])
    _assert_same_rows(got, expected)
    assert "x007" in {r["id"] for r in got}  # ids stay text
