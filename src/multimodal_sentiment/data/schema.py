"""The one schema every loader returns, and the helpers that build it.

Columns, in order: ``id`` (str), ``text`` (str), ``image`` (``datasets.Image``; None where the
file is absent), one string column per image-to-text view (``caption``, ``ocr``; None where
absent), ``label`` (``ClassLabel`` with names), then the dataset's extra columns (MVSA
``text_label`` / ``image_label``; MSED ``emotion`` / ``desire`` / ``title``; Twitter ``target``).
Every loader emits every view column, so datasets from different sources concatenate.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Dataset, Features, Image, Value

from ..modeling.configuration_common import DEFAULT_LABELS, IMAGE_VIEWS
from ..modeling.text_pairs import normalize_whitespace

logger = logging.getLogger(__name__)

# Same ids as the models' default id2label, so a sentiment dataset's label ids ARE model ids.
SENTIMENT_LABELS: tuple[str, ...] = tuple(DEFAULT_LABELS[i] for i in sorted(DEFAULT_LABELS))
VIEW_COLUMNS: tuple[str, ...] = tuple(IMAGE_VIEWS)
# Split files are named train/dev/test by the sources; the datasets convention is "validation".
SPLIT_ALIASES = {"dev": "validation", "valid": "validation", "val": "validation", "validation": "validation"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")


def canonical_split(name: str) -> str:
    """`dev` / `valid` / `val` -> `validation`; other names unchanged."""
    return SPLIT_ALIASES.get(name.lower(), name.lower())


def build_features(
    label_names: Sequence[str],
    extra_labels: Mapping[str, Sequence[str]] | None = None,
    extra_text: Sequence[str] = (),
) -> Features:
    """Features of the common schema plus extra `ClassLabel` and string columns."""
    columns: dict[str, Any] = {"id": Value("string"), "text": Value("string"), "image": Image()}
    columns.update({view: Value("string") for view in VIEW_COLUMNS})
    columns["label"] = ClassLabel(names=list(label_names))
    for name, names in (extra_labels or {}).items():
        columns[name] = ClassLabel(names=list(names))
    for name in extra_text:
        columns[name] = Value("string")
    return Features(columns)


def build_split(records: list[dict[str, Any]], features: Features) -> Dataset:
    """A `Dataset` from row dicts; missing keys become None (absent views, images, labels)."""
    columns = {name: [row.get(name) for row in records] for name in features}
    return Dataset.from_dict(columns, features=features)


def normalise_label(value: Any, names: Sequence[str], where: str, codes: Mapping[int, str] | None = None) -> str:
    """Turn a source's label (an integer code, a numeric string, or a name) into a label name.

    `codes` maps the source's integer codes to names: sources disagree (MVSA split files use
    0 = positive, its valid_pairlist.txt 0 = neutral). Raises `ValueError` naming `where`.
    """
    text = str(value).strip()
    if codes is not None and text.lstrip("-").isdigit() and int(text) in codes:
        return codes[int(text)]
    lowered = {name.lower(): name for name in names}
    if text.lower() in lowered:
        return lowered[text.lower()]
    allowed = sorted(codes) if codes is not None else []
    raise ValueError(
        f"{where}: bad label {value!r}; expected one of {list(names)}"
        + (f" or the codes {allowed} ({dict(codes)})" if codes is not None else "")
        + "."
    )


def clean_text(value: Any) -> str | None:
    """Whitespace-normalised string, or None for empty / missing values."""
    return normalize_whitespace(value) or None


def read_csv_rows(path: Path, required: Iterable[str], layout: str, **reader_kwargs: Any) -> list[dict[str, str]]:
    """Rows of a CSV/TSV with a header; raise naming the file and columns when some are missing."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, **reader_kwargs)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {missing}; found {reader.fieldnames}. Expected layout: {layout}"
            )
        return list(reader)


TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")


def read_table(path: str | Path, required: Iterable[str] = (), layout: str = "") -> list[dict[str, Any]]:
    """Rows of a CSV/TSV (header row) or JSON-lines / JSON-list file; raises naming the file (and
    the row) when a required column is missing, ending with the expected `layout`."""
    path = Path(path)
    required = list(required)
    if path.suffix in (".csv", ".tsv"):
        return read_csv_rows(path, required, layout, delimiter="\t" if path.suffix == ".tsv" else ",")
    if path.suffix not in (".jsonl", ".json"):
        raise ValueError(f"{path}: expected a {'/'.join(TABLE_SUFFIXES)} file. Expected layout: {layout}")
    rows = read_json_lines(path) if path.suffix == ".jsonl" else json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or any(not isinstance(row, dict) for row in rows):
        raise ValueError(f"{path}: expected one JSON object per row. Expected layout: {layout}")
    for number, row in enumerate(rows, start=1):
        missing = [column for column in required if column not in row]
        if missing:
            raise ValueError(f"{path}, row {number}: missing {missing}. Expected layout: {layout}")
    return rows


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file (blank lines skipped); a bad line raises with its number."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {number}: not valid JSON ({error}).") from error
    return rows


def require_file(path: Path, layout: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"Missing {path}. Expected layout: {layout}")
    return path


# File name and value column of each view in a descriptions folder (the `caption` command's
# output layout): `captions.csv` with `id,caption`, `ocr.csv` with `id,ocr_text`.
DESCRIPTION_FILES = {"caption": ("captions.csv", "caption"), "ocr": ("ocr.csv", "ocr_text")}


def read_descriptions(folder: Path | None) -> dict[str, dict[str, str]]:
    """`{view: {id: text}}` from a descriptions folder; views whose file is absent are left out."""
    views: dict[str, dict[str, str]] = {}
    if folder is None or not folder.is_dir():
        return views
    for view, (file_name, column) in DESCRIPTION_FILES.items():
        path = folder / file_name
        if path.is_file():
            rows = read_csv_rows(path, ["id", column], f"{folder}/{file_name} with columns id,{column}")
            views[view] = {row["id"].strip(): text for row in rows if (text := clean_text(row[column]))}
            logger.info("%s: %d non-empty of %d rows from %s", view, len(views[view]), len(rows), path)
    return views


def find_image(folder: Path | None, stem: str) -> str | None:
    """Path of `folder/stem` (with or without a known image suffix), or None when absent."""
    if folder is None:
        return None
    candidate = folder / stem
    if candidate.suffix.lower() in IMAGE_SUFFIXES:
        return str(candidate) if candidate.is_file() else None
    for suffix in IMAGE_SUFFIXES:
        if (path := Path(f"{candidate}{suffix}")).is_file():
            return str(path)
    return None


def first_dir(*candidates: Path | None) -> Path | None:
    return next((c for c in candidates if c is not None and c.is_dir()), None)


def log_coverage(records: Sequence[Mapping[str, Any]], source: str, split: str) -> None:
    """Log how many rows lack an image or a view: absences are reported, never hidden."""
    total = len(records)
    if total:
        parts = [f"{sum(r.get(c) is None for r in records)}/{total} without {c}" for c in ("image", *VIEW_COLUMNS)]
        logger.info("%s %s: %d rows; %s", source, split, total, ", ".join(parts))


__all__ = [
    "SENTIMENT_LABELS",
    "VIEW_COLUMNS",
    "build_features",
    "build_split",
    "canonical_split",
    "normalise_label",
    "read_descriptions",
]
