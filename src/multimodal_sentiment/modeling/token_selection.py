"""Top-K semantic token selection and batch uniformity regularisation (ERA, steps 3 and 5).

Hub-bound: imports torch only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TokenSelection:
    """What the selector chose for a batch.

    pooled: (batch, hidden) post representation.
    scores: (batch, seq) relevance score of every token (-inf where not selectable).
    indices: (batch, k) selected positions, best first; -1 where a row has fewer than k tokens.
    weights: (batch, k) weight of each selected token in `pooled` (0 where index is -1).
    """

    pooled: torch.Tensor
    scores: torch.Tensor | None
    indices: torch.Tensor
    weights: torch.Tensor


def selectable_token_mask(
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor,
    special_token_ids: list[int] | None = None,
    special_tokens_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Tokens the selector may pick: attended, and not special (CLS, SEP, PAD...).

    A row with no such token (empty text and no description) falls back to its attended
    tokens, so every row pools something instead of dividing by zero.
    """
    mask = attention_mask.bool()
    if special_tokens_mask is not None:
        mask = mask & ~special_tokens_mask.bool()
    elif special_token_ids and input_ids is not None:
        specials = torch.tensor(sorted(set(special_token_ids)), device=input_ids.device)
        mask = mask & ~torch.isin(input_ids, specials)
    empty_rows = ~mask.any(dim=-1, keepdim=True)
    return torch.where(empty_rows, attention_mask.bool(), mask)


class TopKTokenSelector(nn.Module):
    """Scores every token's final hidden state and pools the K best.

    Hard top-k alone gives the scorer no gradient, so the selected states are weighted by a
    gate of their scores (`gate="sigmoid"` or `"softmax"`); `gate="none"` is the plain hard mean.
    `top_k` None or 0 pools every selectable token with a plain mean and has no scorer.
    """

    def __init__(self, hidden_size: int, top_k: int | None, gate: str = "sigmoid", scorer_hidden_size: int | None = None):
        super().__init__()
        self.top_k = top_k or 0
        self.gate = gate
        if self.top_k:
            width = scorer_hidden_size or max(hidden_size // 4, 1)
            self.scorer = nn.Sequential(nn.Linear(hidden_size, width), nn.Tanh(), nn.Linear(width, 1))
        else:
            self.scorer = None

    def forward(self, hidden_states: torch.Tensor, selectable: torch.Tensor) -> TokenSelection:
        batch, seq_len, _ = hidden_states.shape
        selectable = selectable.bool()
        n_valid = selectable.sum(dim=-1)  # (batch,)

        if self.scorer is None:
            weights_full = selectable.to(hidden_states.dtype) / n_valid.clamp(min=1).unsqueeze(-1)
            pooled = torch.einsum("bs,bsh->bh", weights_full, hidden_states)
            positions = torch.arange(seq_len, device=hidden_states.device).expand(batch, seq_len)
            indices = torch.where(selectable, positions, torch.full_like(positions, -1))
            return TokenSelection(pooled=pooled, scores=None, indices=indices, weights=weights_full)

        scores = self.scorer(hidden_states).squeeze(-1).float()
        scores = scores.masked_fill(~selectable, float("-inf"))
        k = min(self.top_k, seq_len)
        top_scores, top_idx = scores.topk(k, dim=-1)  # sorted, best first
        rank = torch.arange(k, device=hidden_states.device).unsqueeze(0)
        chosen = rank < n_valid.unsqueeze(-1)  # K capped at the number of valid tokens
        safe_scores = top_scores.masked_fill(~chosen, 0.0)

        if self.gate == "sigmoid":
            weights = torch.sigmoid(safe_scores) * chosen / chosen.sum(-1, keepdim=True).clamp(min=1)
        elif self.gate == "softmax":
            weights = torch.softmax(top_scores.masked_fill(~chosen, float("-inf")), dim=-1)
        else:  # "none": hard mean, the scorer receives no gradient
            weights = chosen.float() / chosen.sum(-1, keepdim=True).clamp(min=1)
        weights = weights.masked_fill(~chosen, 0.0).to(hidden_states.dtype)

        selected_states = hidden_states.gather(1, top_idx.unsqueeze(-1).expand(-1, -1, hidden_states.size(-1)))
        pooled = (weights.unsqueeze(-1) * selected_states).sum(dim=1)
        indices = top_idx.masked_fill(~chosen, -1)
        return TokenSelection(pooled=pooled, scores=scores, indices=indices, weights=weights)


def uniformity_penalty(pooled: torch.Tensor, kind: str = "cosine", temperature: float = 2.0) -> torch.Tensor:
    """Batch uniformity regulariser against feature collapse; needs a batch of 2 or more.

    `"cosine"`: mean off-diagonal cosine similarity between the samples' pooled vectors
    (1 when all collapse to one direction, about 0 when spread out).
    `"gaussian"`: Wang & Isola (2020), log mean_{i != j} exp(-t * |zi - zj|^2) on unit vectors.
    """
    batch = pooled.size(0)
    if batch < 2:
        raise ValueError(f"uniformity_penalty needs a batch of at least 2 samples, got {batch}.")
    z = nn.functional.normalize(pooled.float(), dim=-1)
    off_diagonal = ~torch.eye(batch, dtype=torch.bool, device=pooled.device)
    if kind == "cosine":
        return (z @ z.T)[off_diagonal].mean()
    if kind == "gaussian":
        # |zi - zj|^2 = 2 - 2 cos for unit vectors; cdist has no gradient at distance 0.
        sq_dist = (2.0 - 2.0 * (z @ z.T))[off_diagonal]
        return torch.logsumexp(-temperature * sq_dist, dim=0) - torch.log(torch.tensor(float(sq_dist.numel())))
    raise ValueError(f"Unknown uniformity type {kind!r}; use 'cosine' or 'gaussian'.")


__all__ = ["TokenSelection", "TopKTokenSelector", "selectable_token_mask", "uniformity_penalty"]
