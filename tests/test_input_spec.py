"""One input spec, from the config: which inputs a model takes (a text pair, separate sequences,
or text and pixels), built the same way for training data and for the pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import ViTConfig

from multimodal_sentiment import EraConfig, MisrConfig
from multimodal_sentiment.data.encoding import encode_batch, tokenize_dataset
from multimodal_sentiment.modeling import input_spec
from multimodal_sentiment.modeling.input_spec import InputSpec

TEXTS = ["so happy today", None]
DESCRIPTIONS = ["a beach at sunset", "a grey office"]


def _vit() -> dict:
    return ViTConfig(image_size=32, patch_size=8, hidden_size=24, num_hidden_layers=1, num_attention_heads=2).to_dict()


def test_the_config_alone_decides_the_inputs(tiny_encoder_config):
    encoder = {"encoder_config": tiny_encoder_config.to_dict()}
    era = InputSpec.from_config(EraConfig(**encoder, max_input_tokens=40, emoji_as_words=True))
    assert (era.mode, era.max_length, era.reads_descriptions, era.emoji_as_words) == ("pair", 40, True, True)
    assert InputSpec.from_config(EraConfig(**encoder, image_views=[])).reads_descriptions is False
    assert InputSpec.from_config(MisrConfig(**encoder)).mode == "separate"
    assert InputSpec.from_config(MisrConfig(**encoder, vision_config=_vit())).reads_pixels
    # The views and their separator come from the config too (evaluate, calibrate and predict read them here).
    views = InputSpec.from_config(EraConfig(**encoder, image_views=["ocr", "caption"], view_separator=" | "))
    assert (views.image_views, views.view_separator) == (("ocr", "caption"), " | ")
    assert InputSpec.from_config(EraConfig(**encoder)).view_separator == " . "


def test_config_without_max_input_tokens_takes_the_tokenizer_length(tokenizer, tiny_encoder_config):
    assert InputSpec.from_config(tiny_encoder_config, tokenizer).max_length == min(tokenizer.model_max_length, 512)
    with pytest.raises(ValueError, match="pass the tokenizer"):
        InputSpec.from_config(tiny_encoder_config)


@pytest.mark.parametrize("mode", ["pair", "separate"])
def test_training_data_and_the_pipeline_get_the_same_ids(tokenizer, mode):
    """`encode_batch` (training, evaluation, calibration) and `InputSpec.encode` (the pipeline) agree."""
    batch = {"text": TEXTS, "caption": DESCRIPTIONS}
    from_data = encode_batch(batch, tokenizer, image_views=["caption"], max_length=16, mode=mode)
    from_spec = InputSpec(mode=mode, max_length=16).encode(tokenizer, TEXTS, DESCRIPTIONS)
    assert dict(from_spec) == from_data
    if mode == "separate":
        assert from_data["description_input_ids"][1] == tokenizer("a grey office")["input_ids"]
        assert from_data["input_ids"][1] == tokenizer("")["input_ids"]  # a missing text: an empty segment


def test_pixel_inputs_mark_posts_without_an_image(tokenizer):
    from PIL import Image
    from transformers import ViTImageProcessor

    spec = InputSpec(mode="pixels", max_length=16)
    inputs = spec.encode(
        tokenizer,
        ["hi", "there"],
        images=[Image.new("RGB", (8, 8), "red"), None],
        image_processor=ViTImageProcessor(size={"height": 32, "width": 32}),
        padding=True,
        return_tensors="pt",
    )
    assert inputs["pixel_values"].shape == (2, 3, 32, 32)
    assert inputs["has_visual"].tolist() == [True, False]
    with pytest.raises(ValueError, match="reads pixels"):
        spec.encode(tokenizer, ["hi"], ["a description"])


def test_a_pixel_model_cannot_train_on_descriptions(tokenizer, tmp_path):
    rows = Dataset.from_dict({"text": ["a"], "caption": ["b"], "label": [0]})
    with pytest.raises(NotImplementedError, match="reads image pixels"):
        tokenize_dataset(rows, tokenizer, image_views=["caption"], max_length=16, mode="pixels", cache_dir=tmp_path)


def test_unimodal_inputs_drop_one_part(tokenizer):
    spec = InputSpec(mode="separate", max_length=16)
    full = spec.encode(tokenizer, ["good"], ["a cat"], padding=True, return_tensors="pt")
    text_only, visual_only = spec.unimodal_inputs(tokenizer, ["good"], ["a cat"], full)
    assert "description_input_ids" not in text_only and torch.equal(text_only["input_ids"], full["input_ids"])
    assert torch.equal(visual_only["description_input_ids"], full["description_input_ids"])
    assert visual_only["input_ids"].tolist() == [tokenizer("")["input_ids"]]


def test_input_spec_travels_to_the_hub():
    """Standard library, torch and its siblings only at top level: it loads where the package is absent."""
    tree = ast.parse(Path(input_spec.__file__).read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or "").split(".")[0])
    assert imported <= {"__future__", "collections", "dataclasses", "typing", "torch", ".text_pairs"}, imported
