"""The multimodal-sentiment pipeline on MISR checkpoints: the description read as its own
sequence, or pixels through a vision encoder (then no VLM at all)."""

from __future__ import annotations

import pytest
import torch
from helpers import BLUE, RED, assert_carries_the_pipeline, colour_captioner, from_folder, in_process
from PIL import Image
from transformers import ViTConfig, ViTImageProcessor

from multimodal_sentiment import MisrConfig, MisrForSequenceClassification


def _misr(encoder_config, tokenizer, **overrides) -> MisrForSequenceClassification:
    torch.manual_seed(0)
    config = MisrConfig(
        encoder_config=encoder_config.to_dict(),
        latent_size=8,
        special_token_ids=sorted(set(tokenizer.all_special_ids)),
        captioner=None,
        **overrides,
    )
    return MisrForSequenceClassification(config).eval()


@pytest.fixture
def misr(tiny_encoder_config, tokenizer):
    return _misr(tiny_encoder_config, tokenizer)


@pytest.fixture
def misr_vit(tiny_encoder_config, tokenizer):
    vit = ViTConfig(
        image_size=32, patch_size=8, hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37
    )
    return _misr(tiny_encoder_config, tokenizer, vision_config=vit.to_dict())


@pytest.fixture
def vit_processor():
    return ViTImageProcessor(size={"height": 32, "width": 32})


def _scores(model, **inputs) -> dict[str, float]:
    with torch.no_grad():
        probabilities = model(**inputs).logits.softmax(-1)[0]
    return {model.config.id2label[i]: p for i, p in enumerate(probabilities.tolist())}


def _alone(tokenizer, text: str | None) -> dict[str, torch.Tensor]:
    return dict(tokenizer([text or ""], truncation=True, max_length=128, return_tensors="pt"))


def test_misr_reads_text_and_description_as_separate_sequences(misr, tokenizer):
    classifier = in_process(misr, tokenizer, captioner=colour_captioner)
    result = classifier({"text": "lovely evening", "image": RED})
    assert result["image_description"] == "red" and result["description_views"] == ["caption"]
    description = _alone(tokenizer, "red")
    expected = _scores(
        misr,
        **_alone(tokenizer, "lovely evening"),
        description_input_ids=description["input_ids"],
        description_attention_mask=description["attention_mask"],
    )
    assert result["scores"] == pytest.approx(expected, abs=1e-5)
    assert classifier({"text": "x"}, return_evidence=True)["evidence"] is None  # no token selection in MISR


def test_misr_batch_size_and_modalities(misr, tokenizer):
    classifier = in_process(misr, tokenizer, captioner=colour_captioner)
    inputs = [
        {"text": "what a great goal", "image": RED},
        {"text": "nothing to see"},
        {"image": BLUE},
        {"text": "a much longer post about a very long and boring day at the office", "image_description": "a desk"},
    ]
    one = classifier(inputs, batch_size=1, return_modalities=True)
    three = classifier(inputs, batch_size=3, return_modalities=True)
    for a, b in zip(one, three, strict=True):
        assert a["label"] == b["label"] and a["scores"] == pytest.approx(b["scores"], abs=1e-5)
    # text_only = the model without any visual input = a post that has no image
    assert one[0]["text_only"]["scores"] == pytest.approx(classifier({"text": "what a great goal"})["scores"], abs=1e-5)
    assert one[0]["description_only"]["scores"] == pytest.approx(
        classifier({"image_description": "red"})["scores"], abs=1e-5
    )
    assert one[1]["description_only"] is None and one[1]["agreement"] is None
    assert one[2]["text_only"] is None


def test_misr_with_a_vision_encoder_reads_pixels_and_never_runs_a_vlm(misr_vit, tokenizer, vit_processor):
    def no_vlm(images):
        raise AssertionError("a pixel-reading MISR needs no captioner")

    classifier = in_process(misr_vit, tokenizer, captioner=no_vlm, image_processor=vit_processor)
    inputs = [
        {"text": "sunset at the lake", "image": RED},
        {"text": "no picture today"},
        {"image": BLUE, "image_description": "given"},
    ]
    results = classifier(inputs, batch_size=3, return_modalities=True)
    assert results[0]["image_description"] is None and results[0]["description_views"] == []
    assert results[2]["image_description"] == "given"  # returned unchanged, though pixels are what the model reads
    pixels = vit_processor(images=[RED], return_tensors="pt")["pixel_values"]
    with_image = _scores(misr_vit, **_alone(tokenizer, "sunset at the lake"), pixel_values=pixels)
    assert results[0]["scores"] == pytest.approx(with_image, abs=1e-5)
    without_image = _scores(misr_vit, **_alone(tokenizer, "no picture today"))  # the learned "missing image"
    assert results[1]["scores"] == pytest.approx(without_image, abs=1e-5)
    assert results[1]["description_only"] is None and results[0]["description_only"] is not None
    singles = [classifier(item) for item in inputs]
    for batched, single in zip(results, singles, strict=True):
        assert batched["scores"] == pytest.approx(single["scores"], abs=1e-5)


def test_misr_pixel_model_needs_its_image_processor(misr_vit, tokenizer):
    with pytest.raises(ValueError, match="reads pixels .* no image processor was found"):
        in_process(misr_vit, tokenizer)


def test_saved_misr_checkpoints_load_with_their_image_processor(misr, misr_vit, tokenizer, vit_processor, tmp_path):
    for name, model in (("description", misr), ("pixels", misr_vit)):
        folder = tmp_path / name
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        if name == "pixels":
            vit_processor.save_pretrained(folder)
        assert_carries_the_pipeline(folder)
        classifier = from_folder(folder, captioner=colour_captioner)
        assert type(classifier).__module__.startswith("transformers_modules.")  # the checkpoint's own copy
        result = classifier({"text": "hello", "image": Image.new("RGB", (12, 12), "red")})
        assert result["label"] in model.config.label2id
        assert result["image_description"] == ("red" if name == "description" else None)
