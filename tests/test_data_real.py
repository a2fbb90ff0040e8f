"""The loaders on the real benchmark files in ../shared/data (skipped where it is absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from multimodal_sentiment.data import load_dataset_by_name

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


def _need(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not found at {path} (a fresh clone has none; see docs/training.md)")
    return path


def _names(split) -> Counter:
    names = split.features["label"].names
    return Counter(names[i] for i in split["label"])


def test_real_mvsa_multiple_counts_and_test_distribution():
    ds = load_dataset_by_name(_need("mvsa-multiple"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 13624, "validation": 1700, "test": 1700}
    assert _names(ds["test"]) == {"positive": 1131, "neutral": 440, "negative": 129}
    test = ds["test"]
    assert sum(c is None for c in test["caption"]) == 0  # the captions cover every id
    assert all(t is not None for t in test["text_label"])


# The published code of valid_pairlist.txt (../shared/data/README.md), typed here, not imported.
PAIRLIST_CODE = {"0": "neutral", "1": "positive", "2": "negative"}


def _pairlist(folder: Path) -> dict[str, tuple[str, str, str]]:
    """valid_pairlist.txt read without the package: {id: (multimodal, text, image) names}."""
    rows = {}
    for line in (folder / "valid_pairlist.txt").read_text(encoding="utf-8").splitlines():
        fields = line.strip().split(",")
        if fields[0].isdigit():
            rows[fields[0]] = tuple(PAIRLIST_CODE[f] for f in fields[1:])
    return rows


@pytest.mark.parametrize("name", ["mvsa-multiple", "mvsa-single"])
def test_real_split_labels_agree_with_the_pair_list(name, caplog):
    """The split files (0=positive) and valid_pairlist.txt (0=neutral) name the same label for
    every id: the loader's split label equals the pair list's multimodal label read by hand, and
    its per-modality labels are the pair list's."""
    folder = _need(name)
    pairs = _pairlist(folder)
    ds = load_dataset_by_name(folder)
    assert "disagree with valid_pairlist.txt" not in caplog.text
    for split in ds.values():
        columns = ("label", "text_label", "image_label")
        names = [split.features[c].names for c in columns]
        for row_id, *codes in zip(split["id"], *(split[c] for c in columns), strict=True):
            assert tuple(n[c] for n, c in zip(names, codes, strict=True)) == pairs[row_id], row_id


def test_real_mvsa_single_counts():
    ds = load_dataset_by_name(_need("mvsa-single"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 3611, "validation": 450, "test": 450}


def test_real_msed_counts_and_partial_images(caplog):
    ds = load_dataset_by_name(_need("msed"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 6127, "validation": 1021, "test": 2042}
    present = ds["validation"].select_columns(["image"]).select(range(165))
    assert [row["image"] is not None for row in present] == [True] * 160 + [False] * 5
    assert "MSED validation: 861 of 1021 images missing" in caplog.text
    emotions = ds["train"].features["emotion"].names
    sentiment = ds["train"].features["label"].names
    pairs = {(sentiment[s], emotions[e]) for s, e in zip(ds["train"]["label"], ds["train"]["emotion"], strict=True)}
    # README: emotion is happiness exactly when sentiment is positive, neutral exactly when neutral.
    assert {e for s, e in pairs if s == "positive"} == {"happiness"} and {e for s, e in pairs if s == "neutral"} == {
        "neutral"
    }
