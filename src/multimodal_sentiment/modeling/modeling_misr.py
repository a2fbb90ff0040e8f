"""MISR models: modality encoders, Gaussian latents per modality and for their fusion, and one
shared classifier over several environments under an invariance penalty (IRMv1 or V-REx).

Hub-bound: imports torch, transformers and its siblings only.

Missing visual input. A row has no visual input when the batch carries neither pixels nor a
description for it: no `pixel_values` / `description_input_ids` at all, a description with no
token other than special ones or padding, or `has_visual[i] = False`. Such a row never crashes
the model and never pretends to have an image:
- its visual representation is a learned "missing image" embedding, so the joint latent (and
  the prediction) still sees the text, plus a marker that the image is absent;
- the visual environment's risk is computed over the rows that do have a visual input only,
  and a batch with none skips the visual environment (it leaves the CE mean and the penalty).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel
from transformers.modeling_outputs import ModelOutput

from .configuration_misr import MisrConfig
from .invariance import gaussian_kl, irm_penalty, reparameterize, rex_penalty
from .modeling_common import (
    calibrated_logits,
    check_labels,
    copy_pretrained_state,
    load_pretrained_encoder,
    resolve_encoder_source,
    text_encoder_from_config,
)
from .token_selection import selectable_token_mask

# Keeps exp(logvar) finite in float16/bfloat16 and the KL bounded when a head blows up early in
# training; exp(+-10) covers standard deviations from 0.007 to 148, far beyond what is learned.
LOGVAR_RANGE = (-10.0, 10.0)


@dataclass
class MisrModelOutput(ModelOutput):
    """Output of [`MisrModel`].

    joint_mean, joint_logvar: (batch, latent) the Gaussian of the joint (fused) representation.
    joint_latent: (batch, latent) a reparameterised sample in training, `joint_mean` in eval.
    text_mean, text_logvar, text_latent: the same for the text modality (None when "text" is
        not an environment).
    visual_mean, visual_logvar, visual_latent: the same for the visual modality (None when
        "visual" is not an environment).
    text_pooled: (batch, text_hidden) masked mean of the text encoder's states.
    visual_pooled: (batch, visual_hidden) the visual representation (the learned "missing"
        embedding on rows without visual input).
    visual_present: (batch,) bool, which rows had a visual input.
    """

    joint_mean: torch.Tensor | None = None
    joint_logvar: torch.Tensor | None = None
    joint_latent: torch.Tensor | None = None
    text_mean: torch.Tensor | None = None
    text_logvar: torch.Tensor | None = None
    text_latent: torch.Tensor | None = None
    visual_mean: torch.Tensor | None = None
    visual_logvar: torch.Tensor | None = None
    visual_latent: torch.Tensor | None = None
    text_pooled: torch.Tensor | None = None
    visual_pooled: torch.Tensor | None = None
    visual_present: torch.Tensor | None = None


@dataclass
class MisrSequenceClassifierOutput(ModelOutput):
    """Output of [`MisrForSequenceClassification`].

    loss: with labels. Training: ce_loss + kl_weight * kl_loss + invariance_weight *
        invariance_penalty. Evaluation: ce_loss only (no sampling, no regularisers).
    logits: (batch, num_labels) from the joint environment: the model's predictions.
    ce_loss: training: the mean of the environment risks (`env_loss="mean"`) or the joint
        risk (`env_loss="joint"`); evaluation: the joint risk.
    kl_loss: sum over the latents of their KL to N(0, I), batch-averaged (training only).
    invariance_penalty: IRMv1 (mean over environments) or V-REx penalty (training, weight > 0).
    environment_risks: {environment: cross-entropy} for the environments scored in this batch.
    environment_logits: {environment: (batch, num_labels)} the shared classifier on each
        environment's latent, e.g. to see whether text and image agree.
    joint_mean: (batch, latent) the joint representation (for plots and retrieval).
    visual_present: (batch,) bool, which rows had a visual input.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    ce_loss: torch.Tensor | None = None
    kl_loss: torch.Tensor | None = None
    invariance_penalty: torch.Tensor | None = None
    environment_risks: dict[str, torch.Tensor] | None = None
    environment_logits: dict[str, torch.Tensor] | None = None
    joint_mean: torch.Tensor | None = None
    visual_present: torch.Tensor | None = None


class GaussianHead(nn.Module):
    """Mean and log-variance of a diagonal Gaussian latent from a representation."""

    def __init__(self, in_size: int, latent_size: int):
        super().__init__()
        self.mean = nn.Linear(in_size, latent_size)
        self.logvar = nn.Linear(in_size, latent_size)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mean(features), self.logvar(features).clamp(*LOGVAR_RANGE)


class MisrPreTrainedModel(PreTrainedModel):
    config_class = MisrConfig
    base_model_prefix = "misr"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    @classmethod
    def from_encoder(
        cls,
        encoder_name_or_path: str,
        tokenizer: Any = None,
        vision_encoder_name_or_path: str | None = None,
        **config_kwargs: Any,
    ) -> MisrPreTrainedModel:
        """Build a MISR model around pretrained encoder weights.

        Args:
            encoder_name_or_path: Hub id or local folder of any `AutoModel` text encoder.
            tokenizer: its tokenizer; loaded from the same place when omitted. Only used to learn
                which token ids are special (left out of the mean pooling).
            vision_encoder_name_or_path: optional Hub id or folder of a vision encoder (ViT, or a
                CLIP checkpoint whose vision tower is taken). Without it the visual modality is
                the image description.
            **config_kwargs: any [`MisrConfig`] field (`latent_size`, `invariance_type`,
                `id2label`, ...), plus `revision` / `token` / `cache_dir` for the downloads.

        The Gaussian heads and classifier start from random init; encoder weights are copied in
        and checked (a missing weight raises instead of training from noise). With
        `share_text_encoder=False` the description encoder starts from the same weights.
        """
        hub_kwargs = {k: config_kwargs.pop(k) for k in ("revision", "token", "cache_dir") if k in config_kwargs}
        encoder = load_pretrained_encoder(encoder_name_or_path, **hub_kwargs)
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(resolve_encoder_source(encoder_name_or_path), **hub_kwargs)
        config_kwargs.setdefault("special_token_ids", sorted(set(tokenizer.all_special_ids)))
        if vision_encoder_name_or_path is not None:
            vision_config = AutoConfig.from_pretrained(vision_encoder_name_or_path, **hub_kwargs)
            # A full CLIP/SigLIP checkpoint: MISR uses its vision tower only.
            vision_config = getattr(vision_config, "vision_config", None) or vision_config
            config_kwargs["vision_config"] = vision_config.to_dict()
            config_kwargs.setdefault("vision_name_or_path", str(vision_encoder_name_or_path))
        config = MisrConfig(
            encoder_config=encoder.config.to_dict(), encoder_name_or_path=str(encoder_name_or_path), **config_kwargs
        )
        model = cls(config)
        misr = model if isinstance(model, MisrModel) else model.misr
        misr.load_encoder_state(encoder.state_dict())
        if vision_encoder_name_or_path is not None:
            # The tower's own class (e.g. CLIPVisionModel) also loads from a full CLIP checkpoint.
            vision = type(misr.vision_encoder).from_pretrained(vision_encoder_name_or_path, **hub_kwargs)
            copy_pretrained_state(misr.vision_encoder, vision.state_dict(), "vision encoder")
        return model


class MisrModel(MisrPreTrainedModel):
    """Modality encoders + Gaussian latents: (text, image or description) -> latent means."""

    def __init__(self, config: MisrConfig):
        super().__init__(config)
        self.text_encoder = text_encoder_from_config(config.encoder_config)
        self.vision_encoder = None
        self.description_encoder = None
        if config.vision_config is not None:
            self.vision_encoder = AutoModel.from_config(config.vision_config)
            if config.vision_pooling == "mean" and getattr(self.vision_encoder, "pooler", None) is not None:
                self.vision_encoder.pooler = None
        elif not config.share_text_encoder:
            self.description_encoder = text_encoder_from_config(config.encoder_config)
        # An embedding (not a bare Parameter) so transformers' init and loading handle it.
        self.missing_visual = nn.Embedding(1, config.visual_hidden_size)
        envs = config.environments
        self.joint_head = GaussianHead(config.text_hidden_size + config.visual_hidden_size, config.latent_size)
        self.text_head = GaussianHead(config.text_hidden_size, config.latent_size) if "text" in envs else None
        self.visual_head = GaussianHead(config.visual_hidden_size, config.latent_size) if "visual" in envs else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_encoder.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.text_encoder.set_input_embeddings(value)

    def load_encoder_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Copy pretrained text-encoder weights into the text branch (and the separate
        description encoder, if any); raise if any weight MISR uses is missing."""
        copy_pretrained_state(self.text_encoder, state_dict, "text encoder")
        if self.description_encoder is not None:
            copy_pretrained_state(self.description_encoder, state_dict, "description encoder")

    def _pool_text(
        self,
        encoder: nn.Module,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked mean of the encoder's states over non-special tokens, and which rows had any."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        encoder_kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            encoder_kwargs["token_type_ids"] = token_type_ids
        hidden = encoder(**encoder_kwargs, return_dict=True).last_hidden_state
        special_ids = self.config.special_token_ids
        # Falls back to all attended tokens on rows with nothing else, so pooling never divides by 0.
        pooled_mask = selectable_token_mask(input_ids, attention_mask, special_ids).to(hidden.dtype)
        pooled = torch.einsum("bs,bsh->bh", pooled_mask, hidden) / pooled_mask.sum(-1, keepdim=True).clamp(min=1)
        content = attention_mask.bool()
        if special_ids:
            content = content & ~torch.isin(input_ids, torch.tensor(special_ids, device=input_ids.device))
        return pooled, content.any(dim=-1)

    def _pool_pixels(self, pixel_values: torch.Tensor) -> torch.Tensor:
        dtype = next(self.vision_encoder.parameters()).dtype
        out = self.vision_encoder(pixel_values=pixel_values.to(dtype), return_dict=True)
        pooled = getattr(out, "pooler_output", None)
        if pooled is None or self.config.vision_pooling == "mean":
            hidden = out.last_hidden_state
            # (batch, seq, hidden) from ViT-like encoders; (batch, channels, h, w) from CNNs.
            pooled = hidden.mean(dim=(-2, -1)) if hidden.dim() == 4 else hidden.mean(dim=1)
        return pooled.flatten(1)

    def _visual_representation(
        self,
        batch: int,
        reference: torch.Tensor,
        description_input_ids: torch.Tensor | None,
        description_attention_mask: torch.Tensor | None,
        pixel_values: torch.Tensor | None,
        has_visual: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The visual modality's vector per row and which rows actually had a visual input."""
        if self.vision_encoder is not None and description_input_ids is not None:
            raise ValueError(
                "This MISR model reads images as pixels (config.vision_config is set): pass pixel_values, "
                "not description_input_ids."
            )
        if self.vision_encoder is None and pixel_values is not None:
            raise ValueError(
                "This MISR model reads images as descriptions (config.vision_config is None): pass "
                "description_input_ids / description_attention_mask, not pixel_values."
            )
        present = torch.ones(batch, dtype=torch.bool, device=reference.device)
        if pixel_values is not None:
            pooled = self._pool_pixels(pixel_values)
        elif description_input_ids is not None:
            encoder = self.description_encoder if self.description_encoder is not None else self.text_encoder
            pooled, present = self._pool_text(encoder, description_input_ids, description_attention_mask)
        else:  # no visual input in this batch at all
            pooled, present = None, torch.zeros_like(present)
        if has_visual is not None:
            present = present & has_visual.to(present.device).bool().view(-1)
        missing = self.missing_visual.weight[0].to(reference.dtype).expand(batch, -1)
        if pooled is None:
            return missing, present
        if pooled.size(0) != batch:
            raise ValueError(f"Got {pooled.size(0)} visual inputs for a batch of {batch} texts.")
        return torch.where(present.unsqueeze(-1), pooled.to(reference.dtype), missing), present

    def _latent(self, head: GaussianHead | None, features: torch.Tensor):
        if head is None:
            return None, None, None
        mean, logvar = head(features)
        # Sampling only in training: evaluation and serving are deterministic.
        return mean, logvar, reparameterize(mean, logvar) if self.training else mean

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        description_input_ids: torch.Tensor | None = None,
        description_attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        has_visual: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> MisrModelOutput:
        """Encode both modalities and return the Gaussian latents (see the module docstring for
        how rows without visual input are handled)."""
        if input_ids is None:
            raise ValueError("MisrModel needs input_ids (the tokenized post text).")
        text_pooled, _ = self._pool_text(self.text_encoder, input_ids, attention_mask, token_type_ids)
        visual_pooled, present = self._visual_representation(
            input_ids.size(0), text_pooled, description_input_ids, description_attention_mask, pixel_values, has_visual
        )
        joint = self._latent(self.joint_head, torch.cat([text_pooled, visual_pooled], dim=-1))
        text = self._latent(self.text_head, text_pooled)
        visual = self._latent(self.visual_head, visual_pooled)
        return MisrModelOutput(
            joint_mean=joint[0],
            joint_logvar=joint[1],
            joint_latent=joint[2],
            text_mean=text[0],
            text_logvar=text[1],
            text_latent=text[2],
            visual_mean=visual[0],
            visual_logvar=visual[1],
            visual_latent=visual[2],
            text_pooled=text_pooled,
            visual_pooled=visual_pooled,
            visual_present=present,
        )


class MisrForSequenceClassification(MisrPreTrainedModel):
    """MISR with one classifier shared by all environments; predictions from the joint one.

    Training loss = CE over the environments + kl_weight * KL + invariance_weight * penalty.
    """

    def __init__(self, config: MisrConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.misr = MisrModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.latent_size, config.num_labels)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.misr.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.misr.set_input_embeddings(value)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        description_input_ids: torch.Tensor | None = None,
        description_attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        has_visual: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> MisrSequenceClassifierOutput:
        """Classify posts; with `labels`, also the loss and its parts.

        Args:
            input_ids, attention_mask, token_type_ids: the tokenized post text.
            description_input_ids, description_attention_mask: the tokenized image description
                (models without `vision_config`).
            pixel_values: the processed images (models with `vision_config`).
            labels: (batch,) class ids.
            has_visual: optional (batch,) bool; False marks rows whose image is missing (e.g. a
                zero-filled pixel row a collator made up).
        """
        out = self.misr(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            description_input_ids=description_input_ids,
            description_attention_mask=description_attention_mask,
            pixel_values=pixel_values,
            has_visual=has_visual,
        )
        env_latents = {"joint": out.joint_latent, "text": out.text_latent, "visual": out.visual_latent}
        env_logits = {env: self.classifier(self.dropout(env_latents[env])) for env in self.config.environments}
        logits = env_logits["joint"]
        # ModelOutput only exposes fields set at construction: build it once, at the end.
        parts: dict[str, Any] = {}
        if labels is not None:
            parts = self._loss_parts(check_labels(labels, logits, self.config.id2label), env_logits, out)
        if not self.training:  # the stored calibration (identity unless `calibrate` fitted one)
            logits = calibrated_logits(logits, self.config)
        return MisrSequenceClassifierOutput(
            logits=logits,
            environment_logits=env_logits,
            joint_mean=out.joint_mean,
            visual_present=out.visual_present,
            **parts,
        )

    def _loss_parts(
        self, labels: torch.Tensor, env_logits: dict[str, torch.Tensor], out: MisrModelOutput
    ) -> dict[str, Any]:
        """Environment risks, and in training the KL, the invariance penalty and their sum."""
        use_irm = self.training and self.config.invariance_type == "irm" and self.config.invariance_weight > 0
        risks, irm_terms = {}, []
        for env in self.config.environments:
            logits, env_labels = env_logits[env], labels
            if env == "visual":  # rows without an image would teach the image branch nothing
                if not out.visual_present.any():
                    continue
                logits, env_labels = logits[out.visual_present], labels[out.visual_present]
            if use_irm:
                risks[env], penalty = irm_penalty(logits, env_labels)
                irm_terms.append(penalty)
            else:
                risks[env] = nn.functional.cross_entropy(logits.float(), env_labels)
        if not self.training:
            # Evaluation scores the predictions: the joint risk, no sampling, no regularisers.
            return {"loss": risks["joint"], "ce_loss": risks["joint"], "environment_risks": risks}

        stacked = torch.stack(list(risks.values()))
        ce = stacked.mean() if self.config.env_loss == "mean" else risks["joint"]
        gaussians = [
            (out.joint_mean, out.joint_logvar),
            (out.text_mean, out.text_logvar),
            (out.visual_mean, out.visual_logvar),
        ]
        kl = sum(gaussian_kl(mean, logvar) for mean, logvar in gaussians if mean is not None)
        loss = ce + self.config.kl_weight * kl
        penalty = None
        if self.config.invariance_weight > 0:
            penalty = torch.stack(irm_terms).mean() if use_irm else rex_penalty(stacked)
            loss = loss + self.config.invariance_weight * penalty
        return {
            "loss": loss,
            "ce_loss": ce,
            "kl_loss": kl,
            "invariance_penalty": penalty,
            "environment_risks": risks,
        }


__all__ = [
    "MisrModel",
    "MisrForSequenceClassification",
    "MisrPreTrainedModel",
    "MisrModelOutput",
    "MisrSequenceClassifierOutput",
    "GaussianHead",
]
