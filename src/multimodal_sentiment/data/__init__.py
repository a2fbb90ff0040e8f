"""Datasets in one schema: loaders for MVSA, MSED, Twitter-2015/2017, TumEmo and users' own
tables, plus the tokenization and collation that turn them into model inputs.

`load_dataset_by_name(name_or_path)` is the entry point; see `schema.py` for the columns.
"""

from .encoding import INPUT_MODES, MultimodalCollator, encode_batch, tokenize_dataset
from .msed import load_msed
from .mvsa import MVSA_PAIRLIST_CODES, MVSA_SPLIT_CODES, load_mvsa
from .registry import (
    FORMATS,
    DatasetFormat,
    dataset_display_name,
    get_split,
    load_dataset_by_name,
    register_format,
    resolve_dataset,
)
from .schema import SENTIMENT_LABELS, VIEW_COLUMNS, build_features, canonical_split, normalise_label
from .tables import TUMEMO_LABELS, load_table, load_tumemo
from .twitter import TOMBERT_CODES, load_twitter

__all__ = [
    "FORMATS",
    "INPUT_MODES",
    "MVSA_PAIRLIST_CODES",
    "MVSA_SPLIT_CODES",
    "SENTIMENT_LABELS",
    "TOMBERT_CODES",
    "TUMEMO_LABELS",
    "VIEW_COLUMNS",
    "DatasetFormat",
    "MultimodalCollator",
    "build_features",
    "canonical_split",
    "dataset_display_name",
    "encode_batch",
    "get_split",
    "load_dataset_by_name",
    "load_msed",
    "load_mvsa",
    "load_table",
    "load_tumemo",
    "load_twitter",
    "normalise_label",
    "register_format",
    "resolve_dataset",
    "tokenize_dataset",
]
