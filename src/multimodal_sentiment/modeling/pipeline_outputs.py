"""What the multimodal-sentiment pipeline returns for one post: the result record (spelled once,
`PostResult.to_dict`), the label and probabilities from logits, and the evidence tokens.

Output keys: `label`, `score`, `scores` (every label), `image_description`, `description_views`;
`evidence` with `return_evidence=True`; `text_only`, `description_only`, `agreement` with
`return_modalities=True`. A post that failed under `on_error="record"` gives `index` and `error`
first and None for the prediction.

Hub-bound: travels with every checkpoint (imported by the pipeline file); imports only torch and
the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

MODALITY_NAMES = {0: "text", 1: "description"}
# A field that was not asked for is left out of the output (None means "asked for, not available").
NOT_REQUESTED: Any = object()


@dataclass
class PostResult:
    """The result of one post. Optional parts keep `NOT_REQUESTED` unless the call asked for them."""

    label: str | None = None
    score: float | None = None
    scores: dict[str, float] | None = None
    image_description: str | None = None
    description_views: list[str] = field(default_factory=list)
    index: int | None = None
    error: str | None = None
    evidence: Any = NOT_REQUESTED
    text_only: Any = NOT_REQUESTED
    description_only: Any = NOT_REQUESTED

    @classmethod
    def failed(cls, index: int | None, message: str) -> PostResult:
        return cls(index=index, error=message)

    def to_dict(self) -> dict[str, Any]:
        """The pipeline's output dict for this post."""
        out: dict[str, Any] = {"index": self.index, "error": self.error} if self.error is not None else {}
        out.update(
            label=self.label,
            score=self.score,
            scores=self.scores,
            image_description=self.image_description,
            description_views=list(self.description_views),
        )
        if self.evidence is not NOT_REQUESTED:
            out["evidence"] = self.evidence
        if self.text_only is not NOT_REQUESTED:
            both = self.text_only is not None and self.description_only is not None
            out["text_only"] = self.text_only
            out["description_only"] = self.description_only
            out["agreement"] = self.text_only["label"] == self.description_only["label"] if both else None
        return out


def prediction(logits: torch.Tensor, config: Any) -> dict[str, Any]:
    """`label`, `score` and `scores` (every label) from one row of logits: sigmoid for multi-label
    (or single-logit) models, softmax otherwise."""
    logits = logits.float().cpu()
    if config.problem_type == "multi_label_classification" or config.num_labels == 1:
        probabilities = torch.sigmoid(logits)
    else:
        probabilities = torch.softmax(logits, dim=-1)
    best = int(probabilities.argmax())
    return {
        "label": config.id2label[best],
        "score": float(probabilities[best]),
        "scores": {config.id2label[i]: float(p) for i, p in enumerate(probabilities.tolist())},
    }


def token_info(encoding: Any, text: str | None, description: str | None) -> dict[str, Any]:
    """Which part (text / description) and which whole word each token comes from, read from the
    fast tokenizer's alignment; without a fast tokenizer the evidence has no modality."""
    encodings = getattr(encoding, "encodings", None)
    if not encodings:
        return {"sequence_ids": None, "words": None}
    aligned = encodings[0]
    sequence_ids, word_ids, offsets = aligned.sequence_ids, aligned.word_ids, aligned.offsets
    sources = {0: text or "", 1: description or ""}
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    for sequence, word, (begin, end) in zip(sequence_ids, word_ids, offsets, strict=True):
        if sequence is None or word is None:
            continue
        low, high = spans.get((sequence, word), (begin, end))
        spans[(sequence, word)] = (min(low, begin), max(high, end))
    words = [
        sources[sequence][slice(*spans[(sequence, word)])] if sequence is not None and word is not None else None
        for sequence, word in zip(sequence_ids, word_ids, strict=True)
    ]
    return {"sequence_ids": list(sequence_ids), "words": words}


def evidence(outputs: dict[str, Any], info: dict[str, Any] | None, tokenizer: Any) -> list[dict[str, Any]] | None:
    """The tokens the model pooled, best first: `token`, `word`, `weight`, `modality` and
    `position`; None for a model without token selection (MISR)."""
    if outputs.get("selected_indices") is None:
        return None
    input_ids = outputs["input_ids"][0].tolist()
    info = info or {}
    sequence_ids, words = info.get("sequence_ids"), info.get("words")
    tokens = []
    for position, weight in zip(
        outputs["selected_indices"][0].tolist(), outputs["selected_weights"][0].tolist(), strict=True
    ):
        if position < 0:
            continue  # unused slot: the post had fewer than K selectable tokens
        source = sequence_ids[position] if sequence_ids and position < len(sequence_ids) else None
        tokens.append(
            {
                "token": tokenizer.convert_ids_to_tokens(input_ids[position]),
                "word": words[position] if words and position < len(words) else None,
                "weight": float(weight),
                "modality": MODALITY_NAMES.get(source, "special"),
                "position": int(position),
            }
        )
    return tokens


__all__ = ["MODALITY_NAMES", "NOT_REQUESTED", "PostResult", "evidence", "prediction", "token_info"]
