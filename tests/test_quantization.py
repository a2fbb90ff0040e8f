"""int8 CPU path: `pipeline(..., quantize="int8")` / `captioner_quantize="int8"` and its refusals."""

from __future__ import annotations

import itertools

import helpers
import pytest
import torch
from PIL import Image
from transformers import pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from multimodal_sentiment import MultimodalSentimentPipeline
from multimodal_sentiment.modeling.quantization import check_quantizable, check_quantize

WORDS = ["great", "awful", "happy", "sad", "rain", "sun", "love", "hate", "tired", "party", "cancelled", "win"]
DESCRIPTIONS = ["a dog on a beach", "a rainy street", "people smiling", None]
# A fixed set of 48 posts: every pair of words with one of the descriptions.
FIXED_SET = [
    {"text": f"{a} day, so {b}", "image_description": DESCRIPTIONS[i % len(DESCRIPTIONS)]}
    for i, (a, b) in enumerate(itertools.islice(itertools.permutations(WORDS, 2), 48))
]


def _pipeline(folder, **kwargs):
    return pipeline(
        "multimodal-sentiment",
        model=str(folder),
        pipeline_class=MultimodalSentimentPipeline,
        device="cpu",
        **kwargs,
    )


def _quantized_names(model: torch.nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if module._get_name() == "DynamicQuantizedLinear"]


def test_int8_classifier_agrees_with_fp32_on_a_fixed_set(tiny_era_dir):
    fp32 = _pipeline(tiny_era_dir)
    int8 = _pipeline(tiny_era_dir, quantize="int8")
    assert not _quantized_names(fp32.model)
    quantized = _quantized_names(int8.model)
    # The encoder's projections are int8; the down-projections (feed-forward outputs), the token
    # scorer and the head stay fp32.
    assert any(name.endswith("attention.self.query") for name in quantized), quantized
    assert any(name.endswith("intermediate.dense") for name in quantized), quantized
    assert not any(name.endswith("output.dense") and "attention" not in name for name in quantized)
    assert not any(name.startswith(("classifier", "era.selector")) for name in quantized)

    expected = fp32(FIXED_SET, batch_size=8)
    got = int8(FIXED_SET, batch_size=8)
    agree = sum(a["label"] == b["label"] for a, b in zip(expected, got, strict=True))
    assert agree / len(FIXED_SET) >= 0.95, f"{agree}/{len(FIXED_SET)} labels equal to fp32"
    # Quantized for real: the scores move, a little.
    differences = [abs(a["score"] - b["score"]) for a, b in zip(expected, got, strict=True)]
    assert 0 < max(differences) < 0.1


def test_int8_captioner_is_quantized_when_it_loads_and_still_captions(tiny_era_dir, tokenizer, tmp_path):
    blip = helpers.build_tiny_blip(tmp_path / "blip", tokenizer)
    classifier = _pipeline(
        tiny_era_dir, captioner=str(blip), captioner_prompt="a picture of", captioner_max_new_tokens=4,
        captioner_quantize="int8",
    )
    assert not _quantized_names(classifier.model)  # the classifier switch is separate
    result = classifier({"text": "hello", "image": Image.new("RGB", (40, 30), "red")})
    assert isinstance(result["image_description"], str)
    model = classifier.describer.view("caption").model
    quantized = _quantized_names(model)
    assert any("vision_model" in name for name in quantized), quantized
    assert any("text_decoder" in name for name in quantized), quantized
    # int8 captions are cached apart from fp32 ones
    assert classifier.describer.view("caption").identity()["quantize"] == "int8"


@pytest.mark.parametrize(
    ("device", "dtype", "message"),
    [
        ("cuda:0", None, "quantize='int8' is dynamic int8 quantization for CPU inference, but the pipeline runs on cuda:0"),
        ("mps", None, "but the pipeline runs on mps"),
        ("cpu", torch.float16, "quantize='int8' quantizes float32 weights, but dtype=torch.float16 was requested"),
    ],
)
def test_int8_is_refused_where_it_does_not_apply(device, dtype, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_quantizable(device, dtype)


def test_pipeline_refuses_bad_quantize_values_and_half_precision(tiny_era_dir):
    with pytest.raises(ValueError, match=r"quantize must be None or 'int8' \(dynamic int8 quantization on CPU\), got 'int4'"):
        _pipeline(tiny_era_dir, quantize="int4")
    with pytest.raises(ValueError, match=r"dtype=torch.bfloat16 was requested: drop dtype"):
        _pipeline(tiny_era_dir, quantize="int8", dtype=torch.bfloat16)
    with pytest.raises(ValueError, match=r"captioner_quantize='int8' needs a transformers captioner .* this captioner is a function"):
        _pipeline(tiny_era_dir, captioner=helpers.colour_captioner, captioner_quantize="int8")
    assert check_quantize("INT8") == "int8" and check_quantize(None) is None


def test_pipeline_refuses_int8_on_a_gpu_device(tiny_era_dir, monkeypatch):
    """A pipeline placed on CUDA (faked: this machine has none) is refused before quantizing."""
    from multimodal_sentiment.modeling import pipeline_multimodal_sentiment as module

    real = module.check_quantizable
    monkeypatch.setattr(module, "check_quantizable", lambda device, *a: real("cuda:0", *a))
    with pytest.raises(ValueError, match="runs on cuda:0: on a GPU drop quantize"):
        _pipeline(tiny_era_dir, quantize="int8")
    assert PIPELINE_REGISTRY.supported_tasks["multimodal-sentiment"]["impl"] is MultimodalSentimentPipeline


def test_predict_quantize_int8_writes_predictions_and_refuses_half_precision(tiny_era_dir, tmp_path):
    import json

    from multimodal_sentiment.inference import predict

    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"id": i, **post}) + "\n" for i, post in enumerate(FIXED_SET[:6])))
    fp32_out, int8_out = tmp_path / "fp32.jsonl", tmp_path / "int8.jsonl"
    assert predict.main([str(tiny_era_dir), "-i", str(posts), "-o", str(fp32_out), "--device", "cpu"]) == 0
    argv = [str(tiny_era_dir), "-i", str(posts), "-o", str(int8_out), "--device", "cpu", "--quantize", "int8"]
    assert predict.main(argv) == 0
    fp32 = [json.loads(line) for line in fp32_out.read_text().splitlines()]
    int8 = [json.loads(line) for line in int8_out.read_text().splitlines()]
    assert [r["id"] for r in int8] == [r["id"] for r in fp32] == [str(i) for i in range(6)]
    assert [r["label"] for r in int8] == [r["label"] for r in fp32]
    assert [r["scores"] for r in int8] != [r["scores"] for r in fp32]  # the int8 model ran

    refused = tmp_path / "refused.jsonl"
    with pytest.raises(SystemExit, match=r"^predict: quantize='int8' quantizes float32 weights, but dtype=torch.float16"):
        predict.main([*argv[:3], "-o", str(refused), "--device", "cpu", "--quantize", "int8", "--dtype", "float16"])
