"""Code travels with the checkpoint: the one owner of the task name, the `auto_map` entries, the
`custom_pipelines` entry and the function that writes a checkpoint with (or without) its code.

A checkpoint runs where this package is not installed because its config.json names the code
(`auto_map` for the Auto classes, `custom_pipelines` for the pipeline task) and the folder holds
that code: the model, config and pipeline files and the siblings they import, copied flat by
`save_pretrained`. Every config of this package adds both entries when it is serialised
(`MultimodalSentimentConfig.to_dict` calls `code_references`), so any `save_pretrained` (Trainer
checkpoints, `push_to_hub`) writes them; the `TYPE_CHECKING` import below makes the same save
copy the pipeline file, which the model's files never import at run time.

Hub-bound: imports transformers and the standard library only.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Never executed. `save_pretrained` copies the files a config or modeling file imports,
    # recursively; every config imports this file, so every checkpoint gets the pipeline file
    # (and its siblings) too and answers `pipeline(model=checkpoint, trust_remote_code=True)`.
    # The pipeline's own siblings (post_inputs, pipeline_outputs, input_spec, image_*) follow from
    # its imports; input_spec.py is named here too because training and evaluation read it as well.
    from .input_spec import InputSpec  # noqa: F401
    from .pipeline_multimodal_sentiment import MultimodalSentimentPipeline  # noqa: F401

TASK = "multimodal-sentiment"
PIPELINE_IMPL = "pipeline_multimodal_sentiment.MultimodalSentimentPipeline"
# Looked up with getattr(transformers, name) by `pipeline(...)`: Auto classes, never our own.
CUSTOM_PIPELINES = {TASK: {"impl": PIPELINE_IMPL, "pt": ["AutoModelForSequenceClassification"], "type": "multimodal"}}

# `register_for_auto_class` records only the class being saved, and `AutoModel` on a classifier
# checkpoint needs the other entry too: each model family names all three.
ERA_AUTO_MAP = {
    "AutoConfig": "configuration_era.EraConfig",
    "AutoModel": "modeling_era.EraModel",
    "AutoModelForSequenceClassification": "modeling_era.EraForSequenceClassification",
}
MISR_AUTO_MAP = {
    "AutoConfig": "configuration_misr.MisrConfig",
    "AutoModel": "modeling_misr.MisrModel",
    "AutoModelForSequenceClassification": "modeling_misr.MisrForSequenceClassification",
}


def code_references(config_dict: dict[str, Any], auto_map: dict[str, str], with_code: bool = True) -> dict[str, Any]:
    """`config_dict` with the complete `auto_map` and a `custom_pipelines` entry for the task
    (entries already there win: a checkpoint that names other code keeps naming it); with
    `with_code=False` (no code is written with this config) without either."""
    if not with_code:
        config_dict.pop("auto_map", None)
        config_dict.pop("custom_pipelines", None)
        return config_dict
    config_dict["auto_map"] = {**auto_map, **(config_dict.get("auto_map") or {})}
    if not config_dict.get("custom_pipelines"):
        config_dict["custom_pipelines"] = copy.deepcopy(CUSTOM_PIPELINES)
    return config_dict


def name_this_pipeline(config: Any) -> None:
    """Point `config.custom_pipelines[TASK]` at this package's pipeline file (the one written with
    the code), replacing an entry that names other code (an old or foreign checkpoint's)."""
    entries = dict(getattr(config, "custom_pipelines", None) or {})
    if (entries.get(TASK) or {}).get("impl") != PIPELINE_IMPL:
        entries[TASK] = copy.deepcopy(CUSTOM_PIPELINES[TASK])
        config.custom_pipelines = entries


def save_with_code(
    model: Any, folder: str | Path, *, state_dict: dict[str, Any] | None = None, include_code: bool = True
) -> None:
    """Write `model` into `folder`: safetensors weights and config.json, and with `include_code`
    the code files that `auto_map` and `custom_pipelines` name (model, config, pipeline and the
    siblings they import). A model loaded from foreign code (another package's model_type) gets
    this package's pipeline file and entry.

    `include_code=False` writes neither the code files nor the entries naming them: a checkpoint
    that only runs where this package is installed, on its in-process classes (the embedded
    default, which must never carry a second, possibly stale, copy of the package's code).
    """
    from transformers.dynamic_module_utils import custom_object_save

    folder = str(folder)
    if include_code:
        name_this_pipeline(model.config)
        model.save_pretrained(folder, state_dict=state_dict)
        from .pipeline_multimodal_sentiment import MultimodalSentimentPipeline

        custom_object_save(MultimodalSentimentPipeline, folder)  # foreign model code does not import it
        return
    # `save_pretrained` copies code, and the config names it, only for classes registered for an
    # Auto class (`_auto_class`, read on the class): unregister both classes while saving.
    classes = [type(model), type(model.config)]
    registered = [cls.__dict__.get("_auto_class") for cls in classes]
    for cls in classes:
        cls._auto_class = None
    try:
        model.save_pretrained(folder, state_dict=state_dict)
    finally:
        for cls, auto_class in zip(classes, registered, strict=True):
            if auto_class is None:
                del cls._auto_class
            else:
                cls._auto_class = auto_class


__all__ = [
    "TASK",
    "PIPELINE_IMPL",
    "CUSTOM_PIPELINES",
    "ERA_AUTO_MAP",
    "MISR_AUTO_MAP",
    "code_references",
    "name_this_pipeline",
    "save_with_code",
]
