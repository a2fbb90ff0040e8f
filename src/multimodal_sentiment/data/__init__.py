"""Datasets in one schema: loaders for MVSA, MSED, Twitter-2015/2017, TumEmo and users' own
tables, plus the tokenization and collation that turn them into model inputs.

`load_dataset_by_name(name_or_path)` is the entry point; see `schema.py` for the columns.
"""

from .coverage import DEFAULT_MIN_VIEW_COVERAGE, LowViewCoverageError, check_view_coverage, view_coverage
from .encoding import INPUT_MODES, MultimodalCollator, encode_batch, tokenize_dataset
from .msed import load_msed
from .mvsa import MVSA_PAIRLIST_CODES, MVSA_SPLIT_CODES, load_mvsa
from .options import DatasetOptions, load_dataset_from_options
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
    "DEFAULT_MIN_VIEW_COVERAGE",
    "FORMATS",
    "INPUT_MODES",
    "MVSA_PAIRLIST_CODES",
    "MVSA_SPLIT_CODES",
    "SENTIMENT_LABELS",
    "TOMBERT_CODES",
    "TUMEMO_LABELS",
    "VIEW_COLUMNS",
    "DatasetFormat",
    "DatasetOptions",
    "LowViewCoverageError",
    "MultimodalCollator",
    "build_features",
    "check_view_coverage",
    "canonical_split",
    "dataset_display_name",
    "encode_batch",
    "get_split",
    "load_dataset_by_name",
    "load_dataset_from_options",
    "load_msed",
    "load_mvsa",
    "load_table",
    "load_tumemo",
    "load_twitter",
    "normalise_label",
    "register_format",
    "resolve_dataset",
    "tokenize_dataset",
    "view_coverage",
]
