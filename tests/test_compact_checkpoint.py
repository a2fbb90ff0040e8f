"""Compact ERA checkpoints (the embedded default's format): the frozen part of the encoder is left
out of the file and fetched at load time, the trained top layers are stored in float16; export
refuses when a frozen weight was changed."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, BertModel, pipeline

from multimodal_sentiment import EraForSequenceClassification
from multimodal_sentiment.convert import ExportError, export_checkpoint


def _trained_era_dir(tmp_path, tiny_encoder_config, tokenizer, trained_layers: int):
    """A tiny ERA built around a 'pretrained' encoder folder, only its top `trained_layers`
    encoder layers (plus selector and head) trained a bit."""
    torch.manual_seed(3)
    encoder_dir = tmp_path / "encoder"
    BertModel(tiny_encoder_config).save_pretrained(encoder_dir)
    tokenizer.save_pretrained(encoder_dir)
    model = EraForSequenceClassification.from_encoder(
        str(encoder_dir), token_top_k=3, captioner=None, encoder_trained_layers=trained_layers
    )
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


@pytest.fixture
def frozen_era_dir(tmp_path, tiny_encoder_config, tokenizer):
    return _trained_era_dir(tmp_path, tiny_encoder_config, tokenizer, trained_layers=0)


@pytest.fixture
def top_layer_era_dir(tmp_path, tiny_encoder_config, tokenizer):
    return _trained_era_dir(tmp_path, tiny_encoder_config, tokenizer, trained_layers=1)


def test_trained_layers_freeze_everything_below_them(top_layer_era_dir, tmp_path):
    _, model, _ = top_layer_era_dir
    pretrained = BertModel.from_pretrained(tmp_path / "encoder").state_dict()
    trainable = {name for name, p in model.era.encoder.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("encoder.layer.1.") for name in trainable)
    for key, value in model.era.encoder.state_dict().items():
        if key.startswith("encoder.layer.1."):
            continue
        assert torch.equal(value, pretrained[key]), key
    assert not torch.equal(
        model.era.encoder.state_dict()["encoder.layer.1.output.dense.weight"], pretrained["encoder.layer.1.output.dense.weight"]
    )


def test_compact_export_stores_the_trained_top_layer_in_float16(top_layer_era_dir, tmp_path):
    source, model, batch = top_layer_era_dir
    out = export_checkpoint(source, tmp_path / "compact", compact=True, log=lambda _: None)
    with safe_open(str(out / "model.safetensors"), framework="pt") as handle:
        encoder_keys = {k: handle.get_tensor(k).dtype for k in handle.keys() if k.startswith("era.encoder.")}
    assert encoder_keys and all(k.startswith("era.encoder.encoder.layer.1.") for k in encoder_keys)
    assert set(encoder_keys.values()) == {torch.float16}
    card = (out / "README.md").read_text()
    assert "## A compact checkpoint" in card and "top 1 layer (the only encoder weights that trained" in card

    loaded = AutoModelForSequenceClassification.from_pretrained(out)
    loaded.era.load_encoder_weights()
    for key, value in model.state_dict().items():
        expected = value.half().float() if key.startswith("era.encoder.encoder.layer.1.") else value
        assert torch.equal(loaded.state_dict()[key], expected), key
    with torch.no_grad():
        got = loaded(**batch).logits
        reference = model(**batch).logits
    assert torch.allclose(got, reference, atol=1e-2)
    assert loaded.config.encoder_trained_layers == 1

    # The pipeline path (ensure_encoder_weights) keeps the stored layer too.
    classifier = pipeline("multimodal-sentiment", model=str(out), trust_remote_code=True, device="cpu")
    scores = classifier({"text": "love it", "image_description": "a party"})["scores"]
    expected_scores = got[:1].softmax(-1)[0]
    for i, name in loaded.config.id2label.items():
        assert scores[name] == pytest.approx(float(expected_scores[i]), abs=1e-5)


def test_compact_export_refuses_a_changed_layer_below_the_trained_ones(top_layer_era_dir, tmp_path):
    source, model, _ = top_layer_era_dir
    with torch.no_grad():
        model.era.encoder.encoder.layer[0].output.dense.weight[0, 0] += 1.0
    model.save_pretrained(source)
    with pytest.raises(ExportError, match=r"outside its trained top layers \(encoder_trained_layers=1\)"):
        export_checkpoint(source, tmp_path / "compact", compact=True, log=lambda _: None)
    assert not (tmp_path / "compact").exists()


def test_more_trained_layers_than_the_encoder_has_is_a_clear_error(tiny_encoder_config):
    from multimodal_sentiment import EraConfig

    config = EraConfig(encoder_config=tiny_encoder_config.to_dict(), encoder_trained_layers=5, captioner=None)
    with pytest.raises(ValueError, match="Cannot train the top 5 layers: the encoder has 2"):
        EraForSequenceClassification(config)
    with pytest.raises(ValueError, match="encoder_trained_layers must be None"):
        EraConfig(encoder_config=tiny_encoder_config.to_dict(), encoder_trained_layers=-1)


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
        expected = model(**{k: v[:1] for k, v in batch.items()}).logits.softmax(-1)[0].tolist()
    expected_scores = {model.config.id2label[i]: p for i, p in enumerate(expected)}
    assert got["scores"] == pytest.approx(expected_scores, abs=1e-5)  # every label, not only the winner
    assert got["label"] == max(expected_scores, key=expected_scores.get)

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


def test_compact_checkpoint_refuses_other_encoder_weights_than_it_was_trained_with(top_layer_era_dir, tmp_path):
    source, _, _ = top_layer_era_dir
    out = export_checkpoint(source, tmp_path / "compact", compact=True, log=lambda _: None)
    assert len(json.loads((out / "config.json").read_text())["encoder_fingerprint"]) == 64
    # The "Hub repository" of the encoder changes one frozen weight after the export.
    encoder_dir = tmp_path / "encoder"
    original = BertModel.from_pretrained(encoder_dir)
    changed = BertModel.from_pretrained(encoder_dir)
    with torch.no_grad():
        changed.embeddings.word_embeddings.weight[7, 0] += 0.5
    changed.save_pretrained(encoder_dir)
    loaded = AutoModelForSequenceClassification.from_pretrained(out)
    with pytest.raises(ValueError, match="are not the ones this checkpoint was trained with"):
        loaded.era.load_encoder_weights()
    # A change inside the stored (trained) top layer does not matter: those weights come from the checkpoint.
    with torch.no_grad():
        original.encoder.layer[1].output.dense.weight[0, 0] += 0.5
    original.save_pretrained(encoder_dir)
    loaded.era.load_encoder_weights()
