"""Inference Endpoints: every exported folder carries handler.py + requirements.txt, and the handler
runs in an interpreter that cannot import this package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import pipeline

from multimodal_sentiment import MultimodalSentimentPipeline
from multimodal_sentiment.convert import export_checkpoint
from multimodal_sentiment.convert.endpoint import endpoint_requirements

SRC_DIR = Path(__file__).resolve().parents[1] / "src"
POSTS = [
    {"text": "Finished my first marathon!", "image_description": "a runner crossing a finish line"},
    {"text": "Flight cancelled again", "image_description": None},
    {"image_description": "a rainy street at night"},
]
PARAMETERS = {"return_evidence": True, "return_modalities": True, "batch_size": 2}

HANDLER_RUN = """
import json, os, sys
sys.path[:] = [p for p in sys.path if not os.path.abspath(p or ".").startswith({src!r})]  # never the package
folder = {folder!r}
sys.path.insert(0, folder)  # as Inference Endpoints do: handler.py is imported from the repository
from handler import EndpointHandler
handler = EndpointHandler(folder)
print(json.dumps(handler({{"inputs": {posts!r}, "parameters": {parameters!r}}})))
print(json.dumps(handler({{"inputs": "so happy today"}})))
try:
    handler({{"text": "no inputs key"}})
except ValueError as err:
    print(json.dumps(str(err)))
assert "multimodal_sentiment" not in {{name.split(".")[0] for name in sys.modules if sys.modules[name] is not None}}
"""


def test_exported_folder_has_handler_and_requirements(tiny_era_dir, tmp_path):
    out = export_checkpoint(tiny_era_dir, tmp_path / "out", log=lambda _: None)
    assert (out / "handler.py").read_text().count("class EndpointHandler") == 1
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert "transformers>=5.23,<6" in requirements and "pillow>=10.0" in requirements
    assert not any(line.startswith("multimodal-sentiment") for line in requirements)
    assert endpoint_requirements({"image_views": ["caption", "ocr"]})[-1] == "rapidocr-onnxruntime>=1.3,<2"
    assert not any("rapidocr" in line for line in endpoint_requirements({"image_views": ["caption"]}))


def test_handler_returns_the_pipelines_outputs_without_the_package(tiny_era_dir, tmp_path, run_without_package):
    out = export_checkpoint(tiny_era_dir, tmp_path / "out", log=lambda _: None)
    code = HANDLER_RUN.format(src=str(SRC_DIR), folder=str(out), posts=POSTS, parameters=PARAMETERS)
    lines = run_without_package(code, extra_env={"HF_HUB_OFFLINE": "1"}).stdout.strip().splitlines()
    many, single, error = (json.loads(line) for line in lines[-3:])

    reference = pipeline(
        "multimodal-sentiment", model=str(out), pipeline_class=MultimodalSentimentPipeline, device="cpu"
    )
    expected = json.loads(json.dumps(reference(POSTS, **PARAMETERS)))
    assert [r["label"] for r in many] == [r["label"] for r in expected]
    for got, want in zip(many, expected, strict=True):
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)
        assert [e["word"] for e in got["evidence"]] == [e["word"] for e in want["evidence"]]
        assert got["agreement"] == want["agreement"]
    assert single["label"] == reference("so happy today")["label"]
    assert error.startswith('The request body must be {"inputs": <post or list of posts>, "parameters": {...}}')
