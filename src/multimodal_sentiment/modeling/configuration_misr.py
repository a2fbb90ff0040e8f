"""Configuration of MISR (Multimodal Invariant Sentiment Representation) models.

This file travels to the Hub with every checkpoint: it imports only transformers and the
standard library, and reaches its siblings with ``from .x import y``.
"""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

# Shared with ERA so both models describe images the same way, carry the same labels and are
# served by the same "multimodal-sentiment" pipeline.
from .checkpoint_code import MISR_AUTO_MAP
from .configuration_common import MultimodalSentimentConfig

ENVIRONMENTS = ("joint", "text", "visual")
INVARIANCE_TYPES = ("irm", "rex")
ENV_LOSSES = ("mean", "joint")
VISION_POOLINGS = ("auto", "mean")
# Output fields that are diagnostics, not predictions: the Trainer's evaluation loop would
# otherwise concatenate them (scalars and dicts) with the logits across batches.
MISR_DIAGNOSTIC_OUTPUTS = [
    "ce_loss",
    "kl_loss",
    "invariance_penalty",
    "environment_risks",
    "environment_logits",
    "joint_mean",
    "visual_present",
]


class MisrConfig(MultimodalSentimentConfig):
    r"""
    Configuration of [`MisrModel`] and [`MisrForSequenceClassification`].

    MISR (Zhu et al., Findings of ACL 2025) encodes the post text and the image separately,
    maps each modality and their concatenation (the joint representation) to a Gaussian latent
    (mean and log-variance, KL to N(0, I)), and scores several "environments" (joint,
    text-only, visual-only) with ONE shared classifier under an invariance penalty (IRMv1 or
    V-REx) so the sentiment rule it learns holds in every environment. Predictions come from
    the joint environment.

    Args:
        encoder_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of the text encoder (any `AutoModel` text encoder). Defaults to RoBERTa-base.
        vision_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of a vision encoder over pixels (ViT, CLIP's vision tower, any `AutoModel`
            whose output has `pooler_output` or `last_hidden_state`). `None` (default): the
            visual modality is the image description, read by a text encoder.
        share_text_encoder (`bool`, defaults to `True`):
            Without `vision_config`: `True` reads the description with the text branch's encoder,
            `False` with a separate copy (same architecture, its own weights).
        encoder_name_or_path (`str`, *optional*):
            Where the text encoder's pretrained weights came from (Hub id or folder). Informational.
        vision_name_or_path (`str`, *optional*):
            Where the vision encoder's pretrained weights came from. Informational.
        vision_pooling (`str`, defaults to `"auto"`):
            `"auto"`: the vision encoder's `pooler_output` when it returns one (CLIP's
            post-layernormed CLS, ViT's pooler), else the mean of `last_hidden_state`.
            `"mean"`: always the mean of `last_hidden_state` (the pooler is dropped).
        latent_size (`int`, defaults to 128):
            Dimension of every Gaussian latent (text, visual, joint).
        kl_weight (`float`, defaults to 1e-3):
            Beta: weight of the KL divergence of the latents to N(0, I).
        environments (`list[str]`, defaults to `["joint", "text", "visual"]`):
            Environments scored by the shared classifier, from `"joint"`, `"text"`, `"visual"`.
            `"joint"` is required: predictions come from it.
        invariance_type (`str`, defaults to `"irm"`):
            `"irm"`: IRMv1, the squared gradient of each environment's risk with respect to a
            dummy scale (1.0) on the logits, averaged over environments. `"rex"`: V-REx, the
            variance of the environment risks.
        invariance_weight (`float`, defaults to 1.0):
            Gamma: weight of the invariance penalty.
        env_loss (`str`, defaults to `"mean"`):
            Cross-entropy term: `"mean"` over the environments' risks (IRM-style) or `"joint"`
            (the joint environment's risk only; the others then enter through the penalty).
        classifier_dropout (`float`, defaults to 0.1):
            Dropout on the latents before the shared classifier.
        special_token_ids (`list[int]`, *optional*):
            Token ids left out of the text mean pooling (CLS, SEP, PAD, ...). Filled from the
            tokenizer by `from_encoder`. A description with no other token counts as missing.
        max_input_tokens (`int`, defaults to 128):
            Truncation length of the text and of the description (each its own sequence).
        captioner, captioner_revision, captioner_prompt, captioner_max_new_tokens, image_views, view_separator:
            The image-to-text settings the pipeline uses when the visual modality is a
            description; same meaning and defaults as in [`EraConfig`].
        initializer_range (`float`, defaults to 0.02):
            Std of the normal init of the Gaussian heads and the classifier.

    Example:

    ```python
    >>> from multimodal_sentiment import MisrConfig, MisrForSequenceClassification
    >>> config = MisrConfig(latent_size=64, invariance_type="rex", invariance_weight=0.5)
    >>> model = MisrForSequenceClassification(config)
    ```
    """

    model_type = "misr-multimodal-sentiment"
    sub_configs_defaults = {
        "encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="roberta"),
        "vision_config": SubConfigSpec(config_class=AutoConfig, model_type="vit", optional=True),
    }
    keys_to_ignore_at_inference = MISR_DIAGNOSTIC_OUTPUTS
    default_auto_map = MISR_AUTO_MAP

    vision_config: dict | PreTrainedConfig | None = None
    share_text_encoder: bool = True
    vision_name_or_path: str | None = None
    vision_pooling: str = "auto"
    latent_size: int = 128
    kl_weight: float = 1e-3
    environments: list[str] | None = None
    invariance_type: str = "irm"
    invariance_weight: float = 1.0
    env_loss: str = "mean"

    def __post_init__(self, **kwargs):
        if self.environments is None:
            self.environments = list(ENVIRONMENTS)
        super().__post_init__(**kwargs)

    def validate_fields(self) -> None:
        super().validate_fields()
        if self.vision_config is not None and getattr(self.vision_config, "vision_config", None) is not None:
            raise ValueError(
                f"vision_config must be a vision encoder's config, got the composite {type(self.vision_config).__name__}: "
                "pass its `.vision_config` (e.g. CLIPVisionConfig), or use `from_encoder(..., vision_encoder_name_or_path=...)`."
            )
        bad_envs = [e for e in self.environments if e not in ENVIRONMENTS]
        if bad_envs or len(set(self.environments)) != len(self.environments):
            raise ValueError(
                f"environments must be distinct values from {ENVIRONMENTS}, got {list(self.environments)}."
            )
        if "joint" not in self.environments:
            raise ValueError(f"environments must contain 'joint' (predictions come from it), got {self.environments}.")
        if self.invariance_type not in INVARIANCE_TYPES:
            raise ValueError(f"invariance_type must be one of {INVARIANCE_TYPES}, got {self.invariance_type!r}.")
        if self.env_loss not in ENV_LOSSES:
            raise ValueError(f"env_loss must be one of {ENV_LOSSES}, got {self.env_loss!r}.")
        if self.vision_pooling not in VISION_POOLINGS:
            raise ValueError(f"vision_pooling must be one of {VISION_POOLINGS}, got {self.vision_pooling!r}.")
        for name in ("kl_weight", "invariance_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if self.latent_size < 1:
            raise ValueError(f"latent_size must be positive, got {self.latent_size}.")

    @property
    def visual_input(self) -> str:
        """What the model reads for the image: `"pixels"` (with `vision_config`) or `"description"`.

        `input_spec.InputSpec.from_config` reads it: training, evaluation and the pipeline feed the
        model what it says.
        """
        return "pixels" if self.vision_config is not None else "description"

    @property
    def text_hidden_size(self) -> int:
        return self.encoder_config.hidden_size

    @property
    def visual_hidden_size(self) -> int:
        if self.vision_config is None:
            return self.encoder_config.hidden_size
        # ViT/CLIP-style towers name it hidden_size; CNN backbones (ResNet, ConvNeXt) list hidden_sizes.
        size = getattr(self.vision_config, "hidden_size", None)
        return size if size is not None else self.vision_config.hidden_sizes[-1]


__all__ = ["MisrConfig"]
