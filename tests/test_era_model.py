"""ERA model: config, Top-K selection, uniformity, loss, save/load, Auto classes, remote code."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from multimodal_sentiment import EraConfig, EraForSequenceClassification, EraModel
from multimodal_sentiment.modeling.token_selection import (
    TopKTokenSelector,
    selectable_token_mask,
    uniformity_penalty,
)


def _pairs(tokenizer, texts, descriptions=None):
    return tokenizer(texts, descriptions, padding=True, truncation=True, return_tensors="pt")


# ---------------------------------------------------------------- config


def test_config_defaults_and_roundtrip(tmp_path):
    config = EraConfig()
    assert config.model_type == "era-multimodal-sentiment"
    assert config.encoder_config.model_type == "roberta"
    assert config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert config.to_dict()["auto_map"]["AutoModel"] == "modeling_era.EraModel"
    assert "multimodal-sentiment" in config.to_dict()["custom_pipelines"]
    config.token_top_k = 5
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, EraConfig)
    assert loaded.token_top_k == 5 and loaded.encoder_config.hidden_size == 768


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"token_gate": "relu"}, "token_gate must be one of"),
        ({"uniformity_type": "l2"}, "uniformity_type must be one of"),
        ({"token_top_k": -1}, "token_top_k must be None, 0"),
        ({"image_views": ["caption", "audio"]}, "image_views may contain only"),
        ({"uniformity_weight": -0.5}, "uniformity_weight must be >= 0"),
        ({"encoder_config": {"hidden_size": 8}}, "needs a `model_type`"),
    ],
)
def test_config_rejects_bad_values_with_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EraConfig(**kwargs)


def test_config_keeps_custom_labels():
    config = EraConfig(id2label={0: "sad", 1: "happy"}, label2id={"sad": 0, "happy": 1})
    assert config.num_labels == 2 and config.id2label[1] == "happy"


# ---------------------------------------------------------------- token selection


def test_selectable_mask_excludes_special_and_padding_and_falls_back_when_empty():
    ids = torch.tensor([[101, 7, 8, 102, 0], [101, 102, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    selectable = selectable_token_mask(ids, mask, special_token_ids=[0, 101, 102])
    assert selectable[0].tolist() == [False, True, True, False, False]
    # Row 2 has only special tokens: it falls back to its attended tokens instead of pooling nothing.
    assert selectable[1].tolist() == [True, True, False, False, False]


def test_topk_selects_highest_scores_caps_k_and_never_padding():
    selector = TopKTokenSelector(hidden_size=4, top_k=3, gate="none", scorer_hidden_size=4)
    # A scorer that returns the first feature: token scores are known.
    with torch.no_grad():
        selector.scorer[0].weight.copy_(torch.eye(4))
        selector.scorer[0].bias.zero_()
        selector.scorer[2].weight.copy_(torch.tensor([[1.0, 0, 0, 0]]))
        selector.scorer[2].bias.zero_()
    hidden = torch.zeros(2, 5, 4)
    hidden[:, :, 0] = torch.tensor([[0.1, 0.9, 0.5, 0.7, 0.99], [0.3, 0.2, 0.8, 0.9, 0.95]])
    selectable = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]]).bool()  # last token(s) = padding
    out = selector(hidden, selectable)
    assert out.indices[0].tolist() == [1, 3, 2]  # best first; position 4 (padding) never chosen
    assert out.indices[1].tolist() == [0, 1, -1]  # K capped at 2 valid tokens
    assert out.weights[1].tolist() == pytest.approx([0.5, 0.5, 0.0])
    expected = hidden[1, [0, 1]].mean(0)
    assert torch.allclose(out.pooled[1], expected)


@pytest.mark.parametrize("gate", ["sigmoid", "softmax"])
def test_gated_selection_gives_the_scorer_a_gradient(gate):
    torch.manual_seed(0)
    selector = TopKTokenSelector(hidden_size=8, top_k=2, gate=gate)
    hidden = torch.randn(3, 6, 8)
    out = selector(hidden, torch.ones(3, 6, dtype=torch.bool))
    out.pooled.sum().backward()
    assert selector.scorer[0].weight.grad is not None
    assert selector.scorer[0].weight.grad.abs().sum() > 0


def test_hard_gate_gives_no_scorer_gradient():
    selector = TopKTokenSelector(hidden_size=8, top_k=2, gate="none")
    out = selector(torch.randn(2, 5, 8, requires_grad=True), torch.ones(2, 5, dtype=torch.bool))
    out.pooled.sum().backward()
    assert selector.scorer[0].weight.grad is None


def test_top_k_zero_is_plain_mean_over_valid_tokens():
    selector = TopKTokenSelector(hidden_size=3, top_k=0)
    assert selector.scorer is None
    hidden = torch.arange(12.0).view(1, 4, 3)
    out = selector(hidden, torch.tensor([[True, True, False, False]]))
    assert torch.allclose(out.pooled[0], hidden[0, :2].mean(0))


def test_batch_padding_does_not_change_results(tiny_era, tokenizer):
    texts = ["what a lovely sunny day", "terrible service and cold food, never again at all"]
    alone = [tiny_era(**_pairs(tokenizer, [t])).logits[0] for t in texts]
    together = tiny_era(**_pairs(tokenizer, texts)).logits
    for single, batched in zip(alone, together, strict=True):
        assert torch.allclose(single, batched, atol=1e-5)


# ---------------------------------------------------------------- uniformity


def test_cosine_uniformity_hand_computed():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # cosines: (1,2)=0, (1,3)=(2,3)=1/sqrt2; mean of 6 off-diagonal entries = 2*(2/sqrt2)/6
    expected = (4 / 2**0.5) / 6
    assert uniformity_penalty(z, "cosine").item() == pytest.approx(expected, rel=1e-5)
    assert uniformity_penalty(torch.ones(4, 3), "cosine").item() == pytest.approx(1.0)


def test_gaussian_uniformity_hand_computed_and_collapse_is_worst():
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])  # antipodal: |zi - zj|^2 = 4
    assert uniformity_penalty(z, "gaussian", temperature=2.0).item() == pytest.approx(-8.0, abs=1e-5)
    collapsed = uniformity_penalty(torch.ones(3, 2), "gaussian")
    assert collapsed.item() == pytest.approx(0.0, abs=1e-6)  # log mean exp(0) = 0, its maximum
    spread = uniformity_penalty(torch.randn(16, 8), "gaussian")
    assert spread < collapsed


def test_uniformity_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        uniformity_penalty(torch.ones(1, 4))


# ---------------------------------------------------------------- classifier


def test_loss_is_ce_plus_weighted_uniformity_in_training_only(tiny_era, tokenizer):
    batch = _pairs(tokenizer, ["good", "bad", "fine"], ["a dog", "a storm", "a chair"])
    labels = torch.tensor([2, 0, 1])
    tiny_era.config.uniformity_weight = 0.5
    tiny_era.config.classifier_dropout = 0.0
    tiny_era.dropout.p = 0.0
    tiny_era.train()
    for module in tiny_era.modules():  # deterministic forward, training mode kept for the loss
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    out = tiny_era(**batch, labels=labels)
    ce = torch.nn.functional.cross_entropy(out.logits, labels)
    assert out.uniformity_loss is not None
    assert out.loss.item() == pytest.approx((ce + 0.5 * out.uniformity_loss).item(), rel=1e-5)
    # batch of one: no uniformity term
    single = tiny_era(**_pairs(tokenizer, ["good"]), labels=labels[:1])
    assert single.uniformity_loss is None
    tiny_era.eval()
    evaluated = tiny_era(**batch, labels=labels)
    assert evaluated.uniformity_loss is None
    assert evaluated.loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(evaluated.logits, labels).item(), rel=1e-5
    )


def test_training_steps_reduce_loss(tiny_era, tokenizer):
    batch = _pairs(tokenizer, ["love it", "hate it", "love this", "hate this"])
    labels = torch.tensor([2, 0, 2, 0])
    tiny_era.train()
    optimizer = torch.optim.AdamW(tiny_era.parameters(), lr=5e-3)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = tiny_era(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5


def test_output_selection_returns_evidence(tiny_era, tokenizer):
    batch = _pairs(tokenizer, ["the sun is shining today"], ["a beach with people"])
    plain = tiny_era(**batch)
    assert plain.selected_indices is None and plain.pooled_output is None
    out = tiny_era(**batch, output_selection=True)
    assert out.pooled_output.shape == (1, 32)
    assert out.selected_indices.shape == (1, 4) and out.selected_weights.shape == (1, 4)
    special = set(tokenizer.all_special_ids)
    chosen_ids = batch["input_ids"][0, out.selected_indices[0]].tolist()
    assert not special & set(chosen_ids)
    assert torch.isinf(out.token_scores[0, 0])  # [CLS] is never selectable


def test_bad_labels_raise_clear_error(tiny_era, tokenizer):
    batch = _pairs(tokenizer, ["a", "b"])
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        tiny_era(**batch, labels=torch.tensor([0, 7]))
    with pytest.raises(ValueError, match="Got 1 labels for a batch of 2"):
        tiny_era(**batch, labels=torch.tensor([0]))


def test_missing_inputs_raise_clear_error(tiny_era):
    with pytest.raises(ValueError, match="needs input_ids"):
        tiny_era(attention_mask=torch.ones(1, 3))


# ---------------------------------------------------------------- save / load / Auto / remote code


def test_save_load_weights_equal_and_auto_map(tiny_era_dir, tiny_era):
    config = json.loads((tiny_era_dir / "config.json").read_text())
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSequenceClassification"}
    for name in ("configuration_common.py", "configuration_era.py", "modeling_era.py", "token_selection.py", "model.safetensors"):
        assert (tiny_era_dir / name).exists(), name
    assert not list(tiny_era_dir.glob("*.bin"))
    loaded = AutoModelForSequenceClassification.from_pretrained(tiny_era_dir)
    assert isinstance(loaded, EraForSequenceClassification)
    reference = tiny_era.state_dict()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, reference[key]), key
    base = AutoModel.from_pretrained(tiny_era_dir)
    assert isinstance(base, EraModel)
    assert torch.equal(base.selector.scorer[0].weight, tiny_era.era.selector.scorer[0].weight)


@pytest.mark.slow
def test_remote_code_load_without_the_package(tiny_era_dir, tiny_era, tokenizer, run_without_package):
    batch = _pairs(tokenizer, ["so happy with this"], ["a smiling child"])
    expected = tiny_era(**batch).logits[0].tolist()
    result = run_without_package(
        f"""
        import json, torch
        from transformers import AutoModel, AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained({str(tiny_era_dir)!r}, trust_remote_code=True).eval()
        base = AutoModel.from_pretrained({str(tiny_era_dir)!r}, trust_remote_code=True)
        batch = {{k: torch.tensor(v) for k, v in {({k: v.tolist() for k, v in batch.items()})!r}.items()}}
        print(json.dumps({{"module": type(model).__module__, "base": type(base).__name__,
                          "logits": model(**batch).logits[0].tolist()}}))
        """
    )
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["module"].startswith("transformers_modules.")
    assert payload["base"] == "EraModel"
    assert payload["logits"] == pytest.approx(expected, abs=1e-5)


def test_from_encoder_copies_pretrained_weights(tmp_path, tiny_encoder_config, tokenizer):
    from transformers import BertModel

    torch.manual_seed(1)
    encoder = BertModel(tiny_encoder_config)
    encoder.save_pretrained(tmp_path / "enc")
    tokenizer.save_pretrained(tmp_path / "enc")
    model = EraForSequenceClassification.from_encoder(str(tmp_path / "enc"), token_top_k=3, uniformity_weight=0.2)
    assert model.config.token_top_k == 3 and model.config.uniformity_weight == 0.2
    assert model.config.encoder_name_or_path == str(tmp_path / "enc")
    assert set(model.config.special_token_ids) == set(tokenizer.all_special_ids)
    for key, value in encoder.state_dict().items():
        if not key.startswith("pooler."):
            assert torch.equal(model.era.encoder.state_dict()[key], value), key


@pytest.mark.slow
def test_from_encoder_real_minilm(minilm_path, tokenizer):
    model = EraForSequenceClassification.from_encoder(str(minilm_path), token_top_k=8).eval()
    assert model.config.hidden_size == 384
    out = model(**_pairs(tokenizer, ["great"], ["a cat"]), output_selection=True)
    assert out.logits.shape == (1, 3)


# ---------------------------------------------------------------- issue checklist extras


def test_forward_shapes_for_a_roberta_like_encoder():
    from transformers import RobertaConfig

    encoder = RobertaConfig(
        vocab_size=120, hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=30,
        max_position_embeddings=64, pad_token_id=1,
    )
    model = EraForSequenceClassification(EraConfig(encoder_config=encoder.to_dict(), token_top_k=3, special_token_ids=[0, 1, 2])).eval()
    ids = torch.tensor([[0, 5, 6, 7, 2, 2, 8, 9, 2], [0, 5, 2, 2, 10, 2, 1, 1, 1]])
    out = model(input_ids=ids, attention_mask=(ids != 1).long(), output_selection=True)
    assert out.logits.shape == (2, 3) and out.pooled_output.shape == (2, 24)
    chosen = ids.gather(1, out.selected_indices.clamp(min=0))[out.selected_indices >= 0]
    assert not set(chosen.tolist()) & {0, 1, 2}


def test_k_larger_than_the_sequence_works(tiny_encoder_config, tokenizer):
    config = EraConfig(encoder_config=tiny_encoder_config.to_dict(), token_top_k=50,
                       special_token_ids=sorted(set(tokenizer.all_special_ids)))
    model = EraForSequenceClassification(config).eval()
    batch = _pairs(tokenizer, ["short", "a slightly longer post here"])
    out = model(**batch, output_selection=True)
    valid = (batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"], torch.tensor(tokenizer.all_special_ids))).sum(-1)
    assert ((out.selected_indices >= 0).sum(-1) == valid).all()


def test_lambda_zero_loss_equals_plain_cross_entropy(tiny_era, tokenizer):
    tiny_era.config.uniformity_weight = 0.0
    tiny_era.train()
    for module in tiny_era.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    labels = torch.tensor([0, 2])
    out = tiny_era(**_pairs(tokenizer, ["bad", "good"], ["rain", "sun"]), labels=labels)
    assert out.uniformity_loss is None
    assert out.loss.item() == pytest.approx(torch.nn.functional.cross_entropy(out.logits, labels).item(), rel=1e-6)


def test_cosine_uniformity_is_zero_for_orthogonal_vectors():
    assert uniformity_penalty(torch.eye(4), "cosine").item() == pytest.approx(0.0, abs=1e-7)


def test_saved_model_gives_identical_logits(tiny_era_dir, tiny_era, tokenizer):
    batch = _pairs(tokenizer, ["quite happy", "so sad today"], ["a cake", "a grave"])
    loaded = AutoModelForSequenceClassification.from_pretrained(tiny_era_dir).eval()
    assert torch.equal(loaded(**batch).logits, tiny_era(**batch).logits)


@pytest.mark.slow
def test_trainer_three_steps_checkpoint_loads_without_the_package(tiny_era, tokenizer, tmp_path, run_without_package):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    rows = {"text": ["love it", "hate it", "fine", "great", "awful", "ok"], "label": [2, 0, 1, 2, 0, 1]}
    data = Dataset.from_dict(rows).map(lambda b: tokenizer(b["text"], truncation=True), batched=True, remove_columns=["text"])
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=3, per_device_train_batch_size=2,
                             save_strategy="steps", save_steps=3, report_to="none", use_cpu=True)
    trainer = Trainer(model=tiny_era.train(), args=args, train_dataset=data,
                      data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
    assert trainer.train().global_step == 3
    checkpoint = tmp_path / "out" / "checkpoint-3"
    assert (checkpoint / "modeling_era.py").is_file() and (checkpoint / "model.safetensors").is_file()
    batch = _pairs(tokenizer, ["love it"])
    expected = tiny_era.eval()(**batch).logits[0].tolist()
    result = run_without_package(
        f"""
        import json, torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained({str(checkpoint)!r}, trust_remote_code=True).eval()
        batch = {{k: torch.tensor(v) for k, v in {({k: v.tolist() for k, v in batch.items()})!r}.items()}}
        print(json.dumps(model(**batch).logits[0].tolist()))
        """
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == pytest.approx(expected, abs=1e-5)
