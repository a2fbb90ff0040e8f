"""The one way (text, image description) becomes model input: shared by training, evaluation
and the pipeline, so what a model sees at inference is what it was trained on.

Hub-bound: standard library only (the tokenizer is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def normalize_whitespace(text: Any) -> str:
    """One line, single spaces ("" for None): how every text, description and view is read, in
    training data, CSV files and the pipeline alike."""
    return " ".join(str(text if text is not None else "").split())


def compose_description(
    views: Mapping[str, str | None], image_views: Sequence[str], separator: str = " . "
) -> str | None:
    """Join the image-to-text views named in `image_views` (e.g. caption, then OCR) into one
    description. Empty or missing views are skipped; None when nothing is left."""
    parts = []
    for name in image_views:
        value = views.get(name)
        if normalized := normalize_whitespace(value):
            parts.append(normalized)
    return separator.join(parts) if parts else None


def encode_text_pairs(
    tokenizer: Any,
    texts: Sequence[str | None],
    descriptions: Sequence[str | None] | None,
    max_length: int,
    **tokenizer_kwargs: Any,
):
    """Tokenize posts as a pair: text first, description second.

    `truncation="longest_first"` trims the longer part first, so a long post never pushes the
    description out (and vice versa). A missing text or description is encoded as an empty
    segment, the same way in training and inference. `descriptions=None` means text only.
    """
    texts = [t or "" for t in texts]
    tokenizer_kwargs.setdefault("truncation", "longest_first")
    if descriptions is None:
        return tokenizer(texts, max_length=max_length, **tokenizer_kwargs)
    if len(descriptions) != len(texts):
        raise ValueError(f"Got {len(texts)} texts but {len(descriptions)} descriptions; they must pair up.")
    descriptions = [d or "" for d in descriptions]
    return tokenizer(texts, descriptions, max_length=max_length, **tokenizer_kwargs)


__all__ = ["compose_description", "encode_text_pairs"]
