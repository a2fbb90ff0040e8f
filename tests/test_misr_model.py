"""MISR model: config, Gaussian latents, KL / IRMv1 / V-REx, loss, missing images, save/load,
Auto classes, remote code, Trainer."""

from __future__ import annotations

import json
import math

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, CLIPVisionConfig, ViTConfig

from multimodal_sentiment import MisrConfig, MisrForSequenceClassification, MisrModel
from multimodal_sentiment.modeling.invariance import gaussian_kl, irm_penalty, rex_penalty

TEXTS = ["what a lovely sunny day", "terrible service and cold food", "it is a chair", "so proud of my team"]
DESCRIPTIONS = ["people smiling on a beach", "an empty plate", "a wooden chair", "a trophy held high"]
LABELS = torch.tensor([2, 0, 1, 2])


def _tiny_vit() -> ViTConfig:
    return ViTConfig(
        image_size=32, patch_size=8, hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37
    )


def _tiny_clip_vision() -> CLIPVisionConfig:
    return CLIPVisionConfig(
        image_size=32, patch_size=8, hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37
    )


def _no_dropout(model: torch.nn.Module) -> torch.nn.Module:
    """Dropout off everywhere, so training-mode differences come from latent sampling only."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def _text(tokenizer, texts):
    return dict(tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt"))


def _with_descriptions(tokenizer, texts, descriptions):
    batch = _text(tokenizer, texts)
    desc = tokenizer([d or "" for d in descriptions], padding=True, truncation=True, max_length=32, return_tensors="pt")
    batch["description_input_ids"] = desc["input_ids"]
    batch["description_attention_mask"] = desc["attention_mask"]
    return batch


@pytest.fixture
def make_misr(tiny_encoder_config, tokenizer):
    """Factory of tiny random MISR classifiers (3 labels, latent 8) in eval mode."""

    def make(**overrides) -> MisrForSequenceClassification:
        torch.manual_seed(0)
        kwargs = {
            "encoder_config": tiny_encoder_config.to_dict(),
            "latent_size": 8,
            "special_token_ids": sorted(set(tokenizer.all_special_ids)),
            "captioner": None,
        }
        kwargs.update(overrides)
        return MisrForSequenceClassification(MisrConfig(**kwargs)).eval()

    return make


@pytest.fixture
def tiny_misr(make_misr):
    """Description branch through the shared text encoder."""
    return make_misr()


@pytest.fixture
def tiny_misr_vit(make_misr):
    """Pixel branch through a tiny ViT."""
    return make_misr(vision_config=_tiny_vit().to_dict())


# ---------------------------------------------------------------- config


def test_config_defaults_and_roundtrip(tmp_path):
    config = MisrConfig()
    assert config.model_type == "misr-multimodal-sentiment"
    assert config.encoder_config.model_type == "roberta"
    assert config.vision_config is None and config.visual_input == "description"
    assert config.environments == ["joint", "text", "visual"]
    assert (config.invariance_type, config.env_loss, config.share_text_encoder) == ("irm", "mean", True)
    assert config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert config.to_dict()["auto_map"] == {
        "AutoConfig": "configuration_misr.MisrConfig",
        "AutoModel": "modeling_misr.MisrModel",
        "AutoModelForSequenceClassification": "modeling_misr.MisrForSequenceClassification",
    }
    pipeline_entry = config.to_dict()["custom_pipelines"]["multimodal-sentiment"]
    assert pipeline_entry["impl"] == "pipeline_multimodal_sentiment.MultimodalSentimentPipeline"
    assert pipeline_entry["pt"] == ["AutoModelForSequenceClassification"]
    with_vision = MisrConfig(vision_config=_tiny_vit().to_dict(), invariance_type="rex", latent_size=16)
    assert with_vision.visual_input == "pixels" and with_vision.visual_hidden_size == 24
    with_vision.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, MisrConfig)
    assert isinstance(loaded.vision_config, ViTConfig) and loaded.vision_config.image_size == 32
    assert (loaded.invariance_type, loaded.latent_size) == ("rex", 16)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"invariance_type": "dro"}, "invariance_type must be one of"),
        ({"env_loss": "max"}, "env_loss must be one of"),
        ({"environments": ["joint", "audio"]}, "environments must be distinct values"),
        ({"environments": ["text", "visual"]}, "environments must contain 'joint'"),
        ({"kl_weight": -1.0}, "kl_weight must be >= 0"),
        ({"invariance_weight": -0.1}, "invariance_weight must be >= 0"),
        ({"latent_size": 0}, "latent_size must be positive"),
        ({"vision_pooling": "cls"}, "vision_pooling must be one of"),
        ({"image_views": ["caption", "audio"]}, "image_views may contain only"),
        ({"vision_config": {"hidden_size": 8}}, r"vision_config=...\) needs a `model_type`"),
        ({"vision_config": {"model_type": "clip"}}, "pass its `.vision_config`"),
    ],
)
def test_config_rejects_bad_values_with_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MisrConfig(**kwargs)


# ---------------------------------------------------------------- KL, IRMv1, V-REx by hand


def test_kl_is_zero_for_standard_normal_and_hand_computed_otherwise():
    assert gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0
    mean = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # row 1: 0.5*(1 + 1 - 1 - 0) + 0.5*(0 + 2 - 1 - ln 2) = 1 - ln(2)/2; row 2: 0; batch mean halves it
    expected = (1.0 - math.log(2.0) / 2) / 2
    assert gaussian_kl(mean, logvar).item() == pytest.approx(expected, rel=1e-6)


def test_rex_is_zero_for_equal_risks_and_the_variance_otherwise():
    assert rex_penalty(torch.tensor([0.7, 0.7, 0.7])).item() == 0.0
    assert rex_penalty(torch.tensor([1.0, 2.0, 3.0])).item() == pytest.approx(2.0 / 3.0)
    assert rex_penalty(torch.tensor([0.4])).item() == 0.0  # one environment: 0, not NaN


def test_irm_penalty_is_zero_at_the_optimal_scale_and_hand_computed_otherwise():
    # Four identical inputs with logits [ln 3, 0]: p(class 0) = 3/4 at scale 1.
    logits = torch.tensor([[math.log(3.0), 0.0]] * 4)
    # 3 of 4 labels are class 0: the scale already matches the frequencies, d risk / d w = 0.
    risk, penalty = irm_penalty(logits, torch.tensor([0, 0, 0, 1]))
    assert risk.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, torch.tensor([0, 0, 0, 1])).item())
    assert penalty.item() == pytest.approx(0.0, abs=1e-12)
    # Half the labels class 0: d risk / d w = mean((p0 - y0) * ln 3) = (3/4 - 1/2) ln 3 = ln(3)/4.
    _, penalty = irm_penalty(logits, torch.tensor([0, 0, 1, 1]))
    assert penalty.item() == pytest.approx((math.log(3.0) / 4) ** 2, rel=1e-5)


def test_irm_penalty_is_differentiable_in_the_logits():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.3, -0.2]], requires_grad=True)
    _, penalty = irm_penalty(logits, torch.tensor([1, 0]))
    assert penalty.item() > 0
    penalty.backward()  # create_graph=True: the penalty trains the model
    assert logits.grad is not None and logits.grad.abs().sum() > 0


# ---------------------------------------------------------------- shapes and branches


@pytest.mark.parametrize("share", [True, False])
def test_description_branch_shapes(make_misr, tokenizer, share):
    model = make_misr(share_text_encoder=share)
    assert (model.misr.description_encoder is None) == share
    assert model.misr.vision_encoder is None
    base = model.misr(**_with_descriptions(tokenizer, TEXTS, DESCRIPTIONS))
    for name in ("joint_mean", "joint_logvar", "text_mean", "visual_mean", "visual_latent"):
        assert getattr(base, name).shape == (4, 8), name
    assert base.text_pooled.shape == (4, 32) and base.visual_pooled.shape == (4, 32)
    assert base.visual_present.tolist() == [True] * 4
    out = model(**_with_descriptions(tokenizer, TEXTS, DESCRIPTIONS))
    assert out.logits.shape == (4, 3)
    assert set(out.environment_logits) == {"joint", "text", "visual"}
    assert torch.equal(out.logits, out.environment_logits["joint"])
    assert out.loss is None


@pytest.mark.parametrize("vision_config", [_tiny_vit(), _tiny_clip_vision()], ids=["vit", "clip-vision"])
def test_pixel_branch_shapes(make_misr, tokenizer, vision_config):
    model = make_misr(vision_config=vision_config.to_dict())
    assert model.config.visual_input == "pixels"
    assert model.misr.vision_encoder is not None and model.misr.description_encoder is None
    out = model.misr(**_text(tokenizer, TEXTS), pixel_values=torch.randn(4, 3, 32, 32))
    assert out.visual_pooled.shape == (4, 24) and out.joint_mean.shape == (4, 8)
    logits = model(**_text(tokenizer, TEXTS), pixel_values=torch.randn(4, 3, 32, 32)).logits
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()


def test_vision_mean_pooling_drops_the_pooler(make_misr, tokenizer):
    model = make_misr(vision_config=_tiny_vit().to_dict(), vision_pooling="mean")
    assert model.misr.vision_encoder.pooler is None  # unused parameters would break DDP
    pixels = torch.randn(2, 3, 32, 32)
    expected = model.misr.vision_encoder(pixel_values=pixels).last_hidden_state.mean(1)
    out = model.misr(**_text(tokenizer, TEXTS[:2]), pixel_values=pixels)
    assert torch.allclose(out.visual_pooled, expected, atol=1e-6)


def test_environments_are_configurable(make_misr, tokenizer):
    model = make_misr(environments=["joint", "text"])
    assert model.misr.visual_head is None
    out = model.train()(**_with_descriptions(tokenizer, TEXTS, DESCRIPTIONS), labels=LABELS)
    assert set(out.environment_risks) == {"joint", "text"}


def test_wrong_visual_input_raises_clear_error(tiny_misr, tiny_misr_vit, tokenizer):
    with pytest.raises(ValueError, match="reads images as descriptions"):
        tiny_misr(**_text(tokenizer, TEXTS), pixel_values=torch.randn(4, 3, 32, 32))
    with pytest.raises(ValueError, match="reads images as pixels"):
        tiny_misr_vit(**_with_descriptions(tokenizer, TEXTS, DESCRIPTIONS))


# ---------------------------------------------------------------- determinism and loss


def test_eval_is_deterministic_and_training_samples(tiny_misr, tokenizer):
    batch = _with_descriptions(tokenizer, TEXTS, DESCRIPTIONS)
    first, second = tiny_misr(**batch), tiny_misr(**batch)
    assert torch.equal(first.logits, second.logits)
    assert torch.equal(tiny_misr.misr(**batch).joint_latent, tiny_misr.misr(**batch).joint_mean)
    _no_dropout(tiny_misr).train()
    sampled = tiny_misr.misr(**batch)
    assert not torch.equal(sampled.joint_latent, sampled.joint_mean)  # reparameterised sample
    assert torch.allclose(sampled.joint_mean, first.joint_mean, atol=1e-6)  # same mean, no dropout


@pytest.mark.parametrize(
    "invariance_type, env_loss", [("irm", "mean"), ("rex", "mean"), ("irm", "joint")], ids=["irm", "rex", "joint-ce"]
)
def test_loss_is_ce_plus_beta_kl_plus_gamma_penalty(make_misr, tokenizer, invariance_type, env_loss):
    model = _no_dropout(
        make_misr(invariance_type=invariance_type, env_loss=env_loss, kl_weight=0.3, invariance_weight=2.0)
    ).train()
    batch = _with_descriptions(tokenizer, TEXTS, DESCRIPTIONS)
    torch.manual_seed(1)
    out = model(**batch, labels=LABELS)
    risks = out.environment_risks
    assert set(risks) == {"joint", "text", "visual"}
    for env, env_logits in out.environment_logits.items():  # each risk is that environment's CE
        assert risks[env].item() == pytest.approx(
            torch.nn.functional.cross_entropy(env_logits, LABELS).item(), rel=1e-5
        )
    stacked = torch.stack(list(risks.values()))
    expected_ce = stacked.mean() if env_loss == "mean" else risks["joint"]
    assert out.ce_loss.item() == pytest.approx(expected_ce.item(), rel=1e-6)
    # KL: the three Gaussians' KL, from the (deterministic without dropout) means and log-variances,
    # worked out in plain Python: per row 0.5 * sum_d (m^2 + e^lv - 1 - lv), averaged over rows.
    base = model.misr(**batch)
    kl = 0.0
    for env in ("joint", "text", "visual"):
        means, logvars = getattr(base, f"{env}_mean").tolist(), getattr(base, f"{env}_logvar").tolist()
        rows = [
            0.5 * sum(m * m + math.exp(lv) - 1.0 - lv for m, lv in zip(mean, logvar, strict=True))
            for mean, logvar in zip(means, logvars, strict=True)
        ]
        kl += sum(rows) / len(rows)
    assert out.kl_loss.item() == pytest.approx(kl, rel=1e-5)
    if invariance_type == "rex":
        # V-REx: the population variance of the environment risks.
        values = [r.item() for r in risks.values()]
        mean_risk = sum(values) / len(values)
        assert out.invariance_penalty.item() == pytest.approx(
            sum((v - mean_risk) ** 2 for v in values) / len(values), rel=1e-4
        )
    else:
        # IRMv1 per environment: (d CE(w * logits) / dw at w = 1)^2, where the derivative is
        # mean_i (sum_c p_ic z_ic - z_i,y_i); then the mean over the environments.
        penalties = []
        for env_logits in out.environment_logits.values():
            grads = []
            for row, label in zip(env_logits.tolist(), LABELS.tolist(), strict=True):
                z = sum(math.exp(v) for v in row)
                grads.append(sum(math.exp(v) / z * v for v in row) - row[label])
            penalties.append((sum(grads) / len(grads)) ** 2)
        assert out.invariance_penalty.item() == pytest.approx(sum(penalties) / len(penalties), rel=1e-4)
    assert out.invariance_penalty.item() > 0
    expected = out.ce_loss + 0.3 * out.kl_loss + 2.0 * out.invariance_penalty
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    out.loss.backward()
    assert model.misr.joint_head.mean.weight.grad.abs().sum() > 0


def test_eval_loss_is_joint_cross_entropy_without_regularisers(tiny_misr, tokenizer):
    out = tiny_misr(**_with_descriptions(tokenizer, TEXTS, DESCRIPTIONS), labels=LABELS)
    assert out.kl_loss is None and out.invariance_penalty is None
    assert out.loss.item() == pytest.approx(torch.nn.functional.cross_entropy(out.logits, LABELS).item(), rel=1e-6)


def test_zero_invariance_weight_skips_the_penalty(make_misr, tokenizer):
    model = _no_dropout(make_misr(invariance_weight=0.0, kl_weight=0.5)).train()
    out = model(**_with_descriptions(tokenizer, TEXTS, DESCRIPTIONS), labels=LABELS)
    assert out.invariance_penalty is None
    assert out.loss.item() == pytest.approx((out.ce_loss + 0.5 * out.kl_loss).item(), rel=1e-6)


def test_bad_labels_raise_clear_error(tiny_misr, tokenizer):
    batch = _with_descriptions(tokenizer, TEXTS[:2], DESCRIPTIONS[:2])
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        tiny_misr(**batch, labels=torch.tensor([0, 7]))
    with pytest.raises(ValueError, match="Got 1 labels for a batch of 2"):
        tiny_misr(**batch, labels=torch.tensor([0]))


# ---------------------------------------------------------------- missing visual input


def test_missing_descriptions_use_the_missing_embedding_and_leave_the_visual_risk(tiny_misr, tokenizer):
    batch = _with_descriptions(tokenizer, TEXTS, [None, DESCRIPTIONS[1], "", DESCRIPTIONS[3]])
    base = tiny_misr.misr(**batch)
    assert base.visual_present.tolist() == [False, True, False, True]
    missing = tiny_misr.misr.missing_visual.weight[0]
    assert torch.equal(base.visual_pooled[0], missing) and torch.equal(base.visual_pooled[2], missing)
    assert not torch.equal(base.visual_pooled[1], missing)

    out = _no_dropout(tiny_misr).train()(**batch, labels=LABELS)
    present = torch.tensor([False, True, False, True])
    visual_ce = torch.nn.functional.cross_entropy(out.environment_logits["visual"][present], LABELS[present])
    assert out.environment_risks["visual"].item() == pytest.approx(visual_ce.item(), rel=1e-5)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert tiny_misr.misr.missing_visual.weight.grad.abs().sum() > 0  # the marker is learned


def test_batch_without_any_visual_input_skips_the_visual_environment(tiny_misr, tokenizer):
    text_only = _text(tokenizer, TEXTS)
    empty = _with_descriptions(tokenizer, TEXTS, [""] * 4)
    # No description at all and empty descriptions mean the same thing to the model.
    assert torch.allclose(tiny_misr(**text_only).logits, tiny_misr(**empty).logits, atol=1e-6)
    out = _no_dropout(tiny_misr).train()(**text_only, labels=LABELS)
    assert set(out.environment_risks) == {"joint", "text"}
    assert out.visual_present.tolist() == [False] * 4
    assert torch.isfinite(out.loss)
    out.loss.backward()


def test_pixel_model_without_pixels_or_with_has_visual_mask(tiny_misr_vit, tokenizer):
    no_pixels = tiny_misr_vit(**_text(tokenizer, TEXTS))
    assert no_pixels.visual_present.tolist() == [False] * 4 and no_pixels.logits.shape == (4, 3)
    pixels = torch.randn(4, 3, 32, 32)
    pixels[1] = 0.0  # a collator's placeholder for a post without image
    has_visual = torch.tensor([True, False, True, True])
    masked = tiny_misr_vit(**_text(tokenizer, TEXTS), pixel_values=pixels, has_visual=has_visual)
    assert masked.visual_present.tolist() == has_visual.tolist()
    assert torch.allclose(masked.logits[1], no_pixels.logits[1], atol=1e-6)
    out = tiny_misr_vit.train()(**_text(tokenizer, TEXTS), pixel_values=pixels, has_visual=has_visual, labels=LABELS)
    out.loss.backward()


# ---------------------------------------------------------------- save / load / Auto / remote code


def _assert_same_weights(model: torch.nn.Module, reference: dict[str, torch.Tensor], prefix: str = "") -> None:
    state = model.state_dict()
    assert state, "no weights"
    for key, value in state.items():
        assert torch.equal(value, reference[prefix + key]), key


@pytest.mark.parametrize("variant", ["description-separate", "vit"])
def test_save_load_weights_equal_and_auto_classes(make_misr, tmp_path, variant):
    overrides = {"share_text_encoder": False} if variant != "vit" else {"vision_config": _tiny_vit().to_dict()}
    model = make_misr(**overrides)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "misr-multimodal-sentiment"
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSequenceClassification"}
    for name in (
        "configuration_misr.py",
        "modeling_misr.py",
        "invariance.py",
        "configuration_common.py",
        "token_selection.py",
    ):
        assert (tmp_path / name).exists(), name
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert isinstance(loaded, MisrForSequenceClassification)
    _assert_same_weights(loaded, model.state_dict())
    base = AutoModel.from_pretrained(tmp_path)
    assert isinstance(base, MisrModel)
    _assert_same_weights(base, model.state_dict(), prefix="misr.")


@pytest.mark.slow
def test_remote_code_load_and_pipeline_without_the_package(make_misr, tokenizer, tmp_path, run_without_package):
    models = {
        "description": make_misr(),
        "vit": make_misr(vision_config=_tiny_vit().to_dict()),
    }
    torch.manual_seed(3)
    batches = {
        "description": _with_descriptions(tokenizer, TEXTS[:2], [DESCRIPTIONS[0], None]),
        "vit": {**_text(tokenizer, TEXTS[:2]), "pixel_values": torch.randn(2, 3, 32, 32)},
    }
    expected = {}
    for name, model in models.items():
        model.save_pretrained(tmp_path / name)
        expected[name] = model(**batches[name]).logits.tolist()
    tokenizer.save_pretrained(tmp_path / "description")
    post = {"text": TEXTS[0], "image_description": DESCRIPTIONS[0]}
    expected_scores = torch.softmax(torch.tensor(expected["description"][0]), -1).tolist()
    inputs = {name: {k: v.tolist() for k, v in batch.items()} for name, batch in batches.items()}
    result = run_without_package(
        f"""
        import json, torch
        from transformers import AutoModel, AutoModelForSequenceClassification
        payload = {{}}
        for name, batch in {inputs!r}.items():
            folder = {str(tmp_path)!r} + "/" + name
            model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
            base = AutoModel.from_pretrained(folder, trust_remote_code=True)
            batch = {{k: torch.tensor(v) for k, v in batch.items()}}
            payload[name] = {{"module": type(model).__module__, "base": type(base).__name__,
                             "logits": model(**batch).logits.tolist()}}
        from transformers import pipeline
        classifier = pipeline(model={str(tmp_path / "description")!r}, trust_remote_code=True, device="cpu")
        payload["pipeline"] = classifier({post!r})
        print(json.dumps(payload))
        """
    )
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    for name, logits in expected.items():
        assert payload[name]["module"].startswith("transformers_modules.")
        assert payload[name]["base"] == "MisrModel"
        for got, want in zip(payload[name]["logits"], logits, strict=True):
            assert got == pytest.approx(want, abs=1e-5)
    served = payload["pipeline"]
    assert list(served["scores"].values()) == pytest.approx(expected_scores, abs=1e-5)
    assert served["image_description"] == DESCRIPTIONS[0]


def test_from_encoder_copies_pretrained_weights(tmp_path, tiny_encoder_config, tokenizer):
    from transformers import BertModel, ViTModel

    torch.manual_seed(1)
    encoder = BertModel(tiny_encoder_config)
    encoder.save_pretrained(tmp_path / "enc")
    tokenizer.save_pretrained(tmp_path / "enc")
    vit = ViTModel(_tiny_vit())
    vit.save_pretrained(tmp_path / "vit")
    model = MisrForSequenceClassification.from_encoder(str(tmp_path / "enc"), share_text_encoder=False, latent_size=4)
    assert model.config.latent_size == 4 and model.config.encoder_name_or_path == str(tmp_path / "enc")
    assert set(model.config.special_token_ids) == set(tokenizer.all_special_ids)
    reference = {k: v for k, v in encoder.state_dict().items() if not k.startswith("pooler.")}
    for branch in (model.misr.text_encoder, model.misr.description_encoder):
        _assert_same_weights(branch, reference)
    with_vit = MisrModel.from_encoder(str(tmp_path / "enc"), vision_encoder_name_or_path=str(tmp_path / "vit"))
    assert with_vit.config.vision_name_or_path == str(tmp_path / "vit")
    _assert_same_weights(with_vit.vision_encoder, vit.state_dict())


def test_from_encoder_takes_the_vision_tower_of_a_clip_checkpoint(tmp_path, tiny_encoder_config, tokenizer):
    from transformers import BertModel, CLIPConfig, CLIPModel

    BertModel(tiny_encoder_config).save_pretrained(tmp_path / "enc")
    tokenizer.save_pretrained(tmp_path / "enc")
    clip_config = CLIPConfig(
        text_config={"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16},
        vision_config=_tiny_clip_vision().to_dict(),
        projection_dim=8,
    )
    clip = CLIPModel(clip_config)
    clip.save_pretrained(tmp_path / "clip")
    model = MisrModel.from_encoder(str(tmp_path / "enc"), vision_encoder_name_or_path=str(tmp_path / "clip"))
    assert model.config.vision_config.model_type == "clip_vision_model"
    _assert_same_weights(model.vision_encoder, clip.vision_model.state_dict())


def test_pipeline_serves_saved_misr_folders(make_misr, tokenizer, tmp_path):
    from PIL import Image
    from transformers import ViTImageProcessor, pipeline

    described = make_misr()
    described.save_pretrained(tmp_path / "description")
    tokenizer.save_pretrained(tmp_path / "description")
    classifier = pipeline(
        "multimodal-sentiment", model=str(tmp_path / "description"), trust_remote_code=True, device="cpu"
    )
    post = {"text": TEXTS[1], "image_description": DESCRIPTIONS[1]}
    want = described(**_with_descriptions(tokenizer, [TEXTS[1]], [DESCRIPTIONS[1]])).logits.softmax(-1)[0]
    assert list(classifier(post)["scores"].values()) == pytest.approx(want.tolist(), abs=1e-5)
    text_only = described(**_text(tokenizer, [TEXTS[1]])).logits.softmax(-1)[0]
    assert list(classifier({"text": TEXTS[1]})["scores"].values()) == pytest.approx(text_only.tolist(), abs=1e-5)

    pixels = make_misr(vision_config=_tiny_vit().to_dict())
    processor = ViTImageProcessor(size={"height": 32, "width": 32})
    for part in (pixels, tokenizer, processor):
        part.save_pretrained(tmp_path / "vit")
    classifier = pipeline("multimodal-sentiment", model=str(tmp_path / "vit"), trust_remote_code=True, device="cpu")
    image = Image.new("RGB", (40, 48), (200, 30, 90))
    pixel_values = processor(images=[image], return_tensors="pt")["pixel_values"]
    want = pixels(**_text(tokenizer, [TEXTS[0]]), pixel_values=pixel_values).logits.softmax(-1)[0]
    served = classifier({"text": TEXTS[0], "image": image})
    assert list(served["scores"].values()) == pytest.approx(want.tolist(), abs=1e-5)
    no_image = pixels(**_text(tokenizer, [TEXTS[0]])).logits.softmax(-1)[0]
    assert list(classifier({"text": TEXTS[0]})["scores"].values()) == pytest.approx(no_image.tolist(), abs=1e-5)


# ---------------------------------------------------------------- Trainer


class _PairCollator:
    """Tokenizes posts and descriptions separately, each padded to its batch's longest."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        batch = _with_descriptions(self.tokenizer, [r["text"] for r in rows], [r["description"] for r in rows])
        batch["labels"] = torch.tensor([r["label"] for r in rows])
        return batch


def test_trainer_three_steps_checkpoint_loads_and_evaluates(tiny_misr, tokenizer, tmp_path):
    from transformers import Trainer, TrainingArguments

    rows = [
        {"text": t, "description": d, "label": int(y)}
        for t, d, y in zip(
            TEXTS * 2, DESCRIPTIONS + [None, "", DESCRIPTIONS[2], None], LABELS.tolist() * 2, strict=True
        )
    ]
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        per_device_eval_batch_size=3,  # uneven last batch: outputs must concatenate across batches
        max_steps=3,
        learning_rate=1e-3,
        save_steps=3,
        logging_steps=1,
        report_to=[],
        remove_unused_columns=False,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=tiny_misr.train(),
        args=args,
        train_dataset=rows,
        eval_dataset=rows,
        data_collator=_PairCollator(tokenizer),
    )
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert math.isfinite(result.training_loss)

    metrics = trainer.evaluate()
    assert math.isfinite(metrics["eval_loss"])
    predictions = trainer.predict(rows)
    # Diagnostics (risks, KL, dicts) are ignored at inference: predictions are the logits alone.
    assert isinstance(predictions.predictions, type(predictions.label_ids)) and predictions.predictions.shape == (8, 3)

    checkpoint = tmp_path / "out" / "checkpoint-3"
    for name in ("modeling_misr.py", "pipeline_multimodal_sentiment.py", "model.safetensors"):
        assert (checkpoint / name).exists(), name
    loaded = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    assert isinstance(loaded, MisrForSequenceClassification)
    _assert_same_weights(loaded, trainer.model.state_dict())
