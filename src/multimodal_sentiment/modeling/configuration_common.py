"""What every model config of this package shares: the text encoder, the labels, the image-to-text
settings the pipeline reads, and the code references a saved checkpoint carries.

Hub-bound: imports transformers and the standard library only.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .checkpoint_code import code_references
from .text_pairs import DEFAULT_VIEW_SEPARATOR

IMAGE_VIEWS = ("caption", "ocr")
DEFAULT_LABELS = {0: "negative", 1: "neutral", 2: "positive"}


class MultimodalSentimentConfig(PreTrainedConfig):
    r"""
    Base of [`EraConfig`] and [`MisrConfig`] (not a model config of its own).

    Args:
        encoder_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of the text encoder (any `AutoModel` text encoder). Defaults to RoBERTa-base.
        encoder_name_or_path (`str`, *optional*):
            Where the text encoder's pretrained weights came from (Hub id or folder).
        special_token_ids (`list[int]`, *optional*):
            Token ids never pooled (CLS, SEP, PAD, ...). Filled from the tokenizer by `from_encoder`.
        classifier_dropout (`float`, defaults to 0.1):
            Dropout before the classifier.
        max_input_tokens (`int`, defaults to 128):
            Truncation length of the model input (truncation keeps text and description).
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
        emoji_as_words (`bool`, defaults to `False`):
            Spell emoji out as their Unicode names ("😍" -> "smiling face with heart-shaped eyes")
            before tokenization, in training, evaluation and the pipeline alike
            (`text_pairs.emoji_to_words`). Off for checkpoints saved before the field existed.
        initializer_range (`float`, defaults to 0.02):
            Std of the normal init of the new (non-encoder) weights.
        logit_temperature (`float`, defaults to 1.0):
            Outside training the model returns `(logits + class_logit_bias) / logit_temperature`:
            the temperature is fitted on the validation split after training (`multimodal-sentiment
            calibrate`) so that `score` is a calibrated probability.
        class_logit_bias (`list[float]`, *optional*):
            One additive logit offset per label, applied outside training before the temperature
            (logit adjustment, e.g. towards the rare neutral class); chosen on the validation split
            by `multimodal-sentiment calibrate`. None means no offset.
    """

    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="roberta")}
    # auto_map of the subclass's checkpoints: {"AutoConfig": ..., "AutoModel": ..., ...}.
    default_auto_map = {}

    encoder_config: dict | PreTrainedConfig | None = None
    encoder_name_or_path: str | None = None
    special_token_ids: list[int] | None = None
    classifier_dropout: float = 0.1
    max_input_tokens: int = 128
    captioner: str | None = "Salesforce/blip-image-captioning-base"
    captioner_revision: str | None = None
    captioner_prompt: str = "a picture of"
    captioner_max_new_tokens: int = 40
    image_views: list[str] | None = None
    view_separator: str = DEFAULT_VIEW_SEPARATOR
    emoji_as_words: bool = False
    initializer_range: float = 0.02
    logit_temperature: float = 1.0
    class_logit_bias: list[float] | None = None

    def __post_init__(self, **kwargs):
        for key in self.sub_configs_defaults:
            value = getattr(self, key)
            if isinstance(value, dict) and "model_type" not in value:
                raise ValueError(
                    f"{type(self).__name__}({key}=...) needs a `model_type` (e.g. 'roberta', 'bert', 'vit'); "
                    f"got keys {sorted(value)}. Pass `AutoConfig.from_pretrained(name)` instead."
                )
        if kwargs.get("id2label") is None and self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = dict(DEFAULT_LABELS)
            self.label2id = {v: k for k, v in DEFAULT_LABELS.items()}
        super().__post_init__(**kwargs)
        if self.image_views is None:
            self.image_views = ["caption"]
        self.validate_fields()

    def validate_fields(self) -> None:
        """Raise a `ValueError` that names the bad field and the allowed values (subclasses extend)."""
        if self.num_labels < 1:
            raise ValueError(
                f"{type(self).__name__} needs at least one label, got num_labels={self.num_labels}: pass "
                "num_labels=N (N >= 1) or id2label={0: 'negative', ...}."
            )
        bad_views = [v for v in self.image_views if v not in IMAGE_VIEWS]
        if bad_views:
            raise ValueError(f"image_views may contain only {IMAGE_VIEWS}, got {bad_views}.")
        if self.max_input_tokens < 8:
            raise ValueError(f"max_input_tokens must be at least 8, got {self.max_input_tokens}.")
        if not 0 <= self.classifier_dropout < 1:
            raise ValueError(f"classifier_dropout must be in [0, 1), got {self.classifier_dropout}.")
        if not self.logit_temperature > 0:
            raise ValueError(f"logit_temperature must be positive, got {self.logit_temperature}.")
        if self.class_logit_bias is not None and len(self.class_logit_bias) != self.num_labels:
            raise ValueError(
                f"class_logit_bias needs one offset per label ({self.num_labels}), got {self.class_logit_bias}."
            )

    def to_dict(self) -> dict[str, Any]:
        # A saved config names its code (auto_map, custom_pipelines: checkpoint_code.py) whenever
        # save_pretrained writes that code, i.e. when the class is registered for an Auto class.
        # Added when serialising, not in __init__: a config loaded from a folder without code files
        # (the embedded default) must keep resolving to the in-process classes.
        return code_references(super().to_dict(), self.default_auto_map, with_code=self._auto_class is not None)


__all__ = ["MultimodalSentimentConfig", "IMAGE_VIEWS", "DEFAULT_LABELS"]
