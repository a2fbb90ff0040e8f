"""`export` publishes safetensors only and never unpickles arbitrary objects: a pickle written into
the output by any step is refused (and no OUTPUT_DIR is left), and a state dict holding Python
objects is refused without running them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from multimodal_sentiment.convert import ExportError, export_checkpoint


def _quiet(_: str) -> None:
    pass


@pytest.mark.parametrize(
    "owner, name",
    [(PreTrainedModel, "pytorch_model.bin"), (PreTrainedTokenizerBase, "extra_state.pkl"), (PreTrainedModel, "rng.pt")],
    ids=["model-bin", "tokenizer-pkl", "model-pt"],
)
def test_export_refuses_a_pickle_written_into_the_output(tiny_era_dir, tmp_path, monkeypatch, owner, name):
    """As if a library version (or a save hook) wrote a pickle beside the safetensors weights."""
    original = owner.save_pretrained

    def save_with_a_pickle(self, save_directory, *args, **kwargs):
        result = original(self, save_directory, *args, **kwargs)
        torch.save({"step": 3}, Path(save_directory) / name)
        return result

    monkeypatch.setattr(owner, "save_pretrained", save_with_a_pickle)
    output = tmp_path / "exported"
    with pytest.raises(ExportError, match=rf"Refusing to export pickle files \['{name}'\]: only safetensors weights"):
        export_checkpoint(tiny_era_dir, output, log=_quiet)
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".exported.")] == []  # no staging left


def test_exported_folder_holds_no_pickle_even_from_a_trainer_checkpoint(tiny_era_dir, tmp_path):
    """The Trainer's pickles beside the source (training_args.bin, optimizer.pt) are not copied."""
    source = tmp_path / "checkpoint-3"
    source.mkdir()
    for item in tiny_era_dir.iterdir():
        (source / item.name).write_bytes(item.read_bytes())
    (source / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": []}))
    for pickle_name in ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth"):
        torch.save({"x": 1}, source / pickle_name)
    output = export_checkpoint(source, tmp_path / "exported", log=_quiet)
    names = sorted(p.name for p in output.rglob("*"))
    assert "model.safetensors" in names
    assert [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))] == []


class _RunsCodeWhenUnpickled:
    """Unpickling this calls open(marker, "w"): a stand-in for arbitrary code in a pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_state_dict_with_python_objects_is_refused_without_running_them(tiny_era_dir, tmp_path):
    marker = tmp_path / "code-ran"
    weights = tmp_path / "weights.pt"
    torch.save({"classifier.weight": torch.zeros(3, 32), "payload": _RunsCodeWhenUnpickled(marker)}, weights)
    output = tmp_path / "exported"
    with pytest.raises(ExportError, match=r"weights_only=True.*Export never unpickles arbitrary Python objects"):
        export_checkpoint(weights, output, config=tiny_era_dir / "config.json", tokenizer=str(tiny_era_dir), log=_quiet)
    assert not marker.exists() and not output.exists()
