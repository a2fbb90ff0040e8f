"""Key mapping for plain PyTorch state dicts trained outside this package.

A state dict saved by another training script rarely has the parameter names of our models:
DDP wraps every name in ``module.``, ``torch.compile`` in ``_orig_mod.``, Lightning and home-made
wrappers in ``model.``, and an encoder fine-tuned with e.g. ``BertForSequenceClassification``
lives under ``bert.`` where ours lives under ``era.encoder.``. The rules below turn such names
into ours, in this order, and every step is reported so nothing is renamed silently:

1. **Wrapper prefixes**: ``module.`` (DataParallel / DistributedDataParallel), ``_orig_mod.``
   (``torch.compile``) and ``model.`` (Lightning, custom wrappers) are stripped, repeatedly,
   but only when *every* key carries the prefix and the model itself has no key with it, so a
   genuine ``model.`` sub-module is never mangled.
2. **Your rules** (``--key-map OLD=NEW``, repeatable, first match wins): a key that starts with
   ``OLD`` (after step 1, or as written in the file) gets ``NEW`` instead of it; an empty ``NEW``
   strips the prefix. Use them for anything the automatic rules cannot know (for example two
   text encoders in one MISR model).
3. **Exact names**: a key the model has is kept as is.
4. **Encoder prefixes**: the model's text encoder is found as the unique prefix ``P`` under which
   the model has ``P + "embeddings.word_embeddings.weight"`` (``era.encoder.`` for ERA). Then
   ``<base>.rest`` becomes ``P + rest`` for the usual base-model prefixes of Hugging Face encoders
   (``bert.``, ``roberta.``, ``deberta.``, ``electra.``, ``distilbert.``, ``albert.``,
   ``xlm_roberta.``, ``mpnet.``, ``encoder.`` for a bare-encoder wrapper, ...), and a bare encoder
   state dict (``embeddings.*``, ``encoder.layer.*``, ``transformer.*``) gets ``P`` prepended.
   With no such prefix, or more than one (a model with two text encoders), step 4 is skipped and
   the report says which ``--key-map`` rule to add.
5. **Dropped**: ``*pooler.*`` weights (ERA pools tokens itself and removes the encoder's pooler)
   and ``*.position_ids`` buffers (recomputed by transformers) are dropped when the model has no
   such key; any ``--drop PATTERN`` (fnmatch) is dropped too.

What is left must match the model exactly: a missing key (a weight that would stay randomly
initialised), an unexpected key, or a shape mismatch raises a `KeyMappingError` that lists the
keys and the rule to add. ``--allow-missing PATTERN`` accepts missing keys on purpose, e.g. a
new classifier head (``classifier.*``) for a checkpoint that only brings a fine-tuned encoder.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.")
# Base-model prefixes of common Hugging Face text encoders (`base_model_prefix` + ".").
ENCODER_BASE_PREFIXES = (
    "bert.",
    "roberta.",
    "xlm_roberta.",
    "xlm-roberta.",
    "camembert.",
    "deberta.",
    "electra.",
    "distilbert.",
    "albert.",
    "mpnet.",
    "ernie.",
    "encoder.",
    "text_encoder.",
)
# First name component of a bare encoder state dict (what `AutoModel(...).state_dict()` gives).
BARE_ENCODER_ROOTS = ("embeddings.", "encoder.layer.", "transformer.", "pooler.")
ENCODER_PROBE = "embeddings.word_embeddings.weight"
DEFAULT_DROP = ("*pooler.*", "*.position_ids")


class KeyMappingError(ValueError):
    """The state dict does not fit the model; the message says which keys and what to pass."""


@dataclass
class KeyMappingReport:
    """What `map_state_dict` did, for the export log."""

    renamed: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    stripped_prefixes: list[str] = field(default_factory=list)
    encoder_prefix: str | None = None
    missing_allowed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        if self.stripped_prefixes:
            parts.append(f"stripped wrapper prefixes {self.stripped_prefixes}")
        if self.renamed:
            parts.append(f"renamed {len(self.renamed)} keys (e.g. {next(iter(self.renamed.items()))})")
        if self.dropped:
            parts.append(f"dropped {len(self.dropped)} keys (e.g. {self.dropped[:3]})")
        if self.missing_allowed:
            parts.append(f"left {len(self.missing_allowed)} weights at their initial values (--allow-missing)")
        return "; ".join(parts) or "all keys matched the model as they were"


def parse_key_map(rules: Iterable[str]) -> list[tuple[str, str]]:
    """Parse ``OLD=NEW`` command-line rules into prefix pairs."""
    pairs = []
    for rule in rules:
        if "=" not in rule:
            raise KeyMappingError(f"--key-map takes OLD=NEW (e.g. 'net.backbone.=era.encoder.'), got {rule!r}.")
        old, new = rule.split("=", 1)
        if not old:
            raise KeyMappingError(f"--key-map {rule!r}: the OLD prefix must not be empty.")
        pairs.append((old, new))
    return pairs


def find_encoder_prefix(model_keys: Iterable[str]) -> str | None:
    """The unique prefix under which the model keeps its text encoder, or None (none or ambiguous)."""
    prefixes = {k[: -len(ENCODER_PROBE)] for k in model_keys if k.endswith(ENCODER_PROBE)}
    return prefixes.pop() if len(prefixes) == 1 else None


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def _strip_wrappers(keys: list[str], model_keys: set[str], report: KeyMappingReport) -> dict[str, str]:
    current = {k: k for k in keys}
    changed = True
    while changed:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            names = list(current.values())
            if names and all(n.startswith(prefix) for n in names) and not any(m.startswith(prefix) for m in model_keys):
                current = {k: n[len(prefix) :] for k, n in current.items()}
                report.stripped_prefixes.append(prefix)
                changed = True
    return current


def _encoder_rename(name: str, encoder_prefix: str, model_keys: set[str]) -> str | None:
    for base in ENCODER_BASE_PREFIXES:
        if name.startswith(base):
            candidate = encoder_prefix + name[len(base) :]
            if candidate in model_keys:
                return candidate
    if name.startswith(BARE_ENCODER_ROOTS) and encoder_prefix + name in model_keys:
        return encoder_prefix + name
    return None


def map_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    model_state: Mapping[str, torch.Tensor],
    *,
    key_map: Sequence[tuple[str, str]] = (),
    drop: Sequence[str] = (),
    allow_missing: Sequence[str] = (),
) -> tuple[dict[str, torch.Tensor], KeyMappingReport]:
    """Rename `state_dict`'s keys to the keys of `model_state` (see the module docstring).

    Returns the renamed state dict (only keys the model has) and a report. Raises
    `KeyMappingError` when keys are left over, missing or of the wrong shape.
    """
    report = KeyMappingReport()
    model_keys = set(model_state)

    names = _strip_wrappers(list(state_dict), model_keys, report)
    for key, name in names.items():
        for old, new in key_map:
            if name.startswith(old) or key.startswith(old):
                names[key] = new + (name[len(old) :] if name.startswith(old) else key[len(old) :])
                break

    encoder_prefix = find_encoder_prefix(model_keys)
    report.encoder_prefix = encoder_prefix
    mapped: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    drop_patterns = tuple(drop) + DEFAULT_DROP
    for key, name in names.items():
        target = name if name in model_keys else None
        if target is None and encoder_prefix is not None:
            target = _encoder_rename(name, encoder_prefix, model_keys)
        if target is None:
            if _matches(name, drop_patterns) or _matches(key, tuple(drop)):
                report.dropped.append(key)
            else:
                unexpected.append(key)
            continue
        if target in mapped:
            raise KeyMappingError(f"Two keys of the state dict map to {target!r} (one of them is {key!r}); add a --key-map or --drop rule.")
        if target != key:
            report.renamed[key] = target
        mapped[target] = state_dict[key]

    problems = []
    if unexpected:
        hint = (
            f"the model keeps its text encoder under {encoder_prefix!r}"
            if encoder_prefix
            else "the model's text encoder prefix could not be found automatically"
        )
        problems.append(
            f"{len(unexpected)} keys have no place in the model, e.g. {unexpected[:5]} ({hint}). "
            "Rename them with --key-map OLD=NEW or drop them with --drop PATTERN."
        )
    missing = sorted(k for k in model_keys - set(mapped) if not _is_optional_buffer(k))
    allowed = [k for k in missing if _matches(k, tuple(allow_missing))]
    missing = [k for k in missing if k not in allowed]
    report.missing_allowed = allowed
    if missing:
        problems.append(
            f"{len(missing)} model weights are not in the state dict, e.g. {missing[:5]}; they would stay randomly "
            "initialised. Map them with --key-map, or accept that on purpose with --allow-missing PATTERN "
            "(e.g. 'classifier.*' for a new head)."
        )
    mismatched = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(model_state[k].shape)}"
        for k, v in mapped.items()
        if tuple(v.shape) != tuple(model_state[k].shape)
    ]
    if mismatched:
        problems.append(
            f"{len(mismatched)} weights have the wrong shape, e.g. {mismatched[:3]}. Is --config the configuration "
            "the checkpoint was trained with (hidden size, vocabulary, number of labels)?"
        )
    if problems:
        raise KeyMappingError("The state dict does not fit the model:\n- " + "\n- ".join(problems))
    return mapped, report


def _is_optional_buffer(key: str) -> bool:
    # Non-weight buffers the model recomputes; old checkpoints may or may not carry them.
    return key.endswith((".position_ids", ".token_type_ids"))


__all__ = [
    "KeyMappingError",
    "KeyMappingReport",
    "map_state_dict",
    "parse_key_map",
    "find_encoder_prefix",
]
