"""Configuration of ERA (Explicit Representation Alignment) models.

This file travels to the Hub with every checkpoint: it imports only transformers and the
standard library, and reaches its siblings with ``from .x import y``.
"""

from __future__ import annotations

import copy
from typing import Any

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

# One auto_map for every ERA checkpoint: `register_for_auto_class` records only the class
# being saved, and `AutoModel` on a classifier checkpoint needs the other entry too.
ERA_AUTO_MAP = {
    "AutoConfig": "configuration_era.EraConfig",
    "AutoModel": "modeling_era.EraModel",
    "AutoModelForSequenceClassification": "modeling_era.EraForSequenceClassification",
}

# The pipeline task every checkpoint carries, so `pipeline(model=folder_or_repo, trust_remote_code=True)`
# finds MultimodalSentimentPipeline without this package; the same entry `Pipeline.save_pretrained`
# writes ("pt" must name transformers Auto classes). No "default": it only serves model-less calls.
CUSTOM_PIPELINES = {
    "multimodal-sentiment": {
        "impl": "pipeline_multimodal_sentiment.MultimodalSentimentPipeline",
        "pt": ["AutoModelForSequenceClassification"],
        "type": "multimodal",
    }
}

TOKEN_GATES = ("sigmoid", "softmax", "none")
UNIFORMITY_TYPES = ("cosine", "gaussian")
IMAGE_VIEWS = ("caption", "ocr")
DEFAULT_LABELS = {0: "negative", 1: "neutral", 2: "positive"}


class EraConfig(PreTrainedConfig):
    r"""
    Configuration of [`EraModel`] and [`EraForSequenceClassification`].

    ERA translates the image into words (a VLM caption, optionally OCR), reads the post text
    and that description as one tokenizer pair with a single text encoder, mean-pools the
    `token_top_k` most affect-relevant tokens and classifies; a batch uniformity penalty keeps
    the pooled vectors from collapsing.

    Args:
        encoder_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of the text encoder (any `AutoModel` text encoder). Defaults to RoBERTa-base.
        encoder_name_or_path (`str`, *optional*):
            Where the encoder's pretrained weights came from (Hub id or folder). Informational for
            full checkpoints; used to fetch the encoder when `encoder_weights_in_checkpoint=False`.
        encoder_weights_in_checkpoint (`bool`, defaults to `True`):
            `False` marks a compact checkpoint that stores only the selector and head and reloads
            the frozen encoder from `encoder_name_or_path` (see `EraModel.load_encoder_weights`).
        token_top_k (`int`, *optional*, defaults to 16):
            Number of tokens pooled into the post representation. `None` or `0` pools all valid
            tokens with a plain mean (no scorer). K is capped at the number of valid tokens.
        token_gate (`str`, defaults to `"sigmoid"`):
            How selected states are weighted by their scores, so the scorer gets a gradient:
            `"sigmoid"` (mean of sigmoid(score) * state), `"softmax"` (softmax over the selected
            scores) or `"none"` (plain mean of the selected states; the scorer then learns nothing).
        selector_hidden_size (`int`, *optional*):
            Width of the token-scoring MLP. Defaults to a quarter of the encoder hidden size.
        special_token_ids (`list[int]`, *optional*):
            Token ids that are never selected (CLS, SEP, PAD, ...). Filled from the tokenizer by
            `EraForSequenceClassification.from_encoder`.
        uniformity_weight (`float`, defaults to 0.1):
            Lambda: weight of the batch uniformity penalty added to cross-entropy in training.
        uniformity_type (`str`, defaults to `"cosine"`):
            `"cosine"`: mean off-diagonal cosine similarity of the pooled vectors in the batch.
            `"gaussian"`: Wang & Isola, log mean exp(-t * |zi - zj|^2) on normalised vectors.
        uniformity_temperature (`float`, defaults to 2.0):
            t of the `"gaussian"` form.
        classifier_dropout (`float`, defaults to 0.1):
            Dropout before the classifier head.
        max_input_tokens (`int`, defaults to 128):
            Truncation length of the (text, description) pair; truncation keeps both parts.
        captioner (`str`, *optional*, defaults to `"Salesforce/blip-image-captioning-base"`):
            Image-text-to-text model id or folder that describes images for the pipeline.
        captioner_revision (`str`, *optional*):
            Revision (branch, tag or commit sha) of the captioner. Pin it for reproducibility.
        captioner_prompt (`str`, defaults to `"a picture of"`):
            Prompt for the captioner: a text prefix for BLIP-style captioners, or the user message
            for chat VLMs.
        captioner_max_new_tokens (`int`, defaults to 40):
            Generation length of a description.
        image_views (`list[str]`, defaults to `["caption"]`):
            Which image-to-text views form the description, in order: `"caption"`, `"ocr"`.
        view_separator (`str`, defaults to `" . "`):
            Joins the views into one description string.
        initializer_range (`float`, defaults to 0.02):
            Std of the normal init of the selector and head.

    Example:

    ```python
    >>> from multimodal_sentiment import EraConfig, EraForSequenceClassification
    >>> config = EraConfig(token_top_k=8, uniformity_weight=0.1)
    >>> model = EraForSequenceClassification(config)
    ```
    """

    model_type = "era-multimodal-sentiment"
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="roberta")}

    encoder_config: dict | PreTrainedConfig | None = None
    encoder_name_or_path: str | None = None
    encoder_weights_in_checkpoint: bool = True
    token_top_k: int | None = 16
    token_gate: str = "sigmoid"
    selector_hidden_size: int | None = None
    special_token_ids: list[int] | None = None
    uniformity_weight: float = 0.1
    uniformity_type: str = "cosine"
    uniformity_temperature: float = 2.0
    classifier_dropout: float = 0.1
    max_input_tokens: int = 128
    captioner: str | None = "Salesforce/blip-image-captioning-base"
    captioner_revision: str | None = None
    captioner_prompt: str = "a picture of"
    captioner_max_new_tokens: int = 40
    image_views: list[str] | None = None
    view_separator: str = " . "
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        if isinstance(self.encoder_config, dict) and "model_type" not in self.encoder_config:
            raise ValueError(
                "EraConfig(encoder_config=...) needs a `model_type` (e.g. 'roberta', 'bert'); "
                f"got keys {sorted(self.encoder_config)}. Pass `AutoConfig.from_pretrained(name)` instead."
            )
        if kwargs.get("id2label") is None and self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = dict(DEFAULT_LABELS)
            self.label2id = {v: k for k, v in DEFAULT_LABELS.items()}
        super().__post_init__(**kwargs)
        if self.image_views is None:
            self.image_views = ["caption"]
        self.validate_era()


    def to_dict(self) -> dict[str, Any]:
        # Every saved config names its code (auto_map, both Auto model classes) and its pipeline
        # (custom_pipelines), so the checkpoint runs with trust_remote_code=True where this package
        # is not installed. Added when serialising, not in __init__: a config loaded from a folder
        # without code files (the embedded default) must keep resolving to the in-process classes.
        output = super().to_dict()
        output["auto_map"] = {**ERA_AUTO_MAP, **(output.get("auto_map") or {})}
        if not output.get("custom_pipelines"):
            output["custom_pipelines"] = copy.deepcopy(CUSTOM_PIPELINES)
        return output

    def validate_era(self) -> None:
        """Raise a `ValueError` that names the bad field and the allowed values."""
        if self.token_top_k is not None and self.token_top_k < 0:
            raise ValueError(f"token_top_k must be None, 0 (all tokens) or positive, got {self.token_top_k}.")
        if self.token_gate not in TOKEN_GATES:
            raise ValueError(f"token_gate must be one of {TOKEN_GATES}, got {self.token_gate!r}.")
        if self.uniformity_type not in UNIFORMITY_TYPES:
            raise ValueError(f"uniformity_type must be one of {UNIFORMITY_TYPES}, got {self.uniformity_type!r}.")
        if self.uniformity_weight < 0:
            raise ValueError(f"uniformity_weight must be >= 0, got {self.uniformity_weight}.")
        bad_views = [v for v in self.image_views if v not in IMAGE_VIEWS]
        if bad_views:
            raise ValueError(f"image_views may contain only {IMAGE_VIEWS}, got {bad_views}.")
        if self.max_input_tokens < 8:
            raise ValueError(f"max_input_tokens must be at least 8, got {self.max_input_tokens}.")

    @property
    def hidden_size(self) -> int:
        return self.encoder_config.hidden_size


__all__ = ["EraConfig", "ERA_AUTO_MAP", "CUSTOM_PIPELINES"]
