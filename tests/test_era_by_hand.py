"""ERA's training loss and Top-K pooling against values worked out by hand (plain Python math):
the uniformity penalty reads the pooled post vectors (not the logits), `class_weights` weight the
cross-entropy, and the sigmoid gate divides by the number of pooled tokens."""

from __future__ import annotations

import math

import pytest
import torch

from multimodal_sentiment import EraConfig, EraForSequenceClassification
from multimodal_sentiment.modeling.token_selection import TopKTokenSelector
from multimodal_sentiment.training.train import resolve_class_weights


def _cosine(u: list[float], v: list[float]) -> float:
    dot = sum(a * b for a, b in zip(u, v, strict=True))
    return dot / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))


def _mean_off_diagonal_cosine(rows: list[list[float]]) -> float:
    pairs = [(i, j) for i in range(len(rows)) for j in range(len(rows)) if i != j]
    return sum(_cosine(rows[i], rows[j]) for i, j in pairs) / len(pairs)


def _cross_entropy(logits: list[list[float]], labels: list[int], weights: list[float] | None = None) -> float:
    """sum_i w[y_i] * -log softmax(logits_i)[y_i] / sum_i w[y_i] (PyTorch's weighted mean)."""
    weights = weights or [1.0] * len(logits[0])
    total = norm = 0.0
    for row, label in zip(logits, labels, strict=True):
        log_z = math.log(sum(math.exp(v) for v in row))
        total += weights[label] * (log_z - row[label])
        norm += weights[label]
    return total / norm


def _no_dropout(model: torch.nn.Module) -> torch.nn.Module:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


# ---------------------------------------------------------------- uniformity reads the pooled vectors


@pytest.mark.parametrize("weight", [0.5, 2.0])
def test_training_loss_adds_the_cosine_uniformity_of_the_pooled_vectors(tiny_era, tokenizer, weight):
    tiny_era.config.uniformity_weight = weight
    model = _no_dropout(tiny_era).train()
    batch = tokenizer(
        ["good", "bad", "fine", "awful news today"], ["a dog", "a storm", "a chair", "a grave"],
        padding=True, return_tensors="pt",
    )  # fmt: skip
    labels = [2, 0, 1, 0]
    out = model(**batch, labels=torch.tensor(labels), output_selection=True)
    pooled = out.pooled_output.tolist()
    logits = out.logits.tolist()
    expected_uniformity = _mean_off_diagonal_cosine(pooled)
    # The test tells the two apart: the same statistic on the logits is a different number.
    assert abs(expected_uniformity - _mean_off_diagonal_cosine(logits)) > 1e-3
    assert out.uniformity_loss.item() == pytest.approx(expected_uniformity, rel=1e-5)
    expected_loss = _cross_entropy(logits, labels) + weight * expected_uniformity
    assert out.loss.item() == pytest.approx(expected_loss, rel=1e-5)


def test_gaussian_uniformity_of_the_pooled_vectors(tiny_era, tokenizer):
    tiny_era.config.uniformity_type = "gaussian"
    tiny_era.config.uniformity_temperature = 2.0
    model = _no_dropout(tiny_era).train()
    batch = tokenizer(["good", "bad", "it is fine"], padding=True, return_tensors="pt")
    out = model(**batch, labels=torch.tensor([2, 0, 1]), output_selection=True)
    pooled = out.pooled_output.tolist()
    # log mean_{i != j} exp(-t |zi - zj|^2) on unit vectors, |zi - zj|^2 = 2 - 2 cos.
    terms = [
        math.exp(-2.0 * (2.0 - 2.0 * _cosine(pooled[i], pooled[j])))
        for i in range(3) for j in range(3) if i != j
    ]  # fmt: skip
    assert out.uniformity_loss.item() == pytest.approx(math.log(sum(terms) / len(terms)), rel=1e-4, abs=1e-6)


# ---------------------------------------------------------------- class-weighted cross-entropy


def _fixed_logit_model(tiny_encoder_config, tokenizer, bias: list[float], class_weights: list[float] | None):
    """A tiny ERA whose head ignores the post: logits = bias for every row."""
    config = EraConfig(
        encoder_config=tiny_encoder_config.to_dict(),
        token_top_k=4,
        special_token_ids=sorted(set(tokenizer.all_special_ids)),
        captioner=None,
        class_weights=class_weights,
    )
    model = EraForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    return model


# An imbalanced batch: three positives, one negative, one neutral.
IMBALANCED_LABELS = [2, 2, 2, 0, 1]
# Probabilities 1/6, 2/6, 3/6 for negative, neutral, positive in every row.
THIRDS_BIAS = [math.log(1.0), math.log(2.0), math.log(3.0)]


def test_balanced_class_weights_are_n_over_k_times_count():
    # n = 5, k = 3: negative and neutral occur once (5 / 3), positive three times (5 / 9).
    assert resolve_class_weights("balanced", IMBALANCED_LABELS, 3) == pytest.approx([5 / 3, 5 / 3, 5 / 9])
    assert resolve_class_weights("1,2,0.5", IMBALANCED_LABELS, 3) == [1.0, 2.0, 0.5]
    assert resolve_class_weights(None, IMBALANCED_LABELS, 3) is None
    with pytest.raises(ValueError, match=r"--class_weights balanced: labels \[1\] never occur in the training split"):
        resolve_class_weights("balanced", [0, 2, 2], 3)
    with pytest.raises(ValueError, match="--class_weights must be 'balanced' or comma-separated numbers, got 'heavy'"):
        resolve_class_weights("heavy", IMBALANCED_LABELS, 3)


def test_class_weights_weight_the_cross_entropy(tiny_encoder_config, tokenizer):
    batch = tokenizer(["a", "b", "c", "d", "e"], padding=True, return_tensors="pt")
    labels = torch.tensor(IMBALANCED_LABELS)
    plain = _fixed_logit_model(tiny_encoder_config, tokenizer, THIRDS_BIAS, None)
    weighted = _fixed_logit_model(tiny_encoder_config, tokenizer, THIRDS_BIAS, [5 / 3, 5 / 3, 5 / 9])
    # Unweighted: (3 ln 2 + ln 6 + ln 3) / 5.
    assert plain(**batch, labels=labels).loss.item() == pytest.approx(
        (3 * math.log(2) + math.log(6) + math.log(3)) / 5, rel=1e-6
    )
    # Weighted: (3 * 5/9 * ln 2 + 5/3 * ln 6 + 5/3 * ln 3) / (3 * 5/9 + 5/3 + 5/3) = (ln 2 + ln 6 + ln 3) / 3.
    assert weighted(**batch, labels=labels).loss.item() == pytest.approx(math.log(36) / 3, rel=1e-6)
    # Any weights: the helper's formula agrees, and moving weight onto the rare class changes the loss.
    skewed = _fixed_logit_model(tiny_encoder_config, tokenizer, THIRDS_BIAS, [4.0, 1.0, 0.25])
    logits = [THIRDS_BIAS] * 5
    assert skewed(**batch, labels=labels).loss.item() == pytest.approx(
        _cross_entropy(logits, IMBALANCED_LABELS, [4.0, 1.0, 0.25]), rel=1e-6
    )


def test_class_weights_survive_save_and_load(tiny_encoder_config, tokenizer, tmp_path):
    model = _fixed_logit_model(tiny_encoder_config, tokenizer, THIRDS_BIAS, [5 / 3, 5 / 3, 5 / 9])
    model.save_pretrained(tmp_path / "weighted")
    loaded = EraForSequenceClassification.from_pretrained(tmp_path / "weighted").eval()
    assert loaded.config.class_weights == pytest.approx([5 / 3, 5 / 3, 5 / 9])
    batch = tokenizer(["a", "b", "c", "d", "e"], padding=True, return_tensors="pt")
    assert loaded(**batch, labels=torch.tensor(IMBALANCED_LABELS)).loss.item() == pytest.approx(
        math.log(36) / 3, rel=1e-6
    )


def test_class_weights_must_give_one_positive_weight_per_label(tiny_encoder_config):
    with pytest.raises(ValueError, match=r"class_weights needs one positive weight per label \(3\), got \[1.0, 2.0\]"):
        EraConfig(encoder_config=tiny_encoder_config.to_dict(), class_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="class_weights needs one positive weight per label"):
        EraConfig(encoder_config=tiny_encoder_config.to_dict(), class_weights=[1.0, 0.0, 1.0])


# ---------------------------------------------------------------- the gate's weights


def _first_feature_selector(top_k: int, gate: str) -> TopKTokenSelector:
    """Score of a token = tanh(its first feature): known by hand."""
    selector = TopKTokenSelector(hidden_size=3, top_k=top_k, gate=gate, scorer_hidden_size=3)
    with torch.no_grad():
        selector.scorer[0].weight.copy_(torch.eye(3))
        selector.scorer[0].bias.zero_()
        selector.scorer[2].weight.copy_(torch.tensor([[1.0, 0.0, 0.0]]))
        selector.scorer[2].bias.zero_()
    return selector


HIDDEN = torch.tensor(
    [
        [[0.2, 1.0, 0.0], [0.9, 0.0, 1.0], [-0.5, 2.0, 2.0], [0.6, 3.0, -1.0]],
        [[0.4, 1.0, 1.0], [-0.3, -1.0, 2.0], [5.0, 5.0, 5.0], [5.0, 5.0, 5.0]],  # last two: padding
    ]
)
SELECTABLE = torch.tensor([[True, True, True, True], [True, True, False, False]])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_sigmoid_gate_weights_are_sigmoid_of_the_score_over_k():
    out = _first_feature_selector(top_k=3, gate="sigmoid")(HIDDEN, SELECTABLE)
    # Row 1: scores tanh(0.2), tanh(0.9), tanh(-0.5), tanh(0.6); the best three are tokens 1, 3, 0.
    assert out.indices[0].tolist() == [1, 3, 0]
    row1 = [_sigmoid(math.tanh(HIDDEN[0, i, 0].item())) / 3 for i in (1, 3, 0)]
    assert out.weights[0].tolist() == pytest.approx(row1, rel=1e-6)
    pooled1 = [sum(w * HIDDEN[0, i, d].item() for w, i in zip(row1, (1, 3, 0), strict=True)) for d in range(3)]
    assert out.pooled[0].tolist() == pytest.approx(pooled1, rel=1e-6)
    # Row 2 has two selectable tokens: K is capped at 2, so each weight is sigmoid(score) / 2.
    assert out.indices[1].tolist() == [0, 1, -1]
    row2 = [_sigmoid(math.tanh(0.4)) / 2, _sigmoid(math.tanh(-0.3)) / 2, 0.0]
    assert out.weights[1].tolist() == pytest.approx(row2, rel=1e-6, abs=1e-9)
    pooled2 = [row2[0] * HIDDEN[1, 0, d].item() + row2[1] * HIDDEN[1, 1, d].item() for d in range(3)]
    assert out.pooled[1].tolist() == pytest.approx(pooled2, rel=1e-6)


def test_softmax_gate_weights_sum_to_one_over_the_chosen_tokens():
    out = _first_feature_selector(top_k=2, gate="softmax")(HIDDEN, SELECTABLE)
    s1, s3 = math.tanh(0.9), math.tanh(0.6)
    assert out.indices[0].tolist() == [1, 3]
    assert out.weights[0].tolist() == pytest.approx(
        [math.exp(s1) / (math.exp(s1) + math.exp(s3)), math.exp(s3) / (math.exp(s1) + math.exp(s3))], rel=1e-6
    )
    a, b = math.tanh(0.4), math.tanh(-0.3)
    assert out.weights[1].tolist() == pytest.approx([math.exp(a) / (math.exp(a) + math.exp(b)), math.exp(b) / (math.exp(a) + math.exp(b))], rel=1e-6)
