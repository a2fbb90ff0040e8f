"""Shared by test_export.py and test_hub_roundtrip.py: reference predictions of a source model,
and the code a package-free interpreter runs to load a checkpoint and predict with it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

PAIRS = [("so happy with this", "a smiling child on a beach"), ("terrible day, never again", "a storm over a grey city")]
TOLERANCE = 1e-5


def reference_logits(model: Any, tokenizer: Any) -> list[list[float]]:
    """Logits of the source model on PAIRS (text first, description second, as the pipeline does)."""
    import torch

    texts, descriptions = zip(*PAIRS, strict=True)
    batch = tokenizer(list(texts), list(descriptions), padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return model.eval()(**batch).logits.tolist()


def assert_logits_close(got: list[list[float]], want: list[list[float]], atol: float = TOLERANCE) -> None:
    import torch

    torch.testing.assert_close(torch.tensor(got), torch.tensor(want), atol=atol, rtol=0)


def isolated_predict_code(model_ref: str, revision: str | None = None, task: str | None = "multimodal-sentiment") -> str:
    """Python source: load `model_ref` with trust_remote_code only, print logits and pipeline outputs as JSON.

    `task=None` calls `pipeline(model=...)`, which must find the task in config.custom_pipelines.
    """
    return f"""
    import json, torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    ref, revision, pairs = {model_ref!r}, {revision!r}, {PAIRS!r}
    # transformers 5 reads config.json (remote code) even for a stock tokenizer: without the flag it prompts.
    tokenizer = AutoTokenizer.from_pretrained(ref, revision=revision, trust_remote_code=True)
    model = AutoModelForSequenceClassification.from_pretrained(ref, revision=revision, trust_remote_code=True).eval()
    texts, descriptions = [p[0] for p in pairs], [p[1] for p in pairs]
    batch = tokenizer(texts, descriptions, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits.tolist()
    task = {task!r}
    kwargs = dict(model=ref, revision=revision, trust_remote_code=True, device="cpu")
    classifier = pipeline(task, **kwargs) if task else pipeline(**kwargs)
    outputs = [classifier({{"text": t, "image_description": d}}) for t, d in pairs]
    print(json.dumps({{"module": type(model).__module__, "pipeline": type(classifier).__name__,
                      "logits": logits, "outputs": outputs}}))
    """


def payload(result: Any) -> dict[str, Any]:
    """The JSON line an isolated run printed last."""
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_predicts_like(found: dict[str, Any], expected_logits: list[list[float]], labels: list[str]) -> None:
    """Same logits as the source; the pipeline's label/score/scores agree with them."""
    assert found["module"].startswith("transformers_modules."), "the model must come from the checkpoint's code"
    assert found["pipeline"] == "MultimodalSentimentPipeline"
    assert_logits_close(found["logits"], expected_logits)
    for output, (_text, description), logits in zip(found["outputs"], PAIRS, expected_logits, strict=True):
        assert set(output) >= {"label", "score", "scores"}
        total = sum(math.exp(v) for v in logits)
        expected = {label: math.exp(v) / total for label, v in zip(labels, logits, strict=True)}
        assert output["scores"] == pytest.approx(expected, abs=1e-4)
        assert output["label"] == max(expected, key=expected.get)
        assert output["score"] == pytest.approx(max(expected.values()), abs=1e-4)
        assert output.get("image_description", description) == description
