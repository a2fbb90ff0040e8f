"""From the common schema to model inputs: tokenization (cached `datasets.map`) and collation.

Which inputs a model takes and how (text, description) becomes them is decided in ONE place,
`multimodal_sentiment.modeling.input_spec.InputSpec` (built from the model's config:
`InputSpec.from_config(config).mode` is the `mode` here); this module only applies it to datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict
from datasets import config as datasets_config
from datasets.fingerprint import Hasher
from transformers import DataCollatorWithPadding

from ..modeling.input_spec import DESCRIPTION_PREFIX, InputSpec
from ..modeling.text_pairs import DEFAULT_VIEW_SEPARATOR, compose_description
from .schema import VIEW_COLUMNS

# The model modes a dataset can feed (`InputSpec.mode`: pair, separate; pixels needs the images),
# and the probes: text / description, that part alone as one segment (retrieval).
PART_MODES = ("text", "description")
INPUT_MODES = ("pair", "separate", *PART_MODES)


def describe(batch: dict[str, list[Any]], image_views: Sequence[str], separator: str) -> list[str | None]:
    """The description of every row of a batch: its views in `image_views` order, joined."""
    views = [v for v in VIEW_COLUMNS if v in batch]
    return [
        compose_description({v: batch[v][i] for v in views}, image_views, separator) for i in range(len(batch["text"]))
    ]


def encode_batch(
    batch: dict[str, list[Any]],
    tokenizer: Any,
    *,
    image_views: Sequence[str],
    max_length: int,
    separator: str = DEFAULT_VIEW_SEPARATOR,
    mode: str = "pair",
    emoji_as_words: bool = False,
) -> dict[str, list[Any]]:
    """Tokenize a batch of common-schema rows for the given input mode (see `INPUT_MODES`) with
    the model's `InputSpec`; `emoji_as_words` is the model config's field of that name."""
    _check_mode(mode)
    descriptions = describe(batch, image_views, separator) if image_views else [None] * len(batch["text"])
    spec = InputSpec(
        mode="pair" if mode in PART_MODES else mode,
        max_length=max_length,
        reads_descriptions=bool(image_views),
        emoji_as_words=emoji_as_words,
    )
    if mode in PART_MODES:
        return dict(spec.encode_alone(tokenizer, batch["text"] if mode == "text" else descriptions))
    return dict(spec.encode(tokenizer, batch["text"], descriptions))


def _check_mode(mode: str) -> None:
    if mode == "pixels":
        raise NotImplementedError(
            "This model reads image pixels (vision_config is set); training and evaluation from image "
            "descriptions need a description-reading model."
        )
    if mode not in INPUT_MODES:
        raise ValueError(f"mode must be one of {INPUT_MODES}, got {mode!r}.")


def _tokenizer_identity(tokenizer: Any) -> tuple:
    # Hashing the tokenizer object itself is unstable (fast tokenizers mutate their truncation
    # state when called); its class, vocabulary and special tokens decide the ids.
    return (type(tokenizer).__name__, sorted(tokenizer.get_vocab().items()), tokenizer.all_special_tokens)


def tokenize_dataset(
    dataset: Dataset | DatasetDict,
    tokenizer: Any,
    *,
    image_views: Sequence[str],
    max_length: int,
    separator: str = DEFAULT_VIEW_SEPARATOR,
    mode: str = "pair",
    keep: Sequence[str] = ("label",),
    cache_dir: str | Path | None = None,
    emoji_as_words: bool = False,
) -> Dataset | DatasetDict:
    """Tokenize every split with `datasets.map`, cached on disk.

    The cache file name hashes the data's fingerprint and every setting that changes the ids,
    so a restarted run (or another preset with the same views) reuses the tokenized data, and
    a changed file or setting never reuses a stale one. Only `keep` columns survive besides the
    model inputs (images are dropped first so they are never decoded here). `emoji_as_words` is
    the model config's field (emoji spelled out as words before tokenization).
    """
    if isinstance(dataset, DatasetDict):
        return DatasetDict(
            {
                split: tokenize_dataset(
                    ds,
                    tokenizer,
                    image_views=image_views,
                    max_length=max_length,
                    separator=separator,
                    mode=mode,
                    keep=keep,
                    cache_dir=cache_dir,
                    emoji_as_words=emoji_as_words,
                )
                for split, ds in dataset.items()
            }
        )
    _check_mode(mode)  # before any work: a pixel-reading model cannot be fed from descriptions
    columns = [c for c in ("text", *VIEW_COLUMNS, *keep) if c in dataset.column_names]
    dataset = dataset.select_columns(list(dict.fromkeys(columns)))
    identity = [_tokenizer_identity(tokenizer), list(image_views), max_length, separator, mode, list(keep)]
    if emoji_as_words:  # only then, so caches written before the option existed stay valid
        identity.append(("emoji_as_words", True))
    settings = Hasher.hash(identity)
    folder = Path(cache_dir or Path(datasets_config.HF_DATASETS_CACHE) / "multimodal_sentiment")
    folder.mkdir(parents=True, exist_ok=True)
    return dataset.map(
        encode_batch,
        batched=True,
        fn_kwargs={
            "tokenizer": tokenizer,
            "image_views": list(image_views),
            "max_length": max_length,
            "separator": separator,
            "mode": mode,
            "emoji_as_words": emoji_as_words,
        },
        remove_columns=[c for c in dataset.column_names if c not in keep],
        cache_file_name=str(folder / f"tokenized-{dataset._fingerprint}-{settings}.arrow"),
        new_fingerprint=Hasher.hash([dataset._fingerprint, settings]),
        desc=f"Tokenizing ({mode})",
    )


@dataclass
class MultimodalCollator:
    """Pads model inputs per batch; `description_*` fields (MISR) are padded as their own group.

    Everything else is `DataCollatorWithPadding` (which also renames `label` to `labels`).
    """

    tokenizer: Any
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        pad = DataCollatorWithPadding(self.tokenizer, pad_to_multiple_of=self.pad_to_multiple_of)
        main = [{k: v for k, v in f.items() if not k.startswith(DESCRIPTION_PREFIX)} for f in features]
        batch = dict(pad(main))
        described = [
            {k[len(DESCRIPTION_PREFIX) :]: v for k, v in f.items() if k.startswith(DESCRIPTION_PREFIX)}
            for f in features
        ]
        if described and described[0]:
            batch.update({DESCRIPTION_PREFIX + k: v for k, v in pad(described).items()})
        return batch
