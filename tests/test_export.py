"""`multimodal-sentiment export`: three sources, self-contained output, atomicity, key mapping,
loading without the package, and a pre-populated offline HF cache."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from export_helpers import (
    PAIRS,
    assert_logits_close,
    assert_predicts_like,
    isolated_predict_code,
    payload,
    reference_logits,
)
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from multimodal_sentiment import cli
from multimodal_sentiment.convert import ExportError, KeyMappingError, export_checkpoint, map_state_dict
from multimodal_sentiment.convert.export import load_state_dict_file
from multimodal_sentiment.modeling.checkpoint_code import TASK

LABELS = ["negative", "neutral", "positive"]


def _result_file(tmp_path, accuracy: float = 0.75):
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps(
            {
                "model": "tiny", "model_type": "era-multimodal-sentiment", "dataset": "mvsa-single", "split": "test",
                "seed": 1, "num_examples": 10, "metrics": {"accuracy": accuracy, "f1_weighted": 0.7},
                "command": "multimodal-sentiment evaluate tiny", "date": "2026-07-01", "machine": "test", "versions": {},
            }
        )
    )
    return path


def _assert_hub_ready(folder) -> dict:
    """model.safetensors only, auto_map + custom_pipelines, every code file, tokenizer, README."""
    names = {p.name for p in folder.iterdir()}
    assert "model.safetensors" in names and "README.md" in names and "tokenizer_config.json" in names
    assert not {n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))}
    config = json.loads((folder / "config.json").read_text())
    assert {"AutoConfig", "AutoModel", "AutoModelForSequenceClassification"} <= set(config["auto_map"])
    pipeline_entry = config["custom_pipelines"][TASK]
    assert pipeline_entry["pt"] == ["AutoModelForSequenceClassification"]
    modules = [v.split(".")[0] for v in config["auto_map"].values()] + [pipeline_entry["impl"].split(".")[0]]
    for module in modules:
        assert (folder / f"{module}.py").is_file(), module
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")], "temporary folder left"
    return config


def _logits(folder) -> list[list[float]]:
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    return reference_logits(model, AutoTokenizer.from_pretrained(folder))


# ---------------------------------------------------------------- the three sources


def test_export_saved_folder_is_hub_ready_and_predicts_the_same(tiny_era_dir, tiny_era, tokenizer, tmp_path):
    out = export_checkpoint(
        tiny_era_dir, tmp_path / "out", results=[_result_file(tmp_path)], repo_id="org/tiny-era", card_revision="v1"
    )
    _assert_hub_ready(out)
    assert_logits_close(_logits(out), reference_logits(tiny_era, tokenizer), atol=1e-6)
    readme = (out / "README.md").read_text()
    assert 'revision="v1"' in readme and "value: 0.75" in readme
    # The CLI passes a baseline's results to the card: this model minus it, seed by seed.
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    assert cli.main(["export", str(tiny_era_dir), str(tmp_path / "out"), "--overwrite", "--results", str(tmp_path / "results.json"),
                     "--baseline-results", str(_result_file(baseline, accuracy=0.70))]) == 0  # fmt: skip
    assert "| this model minus the baseline, seed by seed (seed 1; points) | +5.00 | +0.00 |" in (out / "README.md").read_text()


def test_export_trainer_checkpoint(tiny_era, tokenizer, tmp_path):
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    rows = [dict(tokenizer(t, d, truncation=True), labels=i % 3) for i, (t, d) in enumerate(PAIRS * 2)]
    run = tmp_path / "run"
    args = TrainingArguments(
        output_dir=str(run), max_steps=2, per_device_train_batch_size=2, save_strategy="steps", save_steps=2,
        report_to=[], use_cpu=True, disable_tqdm=True, logging_steps=1, learning_rate=1e-3,
    )
    trainer = Trainer(model=tiny_era, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer),
                      processing_class=tokenizer)
    trainer.train()
    # What the training callback writes beside the model: the card reads whatever keys exist.
    (run / "training_record.json").write_text(json.dumps({"hyperparameters": {"learning_rate": 1e-3}, "max_steps": 2}))

    with pytest.raises(ExportError, match="export one of them, e.g. .*checkpoint-2"):
        export_checkpoint(run, tmp_path / "wrong")
    out = export_checkpoint(run / "checkpoint-2", tmp_path / "out")
    _assert_hub_ready(out)
    assert not (out / "trainer_state.json").exists() and not (out / "optimizer.pt").exists()
    assert_logits_close(_logits(out), reference_logits(trainer.model, tokenizer), atol=1e-6)
    assert "learning_rate: `0.001`" in (out / "README.md").read_text()


def test_export_misr_folder_through_the_auto_classes(tiny_encoder_config, tokenizer, tmp_path):
    from multimodal_sentiment import MisrConfig, MisrForSequenceClassification

    torch.manual_seed(0)
    config = MisrConfig(
        encoder_config=tiny_encoder_config.to_dict(),
        latent_size=8,
        captioner=None,
        special_token_ids=sorted(set(tokenizer.all_special_ids)),
    )
    misr = MisrForSequenceClassification(config).eval()
    misr.save_pretrained(tmp_path / "misr")
    tokenizer.save_pretrained(tmp_path / "misr")
    out = export_checkpoint(tmp_path / "misr", tmp_path / "out")
    assert _assert_hub_ready(out)["model_type"] == "misr-multimodal-sentiment"
    batch = tokenizer([text for text, _ in PAIRS], padding=True, return_tensors="pt")  # text only: no visual input
    loaded = AutoModelForSequenceClassification.from_pretrained(out).eval()
    with torch.no_grad():
        assert_logits_close(loaded(**batch).logits.tolist(), misr(**batch).logits.tolist(), atol=1e-6)
    assert "MISR (Multimodal Invariant Sentiment Representation)" in (out / "README.md").read_text()

    # A MISR that reads pixels ships its image processor, or the export says what to pass.
    from transformers import ViTConfig, ViTImageProcessor

    vit = ViTConfig(
        image_size=32, patch_size=8, hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37
    )
    pixels = MisrForSequenceClassification(MisrConfig(**{**config.to_dict(), "vision_config": vit.to_dict()}))
    pixels.save_pretrained(tmp_path / "misr-vit")
    tokenizer.save_pretrained(tmp_path / "misr-vit")
    with pytest.raises(ExportError, match="--image-processor"):
        export_checkpoint(tmp_path / "misr-vit", tmp_path / "out-vit")
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path / "processor")
    out = export_checkpoint(tmp_path / "misr-vit", tmp_path / "out-vit", image_processor=str(tmp_path / "processor"))
    assert (out / "preprocessor_config.json").is_file()


def _external_state_dict(model, wrap: str, encoder_prefix: str) -> dict[str, torch.Tensor]:
    """The model's weights as a script outside this package would name them."""
    renamed = {}
    for key, value in model.state_dict().items():
        key = encoder_prefix + key[len("era.encoder."):] if key.startswith("era.encoder.") else key
        renamed[wrap + key] = value.clone()
    return renamed


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_export_plain_state_dict_with_key_mapping_via_cli(suffix, tiny_era, tokenizer, tmp_path, capsys):
    if suffix == ".pt":  # DDP-wrapped BertForSequenceClassification-style names
        state = _external_state_dict(tiny_era, "module.", "bert.")
        weights = tmp_path / "weights.pt"
        torch.save(state, weights)
    else:  # a bare encoder under `roberta.` plus an encoder pooler ERA does not use
        state = _external_state_dict(tiny_era, "", "roberta.")
        state["roberta.pooler.dense.weight"] = torch.zeros(32, 32)
        weights = tmp_path / "weights.safetensors"
        save_file(state, str(weights))
    # A hand-written config: no auto_map, no special_token_ids (filled from the tokenizer).
    config = {"model_type": "era-multimodal-sentiment", "encoder_config": tiny_era.config.encoder_config.to_dict(),
              "token_top_k": 4, "captioner": None}
    (tmp_path / "config.json").write_text(json.dumps(config))
    tokenizer.save_pretrained(tmp_path / "tok")

    code = cli.main(["export", str(weights), str(tmp_path / "out"), "--config", str(tmp_path / "config.json"),
                     "--tokenizer", str(tmp_path / "tok")])
    assert code == 0, capsys.readouterr().err
    assert "key mapping:" in capsys.readouterr().out
    out_config = _assert_hub_ready(tmp_path / "out")
    assert out_config["special_token_ids"] == tiny_era.config.special_token_ids
    assert_logits_close(_logits(tmp_path / "out"), reference_logits(tiny_era, tokenizer), atol=1e-6)
    assert "This model has not been evaluated" in (tmp_path / "out" / "README.md").read_text()


def test_state_dict_without_config_or_with_stray_keys_fails_clearly(tiny_era, tmp_path, capsys):
    weights = tmp_path / "w.pt"
    torch.save({"net.backbone.x": torch.zeros(1)}, weights)
    assert cli.main(["export", str(weights), str(tmp_path / "out")]) == 1
    assert "pass --config" in capsys.readouterr().err
    torch.save({"not": "a tensor", "optimizer": [1, 2]}, tmp_path / "wrapped.pt")
    with pytest.raises(ExportError, match="not a state dict"):
        load_state_dict_file(tmp_path / "wrapped.pt")
    torch.save({"model": {"w": torch.ones(1)}, "epoch": 3}, tmp_path / "lightning.pt")
    assert list(load_state_dict_file(tmp_path / "lightning.pt")) == ["w"]  # unwrapped
    assert not (tmp_path / "out").exists()


def test_key_mapping_rules_and_errors(tiny_era):
    target = tiny_era.state_dict()
    # Explicit rule + wrapper: `net.` is ours to rename, `_orig_mod.` (torch.compile) is stripped.
    source = {"_orig_mod.net." + k[len("era.encoder."):] if k.startswith("era.encoder.") else "_orig_mod." + k: v
              for k, v in target.items()}
    mapped, report = map_state_dict(source, target, key_map=[("_orig_mod.net.", "era.encoder.")])
    assert set(mapped) == set(target) and report.encoder_prefix == "era.encoder."

    with pytest.raises(KeyMappingError, match=r"no place in the model.*--key-map OLD=NEW"):
        map_state_dict({**target, "head.extra": torch.zeros(1)}, target)
    without_head = {k: v for k, v in target.items() if not k.startswith("classifier.")}
    with pytest.raises(KeyMappingError, match=r"classifier.bias.*--allow-missing"):
        map_state_dict(without_head, target)
    mapped, report = map_state_dict(without_head, target, allow_missing=["classifier.*"])
    assert report.missing_allowed == ["classifier.bias", "classifier.weight"]
    with pytest.raises(KeyMappingError, match="wrong shape"):
        map_state_dict({**target, "classifier.weight": torch.zeros(5, 32)}, target)


# ---------------------------------------------------------------- atomicity


@pytest.mark.parametrize("interrupt", [RuntimeError("simulated crash"), KeyboardInterrupt()])
def test_interrupted_export_leaves_nothing_that_loads(interrupt, tiny_era_dir, tmp_path, monkeypatch):
    import multimodal_sentiment.model_card as model_card

    def crash(folder, **kwargs):
        # Weights, config, code and tokenizer are already written at this point: a half-made folder.
        assert (folder / "model.safetensors").is_file()
        raise interrupt

    monkeypatch.setattr(model_card, "write_model_card", crash)
    with pytest.raises(type(interrupt)):
        export_checkpoint(tiny_era_dir, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-era"]  # no output, no temporary folder

    # An existing export is never clobbered by a failed one, even with overwrite.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("previous export")
    with pytest.raises(type(interrupt)):
        export_checkpoint(tiny_era_dir, tmp_path / "out", overwrite=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny-era"]


def test_existing_output_needs_overwrite(tiny_era_dir, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert cli.main(["export", str(tiny_era_dir), str(tmp_path / "out")]) == 1
    assert "already exists" in capsys.readouterr().err and not list((tmp_path / "out").iterdir())
    assert cli.main(["export", str(tiny_era_dir), str(tmp_path / "out"), "--overwrite"]) == 0
    _assert_hub_ready(tmp_path / "out")


# ---------------------------------------------------------------- without the package


def test_exported_folder_runs_without_the_package(tiny_era_dir, tiny_era, tokenizer, tmp_path, run_without_package):
    out = export_checkpoint(tiny_era_dir, tmp_path / "out")
    result = run_without_package(isolated_predict_code(str(out), task=None))  # pipeline(model=folder, ...)
    assert_predicts_like(payload(result), reference_logits(tiny_era, tokenizer), LABELS)


@pytest.mark.slow
def test_prepopulated_offline_cache_by_name_and_sha(tiny_era_dir, tiny_era, tokenizer, tmp_path, run_without_package):
    out = export_checkpoint(tiny_era_dir, tmp_path / "out", repo_id="org/tiny-era")
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf-home" / "hub" / "models--org--tiny-era"
    shutil.copytree(out, repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    env = {"HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1"}
    expected = reference_logits(tiny_era, tokenizer)
    code = isolated_predict_code("org/tiny-era", revision=None) + isolated_predict_code("org/tiny-era", revision=sha)
    result = run_without_package(code, extra_env=env)
    by_name, by_sha = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert_predicts_like(by_name, expected, LABELS)
    assert_predicts_like(by_sha, expected, LABELS)
