"""MVSA-Single and MVSA-Multiple in the layout of the CLMLF split release."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from datasets import DatasetDict

from .schema import (
    SENTIMENT_LABELS,
    build_features,
    build_split,
    clean_text,
    find_image,
    first_dir,
    log_coverage,
    normalise_label,
    read_descriptions,
    require_file,
)

logger = logging.getLogger(__name__)

# The two files of one release use different codes for the same names (see ../shared/data/README.md).
MVSA_SPLIT_CODES = {0: "positive", 1: "neutral", 2: "negative"}
MVSA_PAIRLIST_CODES = {0: "neutral", 1: "positive", 2: "negative"}
MVSA_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
MVSA_LAYOUT = (
    "splits/{train,dev,test}.json (a JSON list of {id, text, emotion_label}, 0=positive 1=neutral 2=negative); "
    "optional: descriptions/captions.csv (id,caption), descriptions/ocr.csv (id,ocr_text), "
    "valid_pairlist.txt (id,multimodal_label,text_label,image_label; 0=neutral 1=positive 2=negative), "
    "images as {id}.jpg in images/, data/ or dataset_image/."
)


def is_mvsa(folder: Path) -> bool:
    return (folder / "splits" / "train.json").is_file()


def read_pairlist(path: Path) -> dict[str, tuple[str, str, str]]:
    """`{id: (multimodal, text, image)}` label names from valid_pairlist.txt."""
    labels = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = [f.strip() for f in line.split(",")]
        if not line.strip() or not fields[0].isdigit():  # blank line or a header
            continue
        if len(fields) != 4:
            raise ValueError(
                f"{path}, line {number}: expected id,multimodal_label,text_label,image_label; got {line!r}."
            )
        where = f"{path}, line {number}"
        labels[fields[0]] = tuple(normalise_label(v, SENTIMENT_LABELS, where, MVSA_PAIRLIST_CODES) for v in fields[1:])
    return labels


def load_mvsa(
    path: str | Path, *, descriptions_dir: str | Path | None = None, image_dir: str | Path | None = None
) -> DatasetDict:
    """Load MVSA-Single or MVSA-Multiple.

    Args:
        path: the dataset folder (see `MVSA_LAYOUT`).
        descriptions_dir: folder with captions.csv / ocr.csv; defaults to `path/descriptions`.
        image_dir: folder of `{id}.jpg`; defaults to the first of images/, data/, dataset_image/.

    Labels come out as names (negative/neutral/positive) whatever the file's code; `text_label`
    and `image_label` (per-modality labels from valid_pairlist.txt) are None for ids it lacks.
    """
    folder = Path(path)
    files = {split: folder / "splits" / f"{stem}.json" for split, stem in MVSA_SPLITS.items()}
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"Missing MVSA split file(s) {missing}. Expected layout under {folder}: {MVSA_LAYOUT}")
    pairlist_path = folder / "valid_pairlist.txt"
    pairlist = read_pairlist(pairlist_path) if pairlist_path.is_file() else {}
    if not pairlist:
        logger.warning("%s: no valid_pairlist.txt; text_label and image_label will be None.", folder)
    views = read_descriptions(Path(descriptions_dir) if descriptions_dir else folder / "descriptions")
    images = first_dir(
        Path(image_dir) if image_dir else None, folder / "images", folder / "data", folder / "dataset_image"
    )
    features = build_features(SENTIMENT_LABELS, {"text_label": SENTIMENT_LABELS, "image_label": SENTIMENT_LABELS})

    splits = {}
    for split, file in files.items():
        items = json.loads(require_file(file, MVSA_LAYOUT).read_text(encoding="utf-8"))
        records, disagreements = [], 0
        for index, item in enumerate(items):
            missing_keys = [k for k in ("id", "text", "emotion_label") if k not in item]
            if missing_keys:
                raise ValueError(f"{file}, item {index}: missing {missing_keys}. Expected layout: {MVSA_LAYOUT}")
            row_id = str(item["id"])
            label = normalise_label(item["emotion_label"], SENTIMENT_LABELS, f"{file}, id {row_id}", MVSA_SPLIT_CODES)
            multimodal, text_label, image_label = pairlist.get(row_id, (None, None, None))
            disagreements += multimodal is not None and multimodal != label
            records.append(
                {
                    "id": row_id,
                    "text": item["text"] or "",
                    "image": find_image(images, row_id),
                    **{view: clean_text(texts.get(row_id)) for view, texts in views.items()},
                    "label": label,
                    "text_label": text_label,
                    "image_label": image_label,
                }
            )
        if disagreements:
            # Both files claim to hold the same label: a mismatch means a wrong code mapping.
            logger.warning("%s: %d labels disagree with valid_pairlist.txt's multimodal label.", file, disagreements)
        log_coverage(records, folder.name, split)
        splits[split] = build_split(records, features)
    return DatasetDict(splits)
