"""Configuration of ERA (Explicit Representation Alignment) models.

This file travels to the Hub with every checkpoint: it imports only transformers and the
standard library, and reaches its siblings with ``from .x import y``.
"""

from __future__ import annotations

from .checkpoint_code import ERA_AUTO_MAP
from .configuration_common import MultimodalSentimentConfig

TOKEN_GATES = ("sigmoid", "softmax", "none")
UNIFORMITY_TYPES = ("cosine", "gaussian")


class EraConfig(MultimodalSentimentConfig):
    r"""
    Configuration of [`EraModel`] and [`EraForSequenceClassification`].

    ERA translates the image into words (a VLM caption, optionally OCR), reads the post text
    and that description as one tokenizer pair with a single text encoder, mean-pools the
    `token_top_k` most affect-relevant tokens and classifies; a batch uniformity penalty keeps
    the pooled vectors from collapsing.

    Args:
        encoder_config, encoder_name_or_path, special_token_ids, classifier_dropout, max_input_tokens,
        captioner, captioner_revision, captioner_prompt, captioner_max_new_tokens, image_views,
        view_separator, initializer_range:
            Shared by every model of the package: see [`MultimodalSentimentConfig`].
            `encoder_name_or_path` is where the frozen encoder of a compact checkpoint comes from.
        encoder_weights_in_checkpoint (`bool`, defaults to `True`):
            `False` marks a compact checkpoint that stores only the selector and head and reloads
            the frozen encoder from `encoder_name_or_path` (see `EraModel.load_encoder_weights`).
        encoder_fingerprint (`str`, *optional*):
            Written by a compact export: sha256 of the frozen encoder weights the checkpoint was
            trained on. `load_encoder_weights` refuses other weights rather than predict with them.
        encoder_trained_layers (`int`, *optional*):
            How many of the encoder's top transformer layers train. `None`: the whole encoder.
            `0`: none (a frozen encoder; only the selector and head train). `N`: the top N layers;
            the embeddings and lower layers stay at the pretrained weights of `encoder_name_or_path`,
            so a compact checkpoint stores only those N layers.
        token_top_k (`int`, *optional*, defaults to 16):
            Number of tokens pooled into the post representation. `None` or `0` pools all valid
            tokens with a plain mean (no scorer). K is capped at the number of valid tokens.
        token_gate (`str`, defaults to `"sigmoid"`):
            How selected states are weighted by their scores, so the scorer gets a gradient:
            `"sigmoid"` (mean of sigmoid(score) * state), `"softmax"` (softmax over the selected
            scores) or `"none"` (plain mean of the selected states; the scorer then learns nothing).
        selector_hidden_size (`int`, *optional*):
            Width of the token-scoring MLP. Defaults to a quarter of the encoder hidden size.
        uniformity_weight (`float`, defaults to 0.1):
            Lambda: weight of the batch uniformity penalty added to cross-entropy in training.
        uniformity_type (`str`, defaults to `"cosine"`):
            `"cosine"`: mean off-diagonal cosine similarity of the pooled vectors in the batch.
            `"gaussian"`: Wang & Isola, log mean exp(-t * |zi - zj|^2) on normalised vectors.
        uniformity_temperature (`float`, defaults to 2.0):
            t of the `"gaussian"` form.
        class_weights (`list[float]`, *optional*):
            Per-label weights of the cross-entropy (in label-id order), e.g. inverse label
            frequency for imbalanced data. `None`: unweighted.

    Example:

    ```python
    >>> from multimodal_sentiment import EraConfig, EraForSequenceClassification
    >>> config = EraConfig(token_top_k=8, uniformity_weight=0.1)
    >>> model = EraForSequenceClassification(config)
    ```
    """

    model_type = "era-multimodal-sentiment"
    default_auto_map = ERA_AUTO_MAP

    encoder_weights_in_checkpoint: bool = True
    encoder_fingerprint: str | None = None
    encoder_trained_layers: int | None = None
    token_top_k: int | None = 16
    token_gate: str = "sigmoid"
    selector_hidden_size: int | None = None
    uniformity_weight: float = 0.1
    uniformity_type: str = "cosine"
    uniformity_temperature: float = 2.0
    class_weights: list[float] | None = None

    def validate_fields(self) -> None:
        super().validate_fields()
        if self.class_weights is not None and (
            len(self.class_weights) != self.num_labels or min(self.class_weights) <= 0
        ):
            raise ValueError(
                f"class_weights needs one positive weight per label ({self.num_labels}), got {self.class_weights}."
            )
        if self.encoder_trained_layers is not None and self.encoder_trained_layers < 0:
            raise ValueError(f"encoder_trained_layers must be None (all) or >= 0, got {self.encoder_trained_layers}.")
        if self.token_top_k is not None and self.token_top_k < 0:
            raise ValueError(f"token_top_k must be None, 0 (all tokens) or positive, got {self.token_top_k}.")
        if self.token_gate not in TOKEN_GATES:
            raise ValueError(f"token_gate must be one of {TOKEN_GATES}, got {self.token_gate!r}.")
        if self.uniformity_type not in UNIFORMITY_TYPES:
            raise ValueError(f"uniformity_type must be one of {UNIFORMITY_TYPES}, got {self.uniformity_type!r}.")
        if self.uniformity_weight < 0:
            raise ValueError(f"uniformity_weight must be >= 0, got {self.uniformity_weight}.")

    @property
    def hidden_size(self) -> int:
        return self.encoder_config.hidden_size


__all__ = ["EraConfig"]
