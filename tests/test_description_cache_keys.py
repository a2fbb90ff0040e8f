"""The description cache key covers everything that decides a caption: the image, the captioner,
its revision, the prompt and every generation setting. A run with another setting must caption
again instead of reusing a stale description from a shared (persisted) cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from multimodal_sentiment.modeling.image_to_text import (
    DescriptionCache,
    ImageDescriber,
    OcrReader,
    TransformersCaptioner,
)

RED, BLUE = Image.new("RGB", (6, 4), "red"), Image.new("RGB", (6, 4), "blue")
BASE = {
    "revision": "v1",
    "prompt": "a picture of",
    "max_new_tokens": 20,
    "generate_kwargs": {"num_beams": 2},
}


class RecordingCaptioner(TransformersCaptioner):
    """The real captioner's settings and cache identity; `describe` only records its calls (no model)."""

    def __init__(self, log: list[tuple], **settings):
        super().__init__("org/tiny-captioner", **settings)
        self.log = log

    def describe(self, images, prompt=None, max_new_tokens=None):
        images = list(images)
        self.log.append((self.revision, prompt, max_new_tokens, dict(self.generate_kwargs), len(images)))
        return [f"caption {len(self.log)}.{i}" for i in range(len(images))]


def _describe(cache: DescriptionCache, log: list, images=(RED,), call: dict | None = None, **settings) -> list[str]:
    captioner = RecordingCaptioner(log, **{**BASE, **settings})
    describer = ImageDescriber({"caption": lambda: captioner}, cache=cache)
    return [text for text, _views in describer.describe(list(images), ["caption"], **(call or {}))]


def test_same_settings_hit_the_cache():
    cache, log = DescriptionCache(), []
    first = _describe(cache, log)
    again = _describe(cache, log)  # a new captioner object with equal settings
    assert len(log) == 1 and again == first == ["caption 1.0"]
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize(
    "changed",
    [
        {"revision": "v2"},
        {"revision": None},
        {"prompt": "a photo of"},
        {"max_new_tokens": 30},
        {"generate_kwargs": {"num_beams": 4}},
        {"generate_kwargs": {"num_beams": 2, "do_sample": True}},
        {"generate_kwargs": {}},
    ],
    ids=["revision", "no-revision", "prompt", "max-new-tokens", "num-beams", "sampling", "no-generate-kwargs"],
)
def test_each_captioner_setting_is_part_of_the_key(changed):
    cache, log = DescriptionCache(), []
    first = _describe(cache, log)
    other = _describe(cache, log, **changed)
    assert len(log) == 2, f"{changed} reused the description made with {BASE}"
    assert other == ["caption 2.0"] != first
    assert _describe(cache, log) == first and len(log) == 2  # the original settings still hit


@pytest.mark.parametrize("call", [{"prompt": "a drawing of"}, {"max_new_tokens": 5}], ids=["prompt", "max-new-tokens"])
def test_per_call_settings_are_part_of_the_key(call):
    cache, log = DescriptionCache(), []
    _describe(cache, log)
    _describe(cache, log, call=call)
    assert len(log) == 2
    assert log[1][1:3] == (call.get("prompt"), call.get("max_new_tokens"))


def test_a_persisted_cache_is_not_reused_by_another_revision(tmp_path: Path):
    path = tmp_path / "descriptions.jsonl"
    log: list = []
    assert _describe(DescriptionCache(path=path), log, images=(RED, BLUE)) == ["caption 1.0", "caption 1.1"]
    # A later run reads the file: the same revision is answered from it, another one is captioned.
    assert _describe(DescriptionCache(path=path), log, images=(BLUE, RED)) == ["caption 1.1", "caption 1.0"]
    assert len(log) == 1
    assert _describe(DescriptionCache(path=path), log, images=(RED,), revision="v2") == ["caption 2.0"]
    assert len(log) == 2 and len(path.read_text().splitlines()) == 3


def test_the_key_depends_on_the_image_and_every_identity_field():
    captioner = TransformersCaptioner("org/tiny-captioner", **BASE)
    identity = captioner.identity()
    assert identity == {
        "captioner": "org/tiny-captioner",
        "revision": "v1",
        "prompt": "a picture of",
        "generation": {"max_new_tokens": 20, "num_beams": 2},
    }
    assert captioner.identity(prompt="x", max_new_tokens=7)["prompt"] == "x"
    assert captioner.identity(prompt="x", max_new_tokens=7)["generation"] == {"max_new_tokens": 7, "num_beams": 2}
    key = DescriptionCache.make_key("image-a", identity)
    assert key == DescriptionCache.make_key("image-a", dict(reversed(list(identity.items()))))  # order-free
    assert key != DescriptionCache.make_key("image-b", identity)
    for field, value in [("captioner", "org/other"), ("revision", "v2"), ("prompt", ""), ("generation", {})]:
        assert key != DescriptionCache.make_key("image-a", {**identity, field: value}), field


def test_ocr_key_has_the_engine_version_and_threshold():
    assert OcrReader(0.5).identity() != OcrReader(0.8).identity()
    identity = OcrReader(0.5).identity()  # (more fields may join: any setting that changes the text)
    assert identity["captioner"] == "rapidocr-onnxruntime"
    assert identity["revision"] == OcrReader.version() and identity["min_score"] == 0.5
