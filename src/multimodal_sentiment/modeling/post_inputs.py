"""What the multimodal-sentiment pipeline accepts: reading one input ("post") into a `Post`
record, and the errors that name a bad one ("input 3: image file not found: ...").

A post is a dict with any of `"text"`, `"image"` and `"image_description"` (at least one
non-empty); a plain string is a text-only post, a PIL image, numpy array or bytes an image-only
post. The pipeline describes the images of many posts at once (`pipeline_multimodal_sentiment.py`),
then classifies each `Post`.

Hub-bound: travels with every checkpoint (imported by the pipeline file); imports only numpy,
PIL, the standard library and its siblings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from .image_inputs import ImageInputError, ImageLimits, image_content_hash, load_image_input
from .image_to_text import CAPTION_VIEW, OCR_VIEW
from .text_pairs import is_blank, normalize_whitespace

INPUT_KEYS = ("text", "image", "image_description")
ON_ERROR_MODES = ("raise", "record")
PRECOMPUTED_VIEW = "precomputed"


class MultimodalInputError(ValueError):
    """A bad pipeline input. The message starts with which input it was ("input 3: ...", its
    position in the call's list or stream) and says what is wrong; `index` holds that position."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


@dataclass
class Post:
    """One input on its way through the pipeline. `text` and `description` are what the model
    reads; `image_description` is what the output returns (a precomputed one unchanged). `error`
    is set (and the rest empty) for an input that failed under `on_error="record"`."""

    index: int | None
    error: str | None = None
    text: str | None = None
    description: str | None = None
    image_description: str | None = None
    description_views: list[str] = field(default_factory=list)
    image: Any = None  # the loaded PIL image, while it is needed (describing, or a pixel-reading model)
    image_hash: str | None = None
    needs_description: bool = False

    def fail(self, message: str) -> None:
        """Turn this post into an error record (`on_error="record"`): only `index` and `error` remain."""
        failed = Post(self.index, error=message)
        self.__dict__.update(failed.__dict__)


def where(index: int | None) -> str:
    """How messages name an input: "input 3" (its position in the call), or "input" for a single one."""
    return "input" if index is None else f"input {index}"


def is_single(inputs: Any) -> bool:
    """True for one post (a dict, string, image or bytes), False for a list, dataset or stream of them."""
    return isinstance(inputs, (Mapping, str, bytes, bytearray, Image.Image, np.ndarray))


def read_post(item: Any, index: int | None, image_limits: ImageLimits, reads_pixels: bool = False) -> Post:
    """Check one input and load its image; raise `MultimodalInputError` naming the input and the fault.

    The image is loaded when it needs describing (no precomputed description) or when the model
    reads pixels (`reads_pixels`); otherwise it is ignored."""
    place = where(index)
    if isinstance(item, str):
        item = {"text": item}
    elif isinstance(item, (Image.Image, bytes, bytearray, np.ndarray)):
        item = {"image": item}
    elif not isinstance(item, Mapping):
        raise MultimodalInputError(
            f"{place}: expected a dict like {{'text': ..., 'image': ...}}, got {type(item).__name__}", index
        )
    if not any(key in item for key in INPUT_KEYS):
        keys = sorted(map(str, item))[:8]
        raise MultimodalInputError(
            f"{place}: has none of the keys 'text', 'image', 'image_description' (its keys: {keys})", index
        )
    text, image, description = item.get("text"), item.get("image"), item.get("image_description")
    for name, value in (("text", text), ("image_description", description)):
        if value is not None and not isinstance(value, str):
            raise MultimodalInputError(f"{place}: '{name}' must be a string or None, got {type(value).__name__}", index)
    if is_blank(text):
        text = None  # empty, whitespace or only invisible characters (zero-width...): a missing text
    if text is None and image is None and is_blank(description):
        raise MultimodalInputError(
            f"{place}: nothing to classify: no text, no image and no image_description "
            "(empty text, whitespace or only invisible characters such as zero-width spaces count as missing)",
            index,
        )
    post = Post(index, text=text)
    if description is not None:
        # The model reads it as training did (compose_description collapses whitespace);
        # the output returns it exactly as given.
        post.description = normalize_whitespace(description) or None
        post.image_description = description
        post.description_views = [PRECOMPUTED_VIEW]
    needs_description = description is None and image is not None and not reads_pixels
    if image is not None and (needs_description or reads_pixels):
        try:
            post.image = load_image_input(image, image_limits)
        except (ImageInputError, TypeError) as err:
            raise MultimodalInputError(f"{place}: {err}", index) from err
        if needs_description:
            post.image_hash = image_content_hash(post.image)
            post.needs_description = True
    return post


def check_views(views: Sequence[str] | None) -> tuple[str, ...]:
    """`image_views` as a tuple of known view names (None: the caption alone)."""
    if views is None:
        return (CAPTION_VIEW,)
    if isinstance(views, str):
        views = [views]
    views = tuple(views)
    unknown = [view for view in views if view not in (CAPTION_VIEW, OCR_VIEW)]
    if unknown:
        raise ValueError(
            f"image_views must be a list of {CAPTION_VIEW!r} and {OCR_VIEW!r} (empty: images are ignored); "
            f"got {list(views)}"
        )
    return views


def check_batch_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"batch_size must be a positive integer (posts per batch), got {value!r}")
    return int(value)


def check_on_error(mode: str) -> str:
    if mode not in ON_ERROR_MODES:
        raise ValueError(f"on_error must be one of {ON_ERROR_MODES}, got {mode!r}")
    return mode


__all__ = [
    "INPUT_KEYS",
    "ON_ERROR_MODES",
    "PRECOMPUTED_VIEW",
    "MultimodalInputError",
    "Post",
    "check_batch_size",
    "check_on_error",
    "check_views",
    "is_single",
    "read_post",
    "where",
]
