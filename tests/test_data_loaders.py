"""Dataset loaders: every source layout as tiny fixture files, label-code normalisation,
missing images / captions, error messages, the registry, tokenization and collation.

"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from helpers import MVSA_NAMES, NAME_TO_PAIRLIST_CODE, NAME_TO_SPLIT_CODE, tiny_image, write_mvsa

from multimodal_sentiment.data import (
    MultimodalCollator,
    load_dataset_by_name,
    normalise_label,
    tokenize_dataset,
)
from multimodal_sentiment.data.mvsa import MVSA_PAIRLIST_CODES, MVSA_SPLIT_CODES
from multimodal_sentiment.data.schema import SENTIMENT_LABELS
from multimodal_sentiment.modeling.text_pairs import compose_description, encode_text_pairs


def write_msed(root: Path) -> Path:
    """MSED layout, 3 rows per split; only dev/images/1.jpg and 3.jpg exist."""
    rows = [
        ("Happy family", "A family laughing in the park", "positive", "happiness", "family"),
        ("Office", "A man at a desk", "neutral", "neutral", "none"),
        ("Storm", "A girl crying in the rain", "negative", "sad", "tranquility"),
    ]
    for split in ("train", "dev", "test"):
        lines = ["Title,Caption,Sentiment,Emotion,Desire,Inference Sequence"]
        lines += [f'"{t}","{c}",{s},{e},{d},S-E-D' for t, c, s, e, d in rows]
        (root / split).mkdir(parents=True)
        (root / split / f"{split}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tiny_image(root / "dev" / "images" / "1.jpg")
    tiny_image(root / "dev" / "images" / "3.jpg")
    return root


# ---------------------------------------------------------------- label codes


def test_mvsa_code_tables_are_the_published_ones():
    assert MVSA_SPLIT_CODES == {code: name for name, code in NAME_TO_SPLIT_CODE.items()}
    assert MVSA_PAIRLIST_CODES == {code: name for name, code in NAME_TO_PAIRLIST_CODE.items()}


def test_mvsa_fixture_files_hold_the_published_integers(tmp_path):
    """The raw fixture files, read without the package: ids 1, 2, 3 are negative, neutral, positive."""
    root = write_mvsa(tmp_path / "mvsa")
    train = {item["id"]: item["emotion_label"] for item in json.loads((root / "splits" / "train.json").read_text())}
    assert [train["1"], train["2"], train["3"]] == [2, 1, 0]
    lines = (root / "valid_pairlist.txt").read_text().splitlines()
    assert lines[:3] == ["1,2,0,1", "2,0,0,1", "3,1,0,1"]  # multimodal, text=neutral (0), image=positive (1)


def test_the_two_mvsa_codes_map_the_same_integer_to_different_names():
    assert normalise_label(0, SENTIMENT_LABELS, "split", MVSA_SPLIT_CODES) == "positive"
    assert normalise_label("0", SENTIMENT_LABELS, "pairlist", MVSA_PAIRLIST_CODES) == "neutral"
    assert normalise_label(2, SENTIMENT_LABELS, "x", MVSA_SPLIT_CODES) == normalise_label(
        2, SENTIMENT_LABELS, "x", MVSA_PAIRLIST_CODES
    )
    assert normalise_label(" Positive ", SENTIMENT_LABELS, "x") == "positive"
    with pytest.raises(ValueError, match=r"somewhere: bad label 3; expected one of .* or the codes \[0, 1, 2\]"):
        normalise_label(3, SENTIMENT_LABELS, "somewhere", MVSA_SPLIT_CODES)


# ---------------------------------------------------------------- MVSA


def test_mvsa_schema_labels_descriptions_and_images(tmp_path):
    ds = load_dataset_by_name(write_mvsa(tmp_path / "mvsa-multiple"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 6, "validation": 3, "test": 3}
    train = ds["train"]
    assert train.column_names == ["id", "text", "image", "caption", "ocr", "label", "text_label", "image_label"]
    assert train.features["label"].names == ["negative", "neutral", "positive"]
    names = train.features["label"].names
    assert [names[i] for i in train["label"]] == [MVSA_NAMES[i % 3] for i in range(1, 7)]
    first = train[0]
    assert first["id"] == "1" and first["caption"] == "a photo of thing 1" and first["ocr"] is None
    assert names[first["text_label"]] == "neutral" and names[first["image_label"]] == "positive"
    assert first["image"].size == (4, 4)  # images/1.jpg is decoded by the Image feature
    assert train.select_columns(["image"])[1]["image"] is None
    assert train[1]["ocr"] == "BIG SALE" and train[2]["ocr"] is None  # empty OCR text is None, not ""
    last = ds["test"][-1]
    assert last["caption"] is None and last["text_label"] is None and last["image_label"] is None


def test_mvsa_bad_label_names_file_and_id(tmp_path):
    root = write_mvsa(tmp_path / "mvsa")
    (root / "splits" / "dev.json").write_text(json.dumps([{"id": "77", "text": "x", "emotion_label": 5}]))
    with pytest.raises(ValueError, match=r"dev\.json, id 77: bad label 5"):
        load_dataset_by_name(root)


def test_mvsa_missing_split_file_names_it_and_the_layout(tmp_path):
    root = write_mvsa(tmp_path / "mvsa")
    (root / "splits" / "test.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"test\.json.*Expected layout.*splits/\{train,dev,test\}\.json"):
        load_dataset_by_name(root, dataset_format="mvsa")


def test_mvsa_label_disagreeing_with_pairlist_is_reported(tmp_path, caplog):
    root = write_mvsa(tmp_path / "mvsa")
    (root / "valid_pairlist.txt").write_text("1,1,0,0\n", encoding="utf-8")  # id 1: negative in train.json
    with caplog.at_level(logging.WARNING):
        load_dataset_by_name(root)
    assert "1 labels disagree with valid_pairlist.txt" in caplog.text


# ---------------------------------------------------------------- MSED


def test_msed_missing_images_are_counted_and_kept(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        ds = load_dataset_by_name(write_msed(tmp_path / "msed"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 3, "validation": 3, "test": 3}
    assert "MSED train: 3 of 3 images missing" in caplog.text
    assert "MSED validation: 1 of 3 images missing" in caplog.text
    dev = ds["validation"]
    assert [row["image"] is None for row in dev] == [False, True, False]
    assert (
        dev[0]["id"] == "dev-1"
        and dev[0]["text"] == "A family laughing in the park"
        and dev[0]["title"] == "Happy family"
    )
    assert dev.features["emotion"].names[dev[2]["emotion"]] == "sad"
    assert dev.features["desire"].names[dev[0]["desire"]] == "family"
    assert dev.features["label"].names[dev[2]["label"]] == "negative"


def test_msed_label_column_switches_the_target(tmp_path):
    ds = load_dataset_by_name(write_msed(tmp_path / "msed"), label_column="emotion")
    test = ds["test"]
    assert test.features["label"].names[0] == "happiness" and "sentiment" in test.column_names
    with pytest.raises(ValueError, match="No label column 'mood'"):
        load_dataset_by_name(tmp_path / "msed", label_column="mood")


def test_msed_bad_label_and_missing_column(tmp_path):
    root = write_msed(tmp_path / "msed")
    path = root / "test" / "test.csv"
    path.write_text(path.read_text().replace("negative,sad", "furious,sad"))
    with pytest.raises(ValueError, match=r"test\.csv, row 3: bad label 'furious'"):
        load_dataset_by_name(root)
    path.write_text("Title,Caption,Sentiment\nx,y,positive\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['Emotion', 'Desire'\]"):
        load_dataset_by_name(root)


# ---------------------------------------------------------------- Twitter-2015/2017, TumEmo


def test_twitter_tombert_tsv_with_caption_json(tmp_path):
    root = tmp_path / "twitter2015"
    root.mkdir()
    header = "index\t#1 Label\t#2 ImageID\t#3 String\t#3 String\n"
    rows = [
        '1\t2\t10.jpg\tRT @ fan : $T$ is "great" tonight !\tJoe\n',
        "2\t0\t11.jpg\tCourt to censure $T$ judge\tMontana\n",
        "3\t1\t11.jpg\tCourt to censure Montana $T$\tjudge\n",
    ]
    for split in ("train", "dev", "test"):
        (root / f"{split}.tsv").write_text(header + "".join(rows), encoding="utf-8")
    (root / "twitter2015_captions.json").write_text(
        json.dumps({"10.jpg": ["a man on stage"], "11.jpg": "a courthouse"})
    )
    tiny_image(tmp_path / "twitter2015_images" / "10.jpg")
    ds = load_dataset_by_name(root)
    train = ds["train"]
    names = train.features["label"].names
    assert [names[i] for i in train["label"]] == ["positive", "negative", "neutral"]
    assert train[0]["text"] == 'Joe: RT @ fan : Joe is "great" tonight !' and train[0]["target"] == "Joe"
    assert train[0]["caption"] == "a man on stage" and train[2]["caption"] == "a courthouse"
    assert train[0]["image"] is not None and train.select_columns(["image"])[1]["image"] is None
    assert train[1]["id"] == "train-2" and ds["validation"][1]["id"] == "dev-2"
    plain = load_dataset_by_name(root, target_prefix=False)["test"]
    assert plain[1]["text"] == "Court to censure Montana judge"


def test_tumemo_jsonl_labels_are_emotion_names(tmp_path):
    root = tmp_path / "TumEmo"
    root.mkdir()
    rows = [
        {"id": "a", "text": "sunset", "image": "a.jpg", "caption": "a sunset", "label": "Calm"},
        {"id": "b", "text": "my dog!", "image": "b.jpg", "label": "HAPPY"},
    ]
    for split in ("train", "valid", "test"):
        (root / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    tiny_image(root / "a.jpg")
    ds = load_dataset_by_name(root)  # detected as TumEmo by its folder name
    assert list(ds) == ["train", "validation", "test"]
    train = ds["train"]
    assert train.features["label"].names == ["angry", "bored", "calm", "fear", "happy", "love", "sad"]
    assert [train.features["label"].names[i] for i in train["label"]] == ["calm", "happy"]
    assert train[0]["caption"] == "a sunset" and train[1]["caption"] is None
    assert train[0]["image"] is not None and train.select_columns(["image"])[1]["image"] is None
    (root / "test.jsonl").write_text(json.dumps({"text": "x", "label": "Bored?"}) + "\n")
    with pytest.raises(ValueError, match=r"test\.jsonl, row 1: bad label 'Bored\?'"):
        load_dataset_by_name(root, dataset_format="tumemo")


# ---------------------------------------------------------------- users' own tables


def test_csv_folder_with_sentiment_names_and_descriptions(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "train.csv").write_text("id,text,label,caption\nx1,great,positive,a cake\nx2,meh,Neutral,\n")
    (root / "test.csv").write_text("text,label,ocr_text\nawful,negative,STOP\n")
    ds = load_dataset_by_name(root)
    assert ds["train"].features["label"].names == list(SENTIMENT_LABELS)
    assert ds["train"]["label"] == [2, 1] and ds["train"]["caption"] == ["a cake", None]
    assert ds["test"][0]["id"] == "test-1" and ds["test"][0]["ocr"] == "STOP"


def test_jsonl_integer_labels_need_names(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"text": "a", "label": 1}) + "\n" + json.dumps({"text": "b", "label": 0}) + "\n")
    with pytest.raises(ValueError, match="labels are integer codes.*pass label_names="):
        load_dataset_by_name(path)
    ds = load_dataset_by_name(path, label_names=["sad", "glad"])
    assert list(ds) == ["train"] and ds["train"].features["label"].names == ["sad", "glad"]
    assert ds["train"]["label"] == [1, 0]


def test_image_folder_with_metadata(tmp_path, caplog):
    root = tmp_path / "folder"
    tiny_image(root / "train" / "p1.png")
    (root / "train" / "metadata.csv").write_text("file_name,text,label\np1.png,hi,joy\np2.png,oh,fear\n")
    with caplog.at_level(logging.WARNING):
        ds = load_dataset_by_name(root)
    train = ds["train"]
    assert train.features["label"].names == ["fear", "joy"]
    assert train[0]["image"].size == (4, 4) and train.select_columns(["image"])[1]["image"] is None
    assert "1 listed image file(s) not found" in caplog.text


# ---------------------------------------------------------------- registry


def test_registry_names_paths_limits_and_errors(tmp_path, monkeypatch):
    write_mvsa(tmp_path / "mvsa-single")
    ds = load_dataset_by_name("mvsa-single", data_dir=tmp_path, limit=2)
    assert {k: len(v) for k, v in ds.items()} == {"train": 2, "validation": 2, "test": 2}
    monkeypatch.setenv("MULTIMODAL_SENTIMENT_DATA", str(tmp_path))
    assert len(load_dataset_by_name("mvsa-single")["train"]) == 6
    with pytest.raises(FileNotFoundError, match=r"Dataset 'msed' not found .*looked in"):
        load_dataset_by_name("msed")
    (tmp_path / "junk").mkdir()
    with pytest.raises(ValueError, match=r"(?s)Cannot tell the layout of .*junk.*- mvsa: splits/"):
        load_dataset_by_name(tmp_path / "junk")
    with pytest.raises(ValueError, match="Unknown dataset format 'parquet'"):
        load_dataset_by_name(tmp_path / "mvsa-single", dataset_format="parquet")


# ---------------------------------------------------------------- tokenization and collation


def test_pair_tokenization_is_the_shared_text_pair_encoding_and_is_cached(tmp_path, tokenizer):
    test = load_dataset_by_name(write_mvsa(tmp_path / "mvsa"))["test"]
    views = ["caption", "ocr"]
    kwargs = {"image_views": views, "max_length": 32, "cache_dir": tmp_path / "cache"}
    encoded = tokenize_dataset(test, tokenizer, **kwargs)
    assert set(encoded.column_names) == {"input_ids", "token_type_ids", "attention_mask", "label"}
    descriptions = [compose_description({"caption": r["caption"], "ocr": r["ocr"]}, views) for r in test]
    expected = encode_text_pairs(tokenizer, list(test["text"]), descriptions, 32)
    assert encoded["input_ids"] == expected["input_ids"]
    assert descriptions[-1] == "BIG SALE"  # no caption: the OCR view alone
    again = tokenize_dataset(test, tokenizer, **kwargs)
    assert again.cache_files == encoded.cache_files and len(list((tmp_path / "cache").glob("*.arrow"))) == 1
    tokenize_dataset(test, tokenizer, **{**kwargs, "image_views": ["caption"]})
    assert len(list((tmp_path / "cache").glob("*.arrow"))) == 2  # another setting, another file
    text_only = tokenize_dataset(test, tokenizer, **{**kwargs, "image_views": []})
    assert text_only["input_ids"] == tokenizer(list(test["text"]), truncation=True, max_length=32)["input_ids"]


def test_separate_mode_and_collator_pad_text_and_description_apart(tmp_path, tokenizer):
    test = load_dataset_by_name(write_mvsa(tmp_path / "mvsa"))["test"]
    encoded = tokenize_dataset(
        test, tokenizer, image_views=["caption"], max_length=32, mode="separate", cache_dir=tmp_path
    )
    assert {"description_input_ids", "description_attention_mask"} <= set(encoded.column_names)
    assert "description_token_type_ids" not in encoded.column_names
    assert encoded[0]["input_ids"] == tokenizer(test[0]["text"])["input_ids"]
    assert encoded[0]["description_input_ids"] == tokenizer(test[0]["caption"])["input_ids"]
    assert encoded[-1]["description_input_ids"] == tokenizer("")["input_ids"]  # no caption: empty segment
    batch = MultimodalCollator(tokenizer)([encoded[i] for i in range(len(encoded))])
    assert batch["labels"].tolist() == test["label"]
    assert batch["input_ids"].shape[0] == batch["description_input_ids"].shape[0] == 3
    widths = [len(encoded[i]["description_input_ids"]) for i in range(3)]
    assert batch["description_attention_mask"].sum(-1).tolist() == widths
    assert batch["description_input_ids"].shape[1] == max(widths)
