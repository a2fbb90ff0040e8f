"""MSED (Jia et al., 2022): sentiment, emotion and desire of stock photos with titles."""

from __future__ import annotations

import logging
from pathlib import Path

from datasets import DatasetDict

from .schema import (
    SENTIMENT_LABELS,
    build_features,
    build_split,
    clean_text,
    find_image,
    log_coverage,
    normalise_label,
    read_csv_rows,
    read_descriptions,
)

logger = logging.getLogger(__name__)

MSED_EMOTIONS = ("happiness", "sad", "anger", "fear", "disgust", "neutral")
MSED_DESIRES = ("none", "family", "romance", "curiosity", "social-contact", "tranquility", "vengeance")
MSED_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
MSED_COLUMNS = ("Title", "Caption", "Sentiment", "Emotion", "Desire")
MSED_LAYOUT = (
    "{train,dev,test}/{split}.csv with columns Title,Caption,Sentiment,Emotion,Desire; row i (0-based) of a "
    "split's CSV is the image {split}/images/{i+1}.jpg (missing images are allowed); optional "
    "descriptions/captions.csv and descriptions/ocr.csv keyed by id '{split}-{i+1}'."
)


def is_msed(folder: Path) -> bool:
    return (folder / "train" / "train.csv").is_file()


def load_msed(path: str | Path, *, descriptions_dir: str | Path | None = None) -> DatasetDict:
    """Load MSED. `text` is the human-written "Caption" column (the post); the shorter "Title"
    is kept as `title`. `label` is the sentiment; `emotion` and `desire` are extra ClassLabels
    (train on them with `load_dataset_by_name(..., label_column="emotion")`).

    Images that are not on disk stay in the dataset with `image=None`; their number per split
    is logged as a warning (a partial download must not shrink the evaluation silently).
    """
    folder = Path(path)
    files = {split: folder / stem / f"{stem}.csv" for split, stem in MSED_SPLITS.items()}
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"Missing MSED split file(s) {missing}. Expected layout under {folder}: {MSED_LAYOUT}")
    views = read_descriptions(Path(descriptions_dir) if descriptions_dir else folder / "descriptions")
    features = build_features(
        SENTIMENT_LABELS, {"emotion": MSED_EMOTIONS, "desire": MSED_DESIRES}, extra_text=("title",)
    )

    splits = {}
    for split, file in files.items():
        stem = MSED_SPLITS[split]
        rows = read_csv_rows(file, MSED_COLUMNS, MSED_LAYOUT)
        records = []
        for index, row in enumerate(rows):
            row_id = f"{stem}-{index + 1}"
            where = f"{file}, row {index + 1}"
            records.append(
                {
                    "id": row_id,
                    "text": row["Caption"] or "",
                    "title": clean_text(row["Title"]),
                    "image": find_image(folder / stem / "images", f"{index + 1}.jpg"),
                    **{view: clean_text(texts.get(row_id)) for view, texts in views.items()},
                    "label": normalise_label(row["Sentiment"], SENTIMENT_LABELS, where),
                    "emotion": normalise_label(row["Emotion"], MSED_EMOTIONS, where),
                    "desire": normalise_label(row["Desire"], MSED_DESIRES, where),
                }
            )
        absent = sum(r["image"] is None for r in records)
        if absent:
            logger.warning(
                "MSED %s: %d of %d images missing under %s; those rows are kept with image=None.",
                split,
                absent,
                len(records),
                folder / stem / "images",
            )
        log_coverage(records, "MSED", split)
        splits[split] = build_split(records, features)
    return DatasetDict(splits)
