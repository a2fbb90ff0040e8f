"""How a model reads a post, decided from its config alone: which inputs it takes and the one
builder that makes them from (texts, descriptions[, images]). Training (`data/encoding.py`),
evaluation, calibration and the pipeline all ask `InputSpec.from_config(config)`; nothing else
guesses from a model's class, `model_type` or `forward` signature.

Modes (`InputSpec.mode`):
- `"pair"`: ERA (and any plain text classifier): text and description as one tokenizer pair
  (`text_pairs.encode_text_pairs`); a model trained on text alone (`image_views=[]`) reads the
  text only.
- `"separate"`: MISR without a vision encoder: the text in `input_ids`, the description as its
  own sequence in `description_input_ids` / `description_attention_mask`.
- `"pixels"`: MISR with `vision_config`: the text in `input_ids`, the image in `pixel_values`
  (from the checkpoint's image processor) and `has_visual` marking the rows that had one.

Hub-bound: travels with every checkpoint (`checkpoint_code.py`); imports only torch, the standard
library and its siblings (PIL only when building pixel inputs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .text_pairs import DEFAULT_VIEW_SEPARATOR, encode_text_pairs

MODEL_MODES = ("pair", "separate", "pixels")
DESCRIPTION_PREFIX = "description_"
# Inputs that carry the image (its description or pixels) rather than the post text.
VISUAL_KEYS = ("description_input_ids", "description_attention_mask", "pixel_values", "has_visual")
# config.visual_input (MisrConfig: "description" or "pixels") -> mode; configs without it read a pair.
_MODE_OF_VISUAL_INPUT = {None: "pair", "description": "separate", "pixels": "pixels"}


@dataclass(frozen=True)
class InputSpec:
    """Which inputs a model takes and how (text, description) becomes them.

    ```python
    >>> spec = InputSpec.from_config(model.config, tokenizer)
    >>> inputs = spec.encode(tokenizer, ["so happy"], ["a beach at sunset"], return_tensors="pt")
    >>> model(**inputs).logits
    ```
    """

    mode: str = "pair"
    max_length: int = 128
    reads_descriptions: bool = True  # False: a "pair" model trained on text alone (image_views=[])
    emoji_as_words: bool = False
    # The image-to-text views that form the description, in order, and what joins them.
    image_views: tuple[str, ...] = ()
    view_separator: str = DEFAULT_VIEW_SEPARATOR

    def __post_init__(self) -> None:
        if self.mode not in MODEL_MODES:
            raise ValueError(f"InputSpec mode must be one of {MODEL_MODES}, got {self.mode!r}.")

    @classmethod
    def from_config(cls, config: Any, tokenizer: Any = None) -> InputSpec:
        """The spec of a model with this config. `max_length` is `config.max_input_tokens`, or for a
        config without it the tokenizer's maximum (at most 512)."""
        visual_input = getattr(config, "visual_input", None)
        if visual_input not in _MODE_OF_VISUAL_INPUT:
            raise ValueError(
                f"config.visual_input must be one of {sorted(v for v in _MODE_OF_VISUAL_INPUT if v)} or absent, "
                f"got {visual_input!r}."
            )
        mode = _MODE_OF_VISUAL_INPUT[visual_input]
        max_length = getattr(config, "max_input_tokens", None)
        if not max_length:
            if tokenizer is None:
                raise ValueError(
                    "This config has no max_input_tokens: pass the tokenizer so its model_max_length sets the length."
                )
            max_length = min(tokenizer.model_max_length, 512)
        return cls(
            mode=mode,
            max_length=int(max_length),
            reads_descriptions=mode == "separate" or mode == "pair" and getattr(config, "image_views", None) != [],
            emoji_as_words=bool(getattr(config, "emoji_as_words", False)),
            image_views=tuple(getattr(config, "image_views", None) or ()),
            view_separator=getattr(config, "view_separator", None) or DEFAULT_VIEW_SEPARATOR,
        )

    @property
    def reads_pixels(self) -> bool:
        return self.mode == "pixels"

    def encode(
        self,
        tokenizer: Any,
        texts: Sequence[str | None],
        descriptions: Sequence[str | None] | None = None,
        images: Sequence[Any] | None = None,
        image_processor: Any = None,
        **tokenizer_kwargs: Any,
    ) -> Mapping[str, Any]:
        """The model inputs of a batch of posts. A missing text or description (None) is encoded as
        an empty segment, a missing image as a blank picture with `has_visual=False` (the model's
        learned "missing image"). `tokenizer_kwargs` (padding, return_tensors, ...) go to the tokenizer.
        For "pair" models the tokenizer's own `BatchEncoding` is returned (its alignment names the
        evidence tokens' words)."""
        if self.mode == "pair":
            return self.encode_alone(
                tokenizer, texts, descriptions if self.reads_descriptions else None, **tokenizer_kwargs
            )
        inputs = self.encode_alone(tokenizer, texts, **tokenizer_kwargs)
        if self.mode == "separate":
            # The description is its own sequence (no token types: one segment).
            described = self.encode_alone(tokenizer, descriptions or [None] * len(texts), **tokenizer_kwargs)
            for key in ("input_ids", "attention_mask"):
                inputs[DESCRIPTION_PREFIX + key] = described[key]
            return inputs
        if images is None or image_processor is None:
            raise ValueError(
                "This model reads pixels (config.vision_config is set): pass the images and the checkpoint's image "
                "processor; image descriptions alone cannot feed it."
            )
        from PIL import Image

        # A post without image gets a blank (white) picture: the tensor shapes must stay the same...
        pictures = [image if image is not None else Image.new("RGB", (32, 32), "white") for image in images]
        inputs["pixel_values"] = image_processor(images=pictures, return_tensors="pt")["pixel_values"]
        # ...and has_visual=False, so the model uses its learned "missing image" vector instead.
        inputs["has_visual"] = torch.tensor([image is not None for image in images])
        return inputs

    def encode_alone(
        self,
        tokenizer: Any,
        texts: Sequence[str | None],
        descriptions: Sequence[str | None] | None = None,
        **tokenizer_kwargs: Any,
    ) -> Mapping[str, Any]:
        """`texts` as one segment (with `descriptions`: as a tokenizer pair), whatever the mode: the
        text or the description read alone (retrieval probes, the pipeline's unimodal predictions)."""
        return encode_text_pairs(
            tokenizer, texts, descriptions, self.max_length, emoji_as_words=self.emoji_as_words, **tokenizer_kwargs
        )

    def unimodal_inputs(
        self,
        tokenizer: Any,
        texts: Sequence[str | None],
        descriptions: Sequence[str | None],
        model_inputs: Mapping[str, Any],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Inputs for the text alone and for the visual part alone (padded tensors). A removed part
        is encoded the way training encodes a missing one: an empty segment ("pair", and the
        description of "separate") or no visual input at all ("pixels"; the model reads that as
        its learned "missing image"). `model_inputs` are the full inputs of the same posts."""
        nothing = [None] * len(texts)
        tensors = {"padding": True, "return_tensors": "pt"}
        if self.mode == "pair":
            text_only = self.encode(tokenizer, texts, nothing, **tensors)
            return dict(text_only), dict(self.encode_alone(tokenizer, nothing, descriptions, **tensors))
        text_only = {key: value for key, value in model_inputs.items() if key not in VISUAL_KEYS}
        visual_only = {key: value for key, value in model_inputs.items() if key in VISUAL_KEYS}
        visual_only.update(self.encode_alone(tokenizer, nothing, **tensors))
        return text_only, visual_only


__all__ = ["DESCRIPTION_PREFIX", "MODEL_MODES", "VISUAL_KEYS", "InputSpec"]
