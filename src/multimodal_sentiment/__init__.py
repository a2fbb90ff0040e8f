"""multimodal-sentiment: sentiment of posts from their text and image.

Importing the package is cheap: it imports neither torch nor transformers, so the command line
starts at once. The configs and models are registered with the transformers Auto classes, and
the ``"multimodal-sentiment"`` pipeline task with its embedded default model, in this process as
soon as transformers is imported (at once, if it already is); `register()` does it explicitly.
The model classes below load on first access (``from multimodal_sentiment import EraConfig``).
"""

from __future__ import annotations

import importlib
import sys
import threading
import warnings
from typing import Any

from .default_model import DEFAULT_MODEL_DIR

# What `pipeline("multimodal-sentiment", trust_remote_code=True)` loads when no model is given:
# the embedded default, a local folder inside this package, so it works offline.
DEFAULT_MODEL_ID = str(DEFAULT_MODEL_DIR)
DEFAULT_REVISION = None

__version__ = "0.1.0"

# Public class -> the Hub-bound module (in `modeling/`) that defines it.
_LAZY_CLASSES = {
    "EraConfig": "configuration_era",
    "EraModel": "modeling_era",
    "EraForSequenceClassification": "modeling_era",
    "MisrConfig": "configuration_misr",
    "MisrModel": "modeling_misr",
    "MisrForSequenceClassification": "modeling_misr",
    "MultimodalSentimentPipeline": "pipeline_multimodal_sentiment",
}
_registration_lock = threading.RLock()
_registered = False


def register() -> None:
    """Register the configs, models and the pipeline task with transformers in this process
    (idempotent; runs by itself when transformers is imported after this package)."""
    global _registered
    with _registration_lock:
        if _registered:
            return
        _registered = True  # first: the imports below come back here through the import hook
        try:
            _register()
        except BaseException:
            _registered = False
            raise


def _register() -> None:
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification
    from transformers.pipelines import PIPELINE_REGISTRY

    from .modeling.checkpoint_code import TASK
    from .modeling.configuration_era import EraConfig
    from .modeling.configuration_misr import MisrConfig
    from .modeling.modeling_era import EraForSequenceClassification, EraModel
    from .modeling.modeling_misr import MisrForSequenceClassification, MisrModel
    from .modeling.pipeline_multimodal_sentiment import MultimodalSentimentPipeline

    for config_class, base_class, classifier_class in (
        (EraConfig, EraModel, EraForSequenceClassification),
        (MisrConfig, MisrModel, MisrForSequenceClassification),
    ):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, base_class, exist_ok=True)
        AutoModelForSequenceClassification.register(config_class, classifier_class, exist_ok=True)
        # Saved checkpoints carry their code: these tell save_pretrained which files to copy.
        config_class.register_for_auto_class()
        base_class.register_for_auto_class("AutoModel")
        classifier_class.register_for_auto_class("AutoModelForSequenceClassification")
    PIPELINE_REGISTRY.register_pipeline(
        TASK,
        pipeline_class=MultimodalSentimentPipeline,
        pt_model=AutoModelForSequenceClassification,
        default=(DEFAULT_MODEL_ID, DEFAULT_REVISION),
        type="multimodal",
    )
    # The default is intentional: no "No model was supplied" warning, no weight-loading bars
    # (both come back at transformers' INFO verbosity; see quiet.py).
    from .quiet import install as install_quiet_defaults

    install_quiet_defaults(DEFAULT_MODEL_ID)


class _RegisterWhenTransformersIsImported:
    """A `sys.meta_path` finder that runs `register()` right after the first `import transformers`
    of the process finishes (it finds nothing itself: the other finders find transformers).

    `modeling/__init__.py` imports transformers before any of its files, so the registration
    never meets one of them half-imported."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "transformers" or self not in sys.meta_path:
            return None
        sys.meta_path.remove(self)  # once
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            try:
                register()
            except Exception as error:  # never break the caller's `import transformers`
                warnings.warn(
                    f"multimodal_sentiment could not register its models and pipeline task with transformers: {error!r}. "
                    "Call multimodal_sentiment.register() to see the full error.",
                    stacklevel=2,
                )

        spec.loader.exec_module = exec_then_register
        return spec


if "transformers" in sys.modules:
    register()
else:
    sys.meta_path.insert(0, _RegisterWhenTransformersIsImported())


def __getattr__(name: str) -> Any:
    module = _LAZY_CLASSES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    register()
    value = getattr(importlib.import_module(f"{__name__}.modeling.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_CLASSES))


__all__ = [
    "EraConfig",
    "EraModel",
    "EraForSequenceClassification",
    "MisrConfig",
    "MisrModel",
    "MisrForSequenceClassification",
    "MultimodalSentimentPipeline",
    "DEFAULT_MODEL_ID",
    "DEFAULT_REVISION",
    "register",
    "__version__",
]
