"""The loaders on the real benchmark files in ../shared/data (skipped where it is absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from multimodal_sentiment.data import load_dataset_by_name

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = pytest.mark.slow


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
    # The split file and valid_pairlist.txt agree once each code is mapped to names.
    assert all(t is not None for t in test["text_label"])


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
