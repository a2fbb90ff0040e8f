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


def _expected_scores(model, tokenizer, text: str) -> dict[str, float]:
    """Every label's probability from the model itself, one text segment, named by config.id2label."""
    with torch.no_grad():
        probabilities = model(**tokenizer([text], return_tensors="pt")).logits.softmax(-1)[0].tolist()
    return {model.config.id2label[i]: p for i, p in enumerate(probabilities)}


def test_text_only_model_reads_one_segment_and_ignores_images(text_only_classifier, tiny_era, tokenizer):
    expected = _expected_scores(tiny_era, tokenizer, "what a great day")
    for post in ({"text": "what a great day"}, {"text": "what a great day", "image": Image.new("RGB", (8, 8))}):
        out = text_only_classifier(post)
        assert out["scores"] == pytest.approx(expected, abs=1e-5)  # the whole vector: a permuted mapping fails
        assert out["label"] == max(expected, key=expected.get)
        assert out["score"] == pytest.approx(max(expected.values()), abs=1e-5)
        assert out["image_description"] is None and out["description_views"] == []


def test_text_only_model_refuses_image_only_posts(text_only_classifier):
    with pytest.raises(ValueError, match="no image-to-text view is enabled"):
        text_only_classifier([{"text": "fine"}, {"image": Image.new("RGB", (8, 8))}])
    records = text_only_classifier([{"text": "fine"}, {"image": Image.new("RGB", (8, 8))}], on_error="record")
    assert "error" not in records[0] and records[1]["index"] == 1 and "no image-to-text view" in records[1]["error"]


def test_modalities_of_a_text_only_model(text_only_classifier, tiny_era, tokenizer):
    out = text_only_classifier({"text": "so sad"}, return_modalities=True)
    expected = _expected_scores(tiny_era, tokenizer, "so sad")
    assert out["text_only"]["label"] == max(expected, key=expected.get)
    assert out["text_only"]["score"] == pytest.approx(max(expected.values()), abs=1e-5)
    assert out["scores"] == pytest.approx(expected, abs=1e-5)
    assert out["description_only"] is None and out["agreement"] is None
