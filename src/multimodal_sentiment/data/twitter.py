"""Twitter-2015 / Twitter-2017 (target-oriented) in the TomBERT release layout."""

from __future__ import annotations

import csv
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
)

logger = logging.getLogger(__name__)

# TomBERT shifted the original -1/0/1 polarity to 0/1/2.
TOMBERT_CODES = {0: "negative", 1: "neutral", 2: "positive"}
TWITTER_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
TARGET_MARK = "$T$"
TWITTER_LAYOUT = (
    "{train,dev,test}.tsv with the header 'index, #1 Label, #2 ImageID, #3 String, #3 String' (tab-separated: "
    "id, label 0=negative 1=neutral 2=positive, image file, sentence with $T$ where the target stands, target); "
    "optional: a caption JSON mapping image file name to caption (caption_file=, or found by name: *caption*.json or "
    "<folder>_images.json, e.g. twitter2015_images.json, in the folder, beside it, or in a caption/ or captions/ "
    "folder beside it), "
    "descriptions/captions.csv / ocr.csv keyed by row id or image file, images in images/ or ../<folder>_images/."
)


def is_twitter(folder: Path) -> bool:
    path = folder / "train.tsv"
    if not path.is_file():
        return False
    with path.open(encoding="utf-8") as handle:
        return "#2 ImageID" in handle.readline()


def caption_file_candidates(folder: Path) -> list[Path]:
    """Where the public releases put a Twitter caption JSON, in the order they are tried: a
    `*caption*.json` in the dataset folder, then `<folder>_images.json` (the name the
    twitter2015_images.json / twitter2017_images.json releases use) in the folder, beside it, or
    in a `caption/` or `captions/` folder in or beside it (e.g. data/caption/twitter2015_images.json
    next to data/twitter2015/)."""
    names = {f"{folder.name}_images.json", f"{folder.name.replace('-', '')}_images.json"}
    places = (folder, folder.parent, folder / "caption", folder / "captions", folder.parent / "caption",
              folder.parent / "captions")  # fmt: skip
    return [*sorted(folder.glob("*caption*.json")), *(place / name for place in places for name in sorted(names))]


def find_caption_file(folder: Path) -> Path | None:
    """The first existing file of `caption_file_candidates(folder)`, or None."""
    return next((path for path in caption_file_candidates(folder) if path.is_file()), None)


def _read_caption_json(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a JSON object mapping image file name to caption, got {type(data).__name__}."
        )
    captions = {}
    for image, caption in data.items():
        # Some releases keep several captions per image: the first one is the caption.
        caption = caption[0] if isinstance(caption, list) and caption else caption
        if text := clean_text(caption if isinstance(caption, str) else None):
            captions[str(image)] = text
            captions[Path(str(image)).stem] = text
    return captions


def load_twitter(
    path: str | Path,
    *,
    caption_file: str | Path | None = None,
    descriptions_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
    target_prefix: bool = True,
) -> DatasetDict:
    """Load Twitter-2015 or Twitter-2017 (TomBERT TSVs).

    `text` is the sentence with `$T$` replaced by its target; with `target_prefix=True` (default)
    it starts with "<target>: " so that rows sharing a sentence but not a target (and a label)
    stay distinguishable to a sentence-level model. The target is also kept as `target`.
    """
    folder = Path(path)
    files = {split: folder / f"{stem}.tsv" for split, stem in TWITTER_SPLITS.items()}
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Missing Twitter split file(s) {missing}. Expected layout under {folder}: {TWITTER_LAYOUT}"
        )
    if caption_file is not None and not Path(caption_file).is_file():
        raise FileNotFoundError(f"caption_file {caption_file} does not exist. Expected layout: {TWITTER_LAYOUT}")
    found = caption_file is None
    caption_file = find_caption_file(folder) if caption_file is None else Path(caption_file)
    captions = _read_caption_json(caption_file) if caption_file else {}
    if caption_file:
        how = "found by name" if found else "caption_file"
        described = len({Path(key).stem for key in captions})
        logger.info("%s: captions of %d images from %s (%s)", folder.name, described, caption_file, how)
    else:
        logger.info("%s: no caption JSON found by name; --caption_file (caption_file=) names one", folder.name)
    views = read_descriptions(Path(descriptions_dir) if descriptions_dir else folder / "descriptions")
    views.setdefault("caption", {})
    views["caption"] = {**captions, **views["caption"]}
    images = first_dir(
        Path(image_dir) if image_dir else None, folder / "images", folder.parent / f"{folder.name}_images"
    )
    features = build_features(SENTIMENT_LABELS, extra_text=("target",))

    splits = {}
    for split, file in files.items():
        with file.open(newline="", encoding="utf-8") as handle:
            # Tweets hold quote characters: read fields verbatim, split on tabs only.
            lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        records = []
        for number, fields in enumerate(lines[1:], start=2):
            if not fields:
                continue
            if len(fields) != 5:
                raise ValueError(
                    f"{file}, line {number}: expected 5 tab-separated fields, got {len(fields)}. {TWITTER_LAYOUT}"
                )
            index, label, image_file, sentence, target = fields
            row_id = f"{TWITTER_SPLITS[split]}-{index}"
            text = sentence.replace(TARGET_MARK, target)
            records.append(
                {
                    "id": row_id,
                    "text": f"{target}: {text}" if target_prefix else text,
                    "target": target,
                    "image": find_image(images, image_file),
                    **{
                        view: clean_text(texts.get(row_id) or texts.get(image_file) or texts.get(Path(image_file).stem))
                        for view, texts in views.items()
                    },
                    "label": normalise_label(label, SENTIMENT_LABELS, f"{file}, line {number}", TOMBERT_CODES),
                }
            )
        log_coverage(records, folder.name, split)
        splits[split] = build_split(records, features)
    return DatasetDict(splits)
