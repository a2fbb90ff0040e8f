"""Dynamic int8 quantization for CPU inference (the pipeline's `quantize=` / `captioner_quantize=`).

```python
>>> classifier = pipeline("multimodal-sentiment", model=..., trust_remote_code=True, device="cpu",
...                       quantize="int8", captioner_quantize="int8")
```

What it does: `torch.ao.quantization.quantize_dynamic` replaces `nn.Linear` layers by versions
with int8 weights (per output channel) whose activations are quantized on the fly, in place. No
calibration data and no new files: the checkpoint stays fp32, the pipeline quantizes after loading.

- **Classifier** (`quantize="int8"`): every `nn.Linear` of the text encoder except the
  down-projections (`in_features > out_features`, the feed-forward outputs: their GELU inputs have
  outlier activations and int8 there flips labels); the token scorer and the head stay fp32.
- **Captioner** (`captioner_quantize="int8"`): every `nn.Linear` of the VLM (vision encoder and
  text decoder), when it is loaded. The largest speed lever on CPU; captions may differ from fp32
  in wording, so it is opt-in and separate from the classifier's switch.

Only on CPU in float32: a CUDA / MPS device, a float16 / bfloat16 dtype, or a torch build without
a quantized engine is refused with a ValueError that says what to change. Hub-bound: imports only
torch and the standard library.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import torch

QUANTIZE_MODES = ("int8",)
QUANTIZED_ATTRIBUTE = "_multimodal_sentiment_quantized"


def check_quantize(value: str | None, name: str = "quantize") -> str | None:
    """`None` or `"int8"`; anything else raises a ValueError naming the argument."""
    if value is None or value is False or value == "":
        return None
    if isinstance(value, str) and value.lower() in QUANTIZE_MODES:
        return value.lower()
    raise ValueError(f"{name} must be None or 'int8' (dynamic int8 quantization on CPU), got {value!r}")


def check_quantizable(device: Any, dtype: Any = None, name: str = "quantize") -> None:
    """Raise a ValueError unless dynamic int8 can run here: a CPU device, float32, a quantized engine."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type != "cpu":
        raise ValueError(
            f"{name}='int8' is dynamic int8 quantization for CPU inference, but the pipeline runs on {device}: "
            f"on a GPU drop {name} (use dtype=torch.float16 for speed there), or pass device='cpu'."
        )
    if dtype not in (None, "auto", torch.float32, "float32"):
        raise ValueError(
            f"{name}='int8' quantizes float32 weights, but dtype={dtype} was requested: drop dtype (or use float32) "
            f"together with {name}='int8'."
        )
    engines = [engine for engine in torch.backends.quantized.supported_engines if engine != "none"]
    if not engines:
        raise ValueError(
            f"{name}='int8' needs a quantized CPU engine (fbgemm / x86 / qnnpack), and this torch build has none: "
            f"drop {name} or install a standard torch CPU build."
        )


def _is_down_projection(module: torch.nn.Linear) -> bool:
    return module.in_features > module.out_features


def quantize_linear_layers(
    module: torch.nn.Module, keep: Callable[[str, torch.nn.Linear], bool] | None = None
) -> list[str]:
    """Quantize `module`'s `nn.Linear` layers to dynamic int8 in place (per-channel weights), except
    those for which `keep(name, layer)` is True. Returns the names of the layers quantized."""
    names = [
        name
        for name, child in module.named_modules()
        if type(child) is torch.nn.Linear and name and not (keep and keep(name, child))
    ]
    if not names:
        return []
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
        warnings.simplefilter("ignore")
        quantize_dynamic(
            module, {name: per_channel_dynamic_qconfig for name in names}, dtype=torch.qint8, inplace=True
        )
    setattr(module, QUANTIZED_ATTRIBUTE, True)
    return names


def quantize_classifier(model: torch.nn.Module) -> torch.nn.Module:
    """int8 for the classifier's text encoder(s), down-projections, token scorer and head kept fp32."""
    if getattr(model, QUANTIZED_ATTRIBUTE, False):
        return model
    from .modeling_common import ensure_encoder_weights

    ensure_encoder_weights(model)  # a compact checkpoint's frozen encoder, before its layers are replaced
    encoders = [child for name, child in model.named_modules() if name.endswith("encoder") and _has_linear(child)]
    outermost = [e for e in encoders if not any(e is not o and _contains(o, e) for o in encoders)]
    for encoder in outermost or [model]:
        quantize_linear_layers(encoder, keep=lambda _name, layer: _is_down_projection(layer))
    setattr(model, QUANTIZED_ATTRIBUTE, True)
    return model


def quantize_captioner_model(model: torch.nn.Module) -> torch.nn.Module:
    """int8 for every `nn.Linear` of a captioning VLM (vision encoder and decoder), in place."""
    if not getattr(model, QUANTIZED_ATTRIBUTE, False):
        quantize_linear_layers(model)
        setattr(model, QUANTIZED_ATTRIBUTE, True)
    return model


def quantize_captioner_on_load(captioner: Any) -> Any:
    """Make a `TransformersCaptioner` quantize its VLM once it is loaded (now, if it already is).

    A callable captioner has no weights to quantize: refused with a ValueError."""
    ensure_loaded = getattr(captioner, "_ensure_loaded", None)
    if ensure_loaded is None:
        check_captioner_quantizable(captioner)  # raises: no transformers model to quantize
    if getattr(captioner, "model", None) is not None:
        quantize_captioner_model(captioner.model)
        return captioner

    def load_then_quantize() -> tuple[Any, Any]:
        model, processor = ensure_loaded()
        return quantize_captioner_model(model), processor

    captioner._ensure_loaded = load_then_quantize
    identity = captioner.identity  # int8 captions may differ: they get their own description-cache keys
    captioner.identity = lambda *args, **kwargs: {**identity(*args, **kwargs), "quantize": "int8"}
    return captioner


def check_captioner_quantizable(spec: Any) -> None:
    """Refuse `captioner_quantize` early for a captioner that has no transformers model (a callable)."""
    if spec is None or isinstance(spec, (str, os.PathLike)) or hasattr(spec, "_ensure_loaded"):
        return
    if hasattr(spec, "model") and hasattr(spec, "processor"):
        return
    raise ValueError(
        f"captioner_quantize='int8' needs a transformers captioner (a model id, folder or loaded pipeline); "
        f"this captioner is a {type(spec).__name__}: quantize its model yourself, or drop captioner_quantize."
    )


def _has_linear(module: torch.nn.Module) -> bool:
    return any(type(child) is torch.nn.Linear for child in module.modules())


def _contains(outer: torch.nn.Module, inner: torch.nn.Module) -> bool:
    return any(child is inner for child in outer.modules())


__all__ = [
    "QUANTIZE_MODES",
    "check_quantize",
    "check_quantizable",
    "quantize_linear_layers",
    "quantize_classifier",
    "quantize_captioner_model",
    "quantize_captioner_on_load",
    "check_captioner_quantizable",
]
