"""Compact ERA checkpoints (the embedded default's format): frozen encoder left out of the file,
fetched at load time; export refuses when the encoder was fine-tuned."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, BertModel, pipeline

from multimodal_sentiment import EraForSequenceClassification
from multimodal_sentiment.convert import ExportError, export_checkpoint


@pytest.fixture
def frozen_era_dir(tmp_path, tiny_encoder_config, tokenizer):
    """A tiny ERA built around a 'pretrained' encoder folder, encoder frozen, head trained a bit."""
    torch.manual_seed(3)
    encoder_dir = tmp_path / "encoder"
    BertModel(tiny_encoder_config).save_pretrained(encoder_dir)
    tokenizer.save_pretrained(encoder_dir)
    model = EraForSequenceClassification.from_encoder(str(encoder_dir), token_top_k=3, captioner=None)
    model.era.encoder.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    batch = tokenizer(["love it", "hate it"], ["a party", "a storm"], padding=True, return_tensors="pt")
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        model(**batch, labels=torch.tensor([2, 0])).loss.backward()
        optimizer.step()
    folder = tmp_path / "trained"
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, model, batch


def test_compact_export_leaves_out_the_encoder_and_predicts_the_same(frozen_era_dir, tmp_path):
    source, model, batch = frozen_era_dir
    out = export_checkpoint(source, tmp_path / "compact", compact=True, log=lambda _: None)
    config = json.loads((out / "config.json").read_text())
    assert config["encoder_weights_in_checkpoint"] is False
    with safe_open(str(out / "model.safetensors"), framework="pt") as handle:
        keys = list(handle.keys())
    assert keys and not [k for k in keys if k.startswith("era.encoder.")]
    assert any(k.startswith("era.selector.") for k in keys) and "classifier.weight" in keys
    assert (out / "model.safetensors").stat().st_size < (source / "model.safetensors").stat().st_size / 5

    # The pipeline fetches the frozen encoder itself; predictions equal the source model's.
    classifier = pipeline("multimodal-sentiment", model=str(out), trust_remote_code=True, device="cpu")
    got = classifier({"text": "love it", "image_description": "a party"})
    with torch.no_grad():
        expected = model(**{k: v[:1] for k, v in batch.items()}).logits.softmax(-1)[0]
    assert got["scores"][got["label"]] == pytest.approx(float(expected.max()), abs=1e-5)

    # Plain from_pretrained + load_encoder_weights() gives the same weights as the source.
    loaded = AutoModelForSequenceClassification.from_pretrained(out)
    loaded.era.load_encoder_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_compact_export_refuses_a_fine_tuned_encoder(frozen_era_dir, tmp_path):
    source, model, _ = frozen_era_dir
    with torch.no_grad():
        model.era.encoder.embeddings.word_embeddings.weight[5] += 1.0
    model.save_pretrained(source)
    with pytest.raises(ExportError, match="encoder differs from the pretrained"):
        export_checkpoint(source, tmp_path / "compact", compact=True, log=lambda _: None)
    assert not (tmp_path / "compact").exists()


def test_load_encoder_weights_without_a_source_says_what_to_do(tiny_era):
    with pytest.raises(ValueError, match="No encoder to load"):
        tiny_era.era.load_encoder_weights()
