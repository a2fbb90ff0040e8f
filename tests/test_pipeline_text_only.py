"""A text-only checkpoint (the `text-only` training preset saves image_views=[]) is served by the
pipeline exactly as it was trained: one text segment, images ignored, image-only posts refused."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from transformers import pipeline


@pytest.fixture
def text_only_classifier(tiny_era, tokenizer, tmp_path):
    tiny_era.config.image_views = []
    folder = tmp_path / "text-only"
    tiny_era.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return pipeline("multimodal-sentiment", model=str(folder), trust_remote_code=True, device="cpu")


def test_text_only_model_reads_one_segment_and_ignores_images(text_only_classifier, tiny_era, tokenizer):
    with torch.no_grad():
        expected = tiny_era(**tokenizer(["what a great day"], return_tensors="pt")).logits.softmax(-1)[0]
    for post in ({"text": "what a great day"}, {"text": "what a great day", "image": Image.new("RGB", (8, 8))}):
        out = text_only_classifier(post)
        assert out["scores"][out["label"]] == pytest.approx(float(expected.max()), abs=1e-5)
        assert out["image_description"] is None and out["description_views"] == []


def test_text_only_model_refuses_image_only_posts(text_only_classifier):
    with pytest.raises(ValueError, match="no image-to-text view is enabled"):
        text_only_classifier([{"text": "fine"}, {"image": Image.new("RGB", (8, 8))}])
    records = text_only_classifier([{"text": "fine"}, {"image": Image.new("RGB", (8, 8))}], on_error="record")
    assert "error" not in records[0] and records[1]["index"] == 1 and "no image-to-text view" in records[1]["error"]


def test_modalities_of_a_text_only_model(text_only_classifier, tiny_era, tokenizer):
    out = text_only_classifier({"text": "so sad"}, return_modalities=True)
    with torch.no_grad():
        expected = tiny_era(**tokenizer(["so sad"], return_tensors="pt")).logits.softmax(-1)[0]
    assert out["text_only"]["score"] == pytest.approx(float(expected.max()), abs=1e-5)
    assert out["description_only"] is None and out["agreement"] is None
