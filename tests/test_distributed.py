"""Several processes: `train` under `torchrun --nproc_per_node 2` and `accelerate launch` on CPU
(gloo), and `predict` sharded over ranks like `caption` (every id exactly once after --merge).

The launcher tests start real process groups (two Python processes each importing torch and
transformers: well over 20 s on a shared CPU), so they are `slow`; the sharding logic of
`predict` is also checked in-process (RANK / WORLD_SIZE set as a launcher sets them), fast.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.evaluation.results import RESULTS_FILE
from multimodal_sentiment.inference import predict

HELPER = Path(__file__).with_name("dist_helpers.py")


def _train_args(encoder: Path, data: Path, output_dir: Path) -> list[str]:
    return [
        "train", "--dataset", str(data), "--encoder_name_or_path", str(encoder), "--output_dir", str(output_dir),
        "--preset", "era-caption", "--token_top_k", "4", "--seed", "5", "--max_steps", "4",
        "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "4", "--eval_strategy", "steps",
        "--eval_steps", "2", "--save_strategy", "steps", "--save_steps", "2", "--logging_steps", "1",
        "--max_length", "48", "--dataloader_pin_memory", "False", "--use_cpu", "True",
    ]  # fmt: skip


def _launch(command: list[str], dump: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIST_DUMP_DIR=str(dump), OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HELPER.parent), env.get("PYTHONPATH")]))
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, f"{command[:6]} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
    return completed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_two_ranks_agree(dump: Path, output_dir: Path) -> None:
    summaries = [json.loads((dump / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [s["world_size"] for s in summaries] == [2, 2] and {s["backend"] for s in summaries} == {"gloo"}
    assert all(math.isfinite(s["training_loss"]) for s in summaries)
    first, second = (torch.load(dump / f"rank{rank}.pt") for rank in (0, 1))
    assert first.keys() == second.keys() and first
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), f"{name} differs between the ranks"
    assert json.loads((output_dir / RESULTS_FILE).read_text())["num_examples"] == 6  # rank 0 wrote the results


@pytest.mark.slow
def test_torchrun_trains_on_two_cpu_processes(tmp_path, tiny_encoder_dir, mvsa_dir):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    output_dir, dump = tmp_path / "run", tmp_path / "dump"
    dump.mkdir()
    command = [torchrun, "--standalone", "--nproc_per_node", "2", str(HELPER)]
    _launch([*command, *_train_args(tiny_encoder_dir, mvsa_dir, output_dir)], dump)
    _assert_two_ranks_agree(dump, output_dir)


@pytest.mark.slow
def test_accelerate_launch_trains_on_two_cpu_processes(tmp_path, tiny_encoder_dir, mvsa_dir):
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
    output_dir, dump = tmp_path / "run", tmp_path / "dump"
    dump.mkdir()
    command = [
        accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "--main_process_port", str(_free_port()), str(HELPER),
    ]  # fmt: skip
    _launch([*command, *_train_args(tiny_encoder_dir, mvsa_dir, output_dir)], dump)
    _assert_two_ranks_agree(dump, output_dir)


# ---------------------------------------------------------------- predict over ranks


@pytest.fixture
def posts(tmp_path) -> Path:
    rows = [{"id": f"p{i}", "text": f"post {i}", "image_description": f"scene {i % 3}"} for i in range(11)]
    rows[6] = {"id": "p6", "text": "post 6", "image": "gone.png"}  # an error line counts as that id's result
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_predict_shards_rows_over_ranks_and_merges_every_id_once(tiny_era_dir, posts, tmp_path, monkeypatch, capsys):
    single = tmp_path / "single.jsonl"
    assert predict.main([str(tiny_era_dir), "-i", str(posts), "-o", str(single)]) == 1  # p6 failed
    output = tmp_path / "sharded.jsonl"
    for rank, status in ((0, 1), (1, 0), (2, 0)):  # p6 is rank 0's
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "3")
        assert predict.main([str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--batch-size", "2"]) == status
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    parts = sorted(tmp_path.glob("sharded.rank*-of-00003.jsonl"))
    assert [[line["id"] for line in _lines(part)] for part in parts] == [
        ["p0", "p3", "p6", "p9"],
        ["p1", "p4", "p7", "p10"],
        ["p2", "p5", "p8"],
    ]
    assert _lines(parts[0])[2]["error"].startswith("row 6 (id 'p6'): image file not found")  # its row in the file
    assert not output.exists()
    assert predict.main(["--merge", "-o", str(output)]) == 0
    assert "predict: merged 11 rows from 3 part files into" in capsys.readouterr().err
    merged = {line["id"]: line for line in _lines(output)}
    assert len(merged) == len(_lines(output)) == 11
    expected = {line["id"]: line for line in _lines(single)}
    assert merged.keys() == expected.keys()
    for row_id, line in expected.items():
        assert (merged[row_id].get("label"), merged[row_id].get("error")) == (line.get("label"), line.get("error"))
        assert merged[row_id].get("scores") == pytest.approx(line.get("scores"), abs=1e-5)
    assert predict.main(["--merge", "-o", str(output)]) == 0 and len(_lines(output)) == 11  # idempotent


def test_predict_merge_without_parts_says_so(tmp_path):
    with pytest.raises(SystemExit) as caught:
        predict.main(["--merge", "-o", str(tmp_path / "out.jsonl")])
    assert str(caught.value.code) == (f"predict: no part files out.rank*-of-*.jsonl next to {tmp_path / 'out.jsonl'}")


@pytest.mark.slow
def test_predict_under_torchrun_merges_every_id_once(tiny_era_dir, posts, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    output = tmp_path / "predictions.jsonl"
    args = ["predict", str(tiny_era_dir), "-i", str(posts), "-o", str(output), "--device", "cpu", "--allow-errors"]
    _launch([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "multimodal_sentiment.cli", *args], tmp_path)
    assert len(sorted(tmp_path.glob("predictions.rank*-of-00002.jsonl"))) == 2
    assert cli_main(["predict", "--merge", "-o", str(output)]) == 0
    ids = [line["id"] for line in _lines(output)]
    assert sorted(ids) == sorted(f"p{i}" for i in range(11)) and len(ids) == len(set(ids))
