"""One owner for "code travels with the checkpoint" (modeling/checkpoint_code.py, issue 13): the
task name, auto_map, custom_pipelines and the save-with-code function; the embedded default is
written without code instead of being stripped afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from multimodal_sentiment.modeling import checkpoint_code
from multimodal_sentiment.modeling.checkpoint_code import CUSTOM_PIPELINES, ERA_AUTO_MAP, TASK, save_with_code

SRC = Path(checkpoint_code.__file__).resolve().parents[1]
# Files that travel on their own (into an exported folder or a Space) and cannot import the package.
STANDALONE = {"convert/endpoint_handler.py", "serve/gradio_app.py"}


def _code_files(folder) -> set[str]:
    return {p.name for p in folder.glob("*.py")}


def test_plain_save_pretrained_carries_the_code_and_names_it(tiny_era, tmp_path):
    # What a Trainer checkpoint or push_to_hub does: no helper of ours is called.
    tiny_era.save_pretrained(tmp_path / "plain")
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert config["auto_map"] == ERA_AUTO_MAP
    assert config["custom_pipelines"] == CUSTOM_PIPELINES
    assert {"modeling_era.py", "configuration_era.py", "checkpoint_code.py", "pipeline_multimodal_sentiment.py"} <= _code_files(
        tmp_path / "plain"
    )


def test_save_without_code_writes_neither_files_nor_references_and_leaves_the_classes_registered(tiny_era, tmp_path):
    save_with_code(tiny_era, tmp_path / "bare", include_code=False)
    config = json.loads((tmp_path / "bare" / "config.json").read_text())
    assert "auto_map" not in config and "custom_pipelines" not in config
    assert _code_files(tmp_path / "bare") == set()
    assert (tmp_path / "bare" / "model.safetensors").is_file()
    # The classes are registered again afterwards: the next save carries its code.
    assert type(tiny_era)._auto_class == "AutoModelForSequenceClassification"
    assert type(tiny_era.config)._auto_class == "AutoConfig"
    save_with_code(tiny_era, tmp_path / "full")
    assert json.loads((tmp_path / "full" / "config.json").read_text())["custom_pipelines"] == CUSTOM_PIPELINES
    assert "pipeline_multimodal_sentiment.py" in _code_files(tmp_path / "full")


def test_save_with_code_replaces_a_foreign_pipeline_entry(tiny_era, tmp_path):
    tiny_era.config.custom_pipelines = {TASK: {"impl": "old_pipeline.OldPipeline", "pt": [], "type": "text"}}
    save_with_code(tiny_era, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "config.json").read_text())["custom_pipelines"] == CUSTOM_PIPELINES


def test_the_task_name_is_defined_once():
    definitions = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"""^\s*\w+\s*(:\s*\w+\s*)?=\s*["']multimodal-sentiment["']""", line):
                definitions.append(relative)
    assert set(definitions) - STANDALONE == {"modeling/checkpoint_code.py"}, definitions
    for relative in STANDALONE & set(definitions):
        assert f'TASK = "{TASK}"' in (SRC / relative).read_text(encoding="utf-8"), relative


@pytest.mark.parametrize("name", ["CUSTOM_PIPELINES", "ERA_AUTO_MAP", "MISR_AUTO_MAP"])
def test_code_references_are_defined_only_in_checkpoint_code(name):
    owners = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if re.search(rf"^{name}\s*=", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ]
    assert owners == ["modeling/checkpoint_code.py"]
