"""One entry point, `load_dataset_by_name`, over a registry of dataset formats."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from .msed import MSED_LAYOUT, is_msed, load_msed
from .mvsa import MVSA_LAYOUT, is_mvsa, load_mvsa
from .schema import SENTIMENT_LABELS, canonical_split
from .tables import TABLE_LAYOUT, TUMEMO_LABELS, is_table, load_table, load_tumemo
from .twitter import TWITTER_LAYOUT, is_twitter, load_twitter

# Where named datasets live when no folder is given: <data_dir>/<name>/.
DATA_DIR_ENV = "MULTIMODAL_SENTIMENT_DATA"


@dataclass(frozen=True)
class DatasetFormat:
    """A layout this package reads: how to recognise a folder in it, and how to load it."""

    name: str
    loader: Callable[..., DatasetDict]
    detect: Callable[[Path], bool]
    layout: str
    aliases: tuple[str, ...] = ()


FORMATS: dict[str, DatasetFormat] = {}


def register_format(fmt: DatasetFormat) -> None:
    """Add (or replace) a format; detection tries formats in registration order."""
    FORMATS[fmt.name] = fmt


register_format(DatasetFormat("mvsa", load_mvsa, is_mvsa, MVSA_LAYOUT, ("mvsa-single", "mvsa-multiple")))
register_format(DatasetFormat("msed", load_msed, is_msed, MSED_LAYOUT))
register_format(
    DatasetFormat(
        "twitter",
        load_twitter,
        is_twitter,
        TWITTER_LAYOUT,
        ("twitter2015", "twitter2017", "twitter-2015", "twitter-2017"),
    )
)
# TumEmo's files look like any JSON-lines table: it is chosen by name, never by detection.
register_format(
    DatasetFormat(
        "tumemo", load_tumemo, lambda folder: "tumemo" in folder.name.lower() and is_table(folder), TABLE_LAYOUT
    )
)
register_format(DatasetFormat("table", load_table, is_table, TABLE_LAYOUT, ("csv", "jsonl", "json", "imagefolder")))


def _format_for(name: str) -> DatasetFormat | None:
    key = name.lower()
    return next((f for f in FORMATS.values() if key == f.name or key in f.aliases), None)


def _expected_layouts() -> str:
    return "\n".join(f"  - {f.name}: {f.layout}" for f in FORMATS.values())


def resolve_dataset(
    name_or_path: str | Path, dataset_format: str | None = None, data_dir: str | Path | None = None
) -> tuple[Path, DatasetFormat]:
    """The folder (or file) and format of a dataset given by path or by name."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        fmt = _format_for(str(name_or_path))
        data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
        if fmt is None or data_dir is None or not (Path(data_dir) / str(name_or_path)).exists():
            hint = f"known names: {sorted(n for f in FORMATS.values() for n in (f.name, *f.aliases))}"
            where = f" (looked in {Path(data_dir) / str(name_or_path)})" if fmt and data_dir else ""
            raise FileNotFoundError(
                f"Dataset {str(name_or_path)!r} not found{where}: pass its folder, or a known name with data_dir= "
                f"(or ${DATA_DIR_ENV}) pointing at the folder that holds it; {hint}. Layouts read:\n{_expected_layouts()}"
            )
        path = Path(data_dir) / str(name_or_path)
        dataset_format = dataset_format or fmt.name
    if dataset_format is not None:
        fmt = _format_for(dataset_format)
        if fmt is None:
            raise ValueError(f"Unknown dataset format {dataset_format!r}; known: {sorted(FORMATS)}.")
        return path, fmt
    fmt = next((f for f in FORMATS.values() if f.detect(path)), None)
    if fmt is None:
        raise ValueError(f"Cannot tell the layout of {path}. Layouts read:\n{_expected_layouts()}")
    return path, fmt


def dataset_display_name(name_or_path: str | Path) -> str:
    """The name results files and reports use: the folder name (e.g. `mvsa-multiple`)."""
    return Path(str(name_or_path).rstrip("/\\")).name or str(name_or_path)


def select_label(dataset: DatasetDict, label_column: str) -> DatasetDict:
    """Make another label column (e.g. MSED `emotion`) the `label`; the old one keeps a name."""
    some_split = next(iter(dataset.values()))
    if label_column not in some_split.column_names:
        raise ValueError(f"No label column {label_column!r}; columns: {some_split.column_names}.")
    names = tuple(some_split.features["label"].names)
    old = "sentiment" if names == SENTIMENT_LABELS else "emotion" if names == TUMEMO_LABELS else "original_label"
    return dataset.rename_column("label", old).rename_column(label_column, "label")


def load_dataset_by_name(
    name_or_path: str | Path,
    *,
    dataset_format: str | None = None,
    data_dir: str | Path | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    **loader_kwargs: Any,
) -> DatasetDict:
    """Load any supported dataset into the common schema (see `multimodal_sentiment.data.schema`).

    Args:
        name_or_path: a dataset folder or file (its layout is detected), or a known name
            (`mvsa-multiple`, `msed`, `twitter2015`, `tumemo`, ...) found under `data_dir`.
        dataset_format: force a format (`mvsa`, `msed`, `twitter`, `tumemo`, `table`).
        data_dir: where named datasets live; defaults to `$MULTIMODAL_SENTIMENT_DATA`.
        label_column: train on another label column (e.g. `"emotion"` for MSED).
        limit: keep the first `limit` rows of each split (smoke runs).
        **loader_kwargs: passed to the format's loader (`descriptions_dir`, `image_dir`, `label_names`, ...).

    Splits are named `train`, `validation`, `test` (the sources' `dev` is `validation`).

    Example:

    ```python
    >>> from multimodal_sentiment.data import load_dataset_by_name
    >>> ds = load_dataset_by_name("../shared/data/mvsa-multiple")
    >>> ds["test"].features["label"].names
    ['negative', 'neutral', 'positive']
    ```
    """
    path, fmt = resolve_dataset(name_or_path, dataset_format, data_dir)
    dataset = fmt.loader(path, **loader_kwargs)
    if label_column and label_column != "label":
        dataset = select_label(dataset, label_column)
    if limit is not None:
        dataset = DatasetDict({split: ds.select(range(min(limit, len(ds)))) for split, ds in dataset.items()})
    return dataset


def get_split(dataset: DatasetDict, split: str) -> Any:
    """`dataset[split]`, accepting `dev` for `validation`; the error lists the splits there are."""
    name = canonical_split(split)
    if name not in dataset:
        raise KeyError(f"No split {split!r}; this dataset has {list(dataset)}.")
    return dataset[name]
