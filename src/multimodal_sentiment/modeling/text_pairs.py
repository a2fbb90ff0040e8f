"""The one way (text, image description) becomes model input: shared by training, evaluation
and the pipeline, so what a model sees at inference is what it was trained on.

Hub-bound: standard library only (the tokenizer is passed in).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

# Emoji and pictographs live from the arrows block (U+2190) up; below it, "So" holds signs such as
# (c) and (tm) that carry no sentiment and keep their tokenizer behaviour.
_FIRST_PICTOGRAPH = 0x2190
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)  # flag halves: letter A..Z
# Zero-width joiner, variation selectors, keycap combiner: glue inside an emoji sequence, no meaning.
_EMOJI_GLUE = {0x200D, 0x20E3, *range(0xFE00, 0xFE10)}


def normalize_whitespace(text: Any) -> str:
    """One line, single spaces ("" for None): how every text, description and view is read, in
    training data, CSV files and the pipeline alike."""
    return " ".join(str(text if text is not None else "").split())


def emoji_to_words(text: str | None) -> str | None:
    """Every emoji (pictographic symbol) as its Unicode name in lower-case words, so a tokenizer
    that knows no emoji still reads it: "today I feel 😍" -> "today I feel smiling face with
    heart-shaped eyes". Skin-tone modifiers and joiners are dropped, a flag becomes its letters.
    Idempotent; None stays None. The standard library's `unicodedata` only, so it travels to the Hub.
    Switched on per checkpoint by `config.emoji_as_words` (training, evaluation and pipeline alike)."""
    if not text:
        return text
    parts: list[str] = []
    changed = False
    for char in text:
        code = ord(char)
        if code in _EMOJI_GLUE or unicodedata.category(char) == "Sk" and 0x1F3FB <= code <= 0x1F3FF:
            changed = True
            continue
        if code in _REGIONAL_INDICATORS:
            parts.append(chr(ord("a") + code - _REGIONAL_INDICATORS.start))
            changed = True
            continue
        if code >= _FIRST_PICTOGRAPH and unicodedata.category(char) == "So":
            name = unicodedata.name(char, "")
            if name:
                parts.append(f" {name.lower()} ")
                changed = True
                continue
        parts.append(char)
    if not changed:
        return text
    return " ".join("".join(parts).split())


def is_blank(text: str | None) -> bool:
    """True when `text` has nothing visible: None, "", whitespace, or only format / control
    characters (zero-width space and joiners, BOM, word joiner, variation selectors, ...)."""
    if not text:
        return True
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Cf", "Cc") or 0xFE00 <= ord(char) <= 0xFE0F:
            continue
        return False
    return True


# How image-to-text views join into one description ("a dog on a beach . BEST DAY"); configs record it.
DEFAULT_VIEW_SEPARATOR = " . "


def compose_description(
    views: Mapping[str, str | None], image_views: Sequence[str], separator: str = DEFAULT_VIEW_SEPARATOR
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
    emoji_as_words: bool = False,
    **tokenizer_kwargs: Any,
):
    """Tokenize posts as a pair: text first, description second.

    `truncation="longest_first"` trims the longer part first, so a long post never pushes the
    description out (and vice versa). A missing text or description is encoded as an empty
    segment, the same way in training and inference. `descriptions=None` means text only.
    `emoji_as_words=True` (the checkpoint's `config.emoji_as_words`) spells emoji out first
    (`emoji_to_words`).
    """
    prepare = emoji_to_words if emoji_as_words else (lambda value: value)
    texts = [prepare(t) or "" for t in texts]
    tokenizer_kwargs.setdefault("truncation", "longest_first")
    if descriptions is None:
        return tokenizer(texts, max_length=max_length, **tokenizer_kwargs)
    if len(descriptions) != len(texts):
        raise ValueError(f"Got {len(texts)} texts but {len(descriptions)} descriptions; they must pair up.")
    descriptions = [prepare(d) or "" for d in descriptions]
    return tokenizer(texts, descriptions, max_length=max_length, **tokenizer_kwargs)


__all__ = [
    "DEFAULT_VIEW_SEPARATOR",
    "compose_description", "emoji_to_words", "encode_text_pairs", "is_blank", "normalize_whitespace"]
