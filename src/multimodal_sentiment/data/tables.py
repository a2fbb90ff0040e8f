"""Users' own data (CSV / JSON lines / an image folder with metadata) and TumEmo (JSON lines)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from .schema import (
    SENTIMENT_LABELS,
    TABLE_SUFFIXES,
    VIEW_COLUMNS,
    build_features,
    build_split,
    canonical_split,
    clean_text,
    find_image,
    log_coverage,
    normalise_label,
    read_descriptions,
    read_table,
)

logger = logging.getLogger(__name__)

TUMEMO_LABELS = ("angry", "bored", "calm", "fear", "happy", "love", "sad")
SPLIT_STEMS = ("train", "validation", "valid", "val", "dev", "test")
IMAGE_COLUMNS = ("image", "image_path", "file_name", "image_file")
# A view's column in a user's table: its own name, or the descriptions-file column name.
VIEW_ALIASES = {"caption": ("caption",), "ocr": ("ocr", "ocr_text")}
TABLE_LAYOUT = (
    "a .csv/.tsv/.jsonl/.json file, or a folder with {train,validation|dev,test}.{csv,tsv,jsonl,json}, or an image "
    "folder with [{split}/]metadata.{csv,jsonl}; columns: text, label (names, or integer codes with label_names=), "
    "optional id, image|image_path|file_name (relative to the file), caption, ocr|ocr_text."
)


def _split_files(folder: Path) -> dict[str, Path]:
    files = {}
    for stem in SPLIT_STEMS:
        for suffix in TABLE_SUFFIXES:
            for candidate in (folder / f"{stem}{suffix}", folder / stem / f"metadata{suffix}"):
                if candidate.is_file():
                    files.setdefault(canonical_split(stem), candidate)
    if not files:
        for suffix in TABLE_SUFFIXES:
            if (folder / f"metadata{suffix}").is_file():
                return {"train": folder / f"metadata{suffix}"}
    return files


def is_table(path: Path) -> bool:
    return path.suffix in TABLE_SUFFIXES if path.is_file() else bool(_split_files(path))


def _infer_label_names(raw: list[Any], where: Path) -> tuple[str, ...]:
    values = {str(v).strip() for v in raw}
    if any(v.lstrip("-").isdigit() for v in values):
        raise ValueError(
            f"{where}: labels are integer codes {sorted(values)[:10]}; pass label_names=[name of code 0, name of code 1, ...] "
            "so that results and model configs carry names."
        )
    if {v.lower() for v in values} <= set(SENTIMENT_LABELS):
        return SENTIMENT_LABELS
    return tuple(sorted(values))


def load_table(
    path: str | Path,
    *,
    label_names: Sequence[str] | None = None,
    descriptions_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
    source: str = "table",
) -> DatasetDict:
    """Load users' own data (see `TABLE_LAYOUT`).

    Label names: `label_names` when given (integer labels index into it); otherwise the names
    found (negative/neutral/positive in that order when they are sentiment names, else sorted).
    Image paths are relative to `image_dir` or the table's folder; absent files become None.
    """
    path = Path(path)
    files = {"train": path} if path.is_file() else _split_files(path)
    if not files:
        raise FileNotFoundError(f"No data table found at {path}. Expected layout: {TABLE_LAYOUT}")
    tables = {split: read_table(file, ["text", "label"], TABLE_LAYOUT) for split, file in files.items()}
    if label_names is None:
        label_names = _infer_label_names([row["label"] for rows in tables.values() for row in rows], path)
    codes = dict(enumerate(label_names))
    views = read_descriptions(
        Path(descriptions_dir) if descriptions_dir else (path if path.is_dir() else path.parent) / "descriptions"
    )
    features = build_features(label_names)

    splits = {}
    for split, rows in tables.items():
        file = files[split]
        base = Path(image_dir) if image_dir else file.parent
        records = []
        for index, row in enumerate(rows):
            row_id = str(row.get("id") or f"{split}-{index + 1}")
            image_name = next((str(row[c]) for c in IMAGE_COLUMNS if row.get(c)), None)
            record = {
                "id": row_id,
                "text": row["text"] or "",
                "image": find_image(base, image_name) if image_name else None,
                "label": normalise_label(row["label"], label_names, f"{file}, row {index + 1}", codes),
            }
            for view in VIEW_COLUMNS:
                value = next((row[c] for c in VIEW_ALIASES[view] if row.get(c)), None)
                record[view] = clean_text(value or views.get(view, {}).get(row_id))
            records.append(record)
        absent = sum(
            r["image"] is None for r, row in zip(records, rows, strict=True) if any(row.get(c) for c in IMAGE_COLUMNS)
        )
        if absent:
            logger.warning(
                "%s %s: %d listed image file(s) not found under %s; kept with image=None.", source, split, absent, base
            )
        log_coverage(records, source, split)
        splits[split] = build_split(records, features)
    return DatasetDict(splits)


def load_tumemo(
    path: str | Path,
    *,
    label_names: Sequence[str] | None = TUMEMO_LABELS,
    descriptions_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
) -> DatasetDict:
    """TumEmo (Yang et al., 2020): JSON lines {id?, text, image, caption?, label} per split,
    labels among angry, bored, calm, fear, happy, love, sad (any case)."""
    return load_table(
        path, label_names=label_names, descriptions_dir=descriptions_dir, image_dir=image_dir, source="TumEmo"
    )
