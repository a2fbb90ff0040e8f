"""MISR's distributional and invariance constraints as plain functions (hand-checkable in tests).

Hub-bound: imports torch only.
"""

from __future__ import annotations

import torch
from torch import nn


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)), summed over latent dimensions, averaged over the batch.

    Per row: 0.5 * sum_d (mean_d^2 + exp(logvar_d) - 1 - logvar_d); 0 exactly when mean = 0
    and logvar = 0. Computed in float32 so half-precision training does not overflow exp().
    """
    mean, logvar = mean.float(), logvar.float()
    per_row = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)
    return per_row.mean()


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Sample mean + eps * std with eps ~ N(0, I): a sample the gradient flows through."""
    return mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)


def irm_penalty(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IRMv1 (Arjovsky et al., 2019) for one environment: its risk and the squared gradient of
    that risk with respect to a dummy classifier scale w = 1.0 multiplying the logits.

    The gradient is 0 when scaling the logits cannot lower the risk, i.e. the classifier is
    already optimal for this environment. `create_graph=True` keeps the penalty differentiable
    so the model is trained to make it small. Returns `(risk, penalty)`; the risk equals plain
    cross-entropy because w is 1.
    """
    scale = torch.ones((), device=logits.device, dtype=torch.float32, requires_grad=True)
    risk = nn.functional.cross_entropy(logits.float() * scale, labels)
    (grad,) = torch.autograd.grad(risk, scale, create_graph=True)
    return risk, grad.pow(2)


def rex_penalty(risks: torch.Tensor) -> torch.Tensor:
    """V-REx (Krueger et al., 2021): the variance of the environment risks.

    Population variance (divide by the number of environments, as in DomainBed), so a single
    environment gives 0 rather than NaN.
    """
    risks = risks.float()
    return (risks - risks.mean()).pow(2).mean()


__all__ = ["gaussian_kl", "reparameterize", "irm_penalty", "rex_penalty"]
