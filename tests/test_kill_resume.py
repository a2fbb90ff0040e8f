"""kill -9 at chosen and at seeded random points of `train`, `caption` and `predict`, then rerun:
the outputs equal an uninterrupted run's (ids, labels, captions, final weights).

The killed runs are child processes (tests/kill_helpers.py) that SIGKILL themselves: after an
optimizer step, inside a checkpoint save (model written, optimizer half written, no
trainer_state.json), half-way through writing an output line, or after a random delay. The
reruns and the reference runs are in-process. One kill per command runs in the default suite;
the chains of kills at several seeded random points are `slow`.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from kill_helpers import dying_open, run_killed
from safetensors.torch import load_file

from multimodal_sentiment.cli import main as cli_main
from multimodal_sentiment.evaluation.results import RESULTS_FILE, TRAINING_RECORD_FILE
from multimodal_sentiment.training.checkpoints import checkpoint_problem, last_complete_checkpoint

SEED = 15

# ---------------------------------------------------------------- train


def train_args(encoder: Path, data: Path, output_dir: Path) -> list[str]:
    """6 steps of ERA, a checkpoint (and evaluation) every 2 steps, the best one loaded at the end."""
    return [
        "train", "--dataset", str(data), "--encoder_name_or_path", str(encoder), "--output_dir", str(output_dir),
        "--preset", "era-caption", "--token_top_k", "4", "--seed", "3", "--max_steps", "6",
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--eval_strategy", "steps",
        "--save_strategy", "steps", "--eval_steps", "2", "--save_steps", "2", "--logging_steps", "1",
        "--max_length", "48", "--learning_rate", "1e-3", "--dataloader_pin_memory", "False",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, tiny_encoder_dir, mvsa_dir) -> Path:
    output_dir = tmp_path_factory.mktemp("reference") / "run"
    assert cli_main(train_args(tiny_encoder_dir, mvsa_dir, output_dir)) == 0
    return output_dir


def assert_same_training(run: Path, reference: Path) -> None:
    final, expected = load_file(run / "model.safetensors"), load_file(reference / "model.safetensors")
    assert final.keys() == expected.keys()
    for name, tensor in expected.items():
        assert (final[name] - tensor).abs().max().item() < 1e-6, name
    results, wanted = (json.loads((path / RESULTS_FILE).read_text()) for path in (run, reference))
    assert results["metrics"] == wanted["metrics"]
    record, wanted_record = (json.loads((path / TRAINING_RECORD_FILE).read_text()) for path in (run, reference))
    assert record["global_step"] == wanted_record["global_step"] == 6
    assert [e["eval_loss"] for e in record["evaluations"]] == pytest.approx(
        [e["eval_loss"] for e in wanted_record["evaluations"]], abs=1e-6
    )
    assert all(checkpoint_problem(folder) is None for folder in run.glob("checkpoint-*"))


class _Crash(BaseException):
    """Stands in for SIGKILL in-process: nothing of the Trainer's runs after it."""


def test_train_stopped_inside_a_checkpoint_save_resumes_to_the_same_model(
    tmp_path, tiny_encoder_dir, mvsa_dir, reference_run, monkeypatch
):
    """In-process and fast: the save of checkpoint-4 stops where a kill would leave it (the
    model written, the optimizer half written, no trainer_state.json). The real kill -9 of a
    child process is the slow test below."""
    from transformers import Trainer

    output_dir = tmp_path / "run"
    argv = train_args(tiny_encoder_dir, mvsa_dir, output_dir)
    original = Trainer._save_optimizer_and_scheduler

    def save_then_stop(self, folder):
        if self.state.global_step == 4:
            Path(folder, "optimizer.pt.tmp").write_bytes(b"\0" * 4096)
            raise _Crash
        return original(self, folder)

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", save_then_stop)
    with pytest.raises(_Crash):
        cli_main(argv)
    monkeypatch.undo()
    assert_resumes_from_checkpoint_2(output_dir, argv, reference_run)


@pytest.mark.slow
def test_train_killed_inside_a_checkpoint_save_resumes_to_the_same_model(
    tmp_path, tiny_encoder_dir, mvsa_dir, reference_run
):
    output_dir = tmp_path / "run"
    argv = train_args(tiny_encoder_dir, mvsa_dir, output_dir)
    assert run_killed("save:4", argv) == -9
    assert_resumes_from_checkpoint_2(output_dir, argv, reference_run)


def assert_resumes_from_checkpoint_2(output_dir: Path, argv: list[str], reference_run: Path) -> None:
    # What the kill left: checkpoint-4 with its model but half an optimizer and no trainer state.
    assert (output_dir / "checkpoint-4" / "model.safetensors").is_file()
    assert checkpoint_problem(output_dir / "checkpoint-4") == "optimizer.pt.tmp is left over from an interrupted write"
    assert last_complete_checkpoint(output_dir) == str(output_dir / "checkpoint-2")
    assert cli_main(argv) == 0
    record = json.loads((output_dir / TRAINING_RECORD_FILE).read_text())
    assert record["resumed_from_checkpoint"] == str(output_dir / "checkpoint-2")
    assert_same_training(output_dir, reference_run)


def test_an_incomplete_checkpoint_named_explicitly_is_refused(tmp_path, tiny_encoder_dir, mvsa_dir):
    partial = tmp_path / "run" / "checkpoint-8"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")
    (partial / "model.safetensors").write_bytes(b"\0")
    argv = [*train_args(tiny_encoder_dir, mvsa_dir, tmp_path / "run"), "--resume_from_checkpoint", str(partial)]
    with pytest.raises(ValueError) as caught:
        cli_main(argv)
    assert str(caught.value) == (
        f"--resume_from_checkpoint {partial}: not a complete checkpoint "
        "(trainer_state.json is missing (the save was interrupted))."
    )


@pytest.mark.slow
def test_train_killed_at_several_random_points_resumes_to_the_same_model(
    tmp_path, tiny_encoder_dir, mvsa_dir, reference_run
):
    rng = random.Random(SEED)
    output_dir = tmp_path / "run"
    argv = train_args(tiny_encoder_dir, mvsa_dir, output_dir)
    # Each kill lands later than the last complete checkpoint, so every rerun makes progress.
    kills = [f"step:{rng.randint(1, 2)}", f"save:{rng.choice((2, 4))}", f"after:{rng.uniform(1.0, 8.0):.2f}"]
    kills.insert(2, f"step:{rng.randint(5, 6)}")
    for spec in kills:
        run_killed(spec, argv)  # "after:" may find the run finished already: 0 is fine too
    assert cli_main(argv) == 0
    assert_same_training(output_dir, reference_run)


# ---------------------------------------------------------------- caption


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    from PIL import Image

    for number, colour in enumerate(("red", "blue", "green", "gray", "orange", "purple", "white")):
        Image.new("RGB", (12 + number, 10), colour).save(folder / f"img{number}.png")
    Image.new("RGB", (9, 9), "black").save(folder / "img0.jpg")  # same stem as img0.png
    return folder


def caption_args(photos: Path, output: Path, blip_dir: Path) -> list[str]:
    return ["caption", str(photos), "-o", str(output), "--captioner", str(blip_dir), "--batch-size", "2",
            "--max-new-tokens", "3"]  # fmt: skip


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def stop_on_write(monkeypatch, target: int) -> None:
    """In-process stand-in for a kill mid-write: half of the target-th output line is written, then
    `_Crash` unwinds everything (no `finally` of ours writes the rest: it is the same torn file)."""
    import builtins
    import pathlib

    def crash() -> None:
        raise _Crash

    opening = dying_open(target, crash)
    monkeypatch.setattr(builtins, "open", opening)
    monkeypatch.setattr(pathlib.Path, "open", lambda self, mode="r", *a, **k: opening(self, mode, *a, **k))


def test_caption_stopped_mid_row_resumes_to_the_same_file(photos, tmp_path, blip_dir, monkeypatch):
    reference = tmp_path / "reference.csv"
    assert cli_main(caption_args(photos, reference, blip_dir)) == 0
    output = tmp_path / "captions.csv"
    stop_on_write(monkeypatch, 4)  # header + 2 rows + half a row
    with pytest.raises(_Crash):
        cli_main(caption_args(photos, output, blip_dir))
    monkeypatch.undo()
    assert not output.read_text().endswith("\n")
    assert cli_main(caption_args(photos, output, blip_dir)) == 0
    assert output.read_bytes() == reference.read_bytes() and len(_csv_rows(output)) == 8


@pytest.mark.slow
def test_caption_killed_mid_row_resumes_to_the_same_file(photos, tmp_path, blip_dir):
    reference = tmp_path / "reference.csv"
    assert cli_main(caption_args(photos, reference, blip_dir)) == 0
    output = tmp_path / "captions.csv"
    assert run_killed("write:4", caption_args(photos, output, blip_dir)) == -9  # header + 2 rows + half a row
    assert not output.read_text().endswith("\n")
    assert cli_main(caption_args(photos, output, blip_dir)) == 0
    assert _csv_rows(output) == _csv_rows(reference) and len(_csv_rows(output)) == 8
    assert output.read_bytes() == reference.read_bytes()


# ---------------------------------------------------------------- predict


@pytest.fixture
def posts(tmp_path) -> Path:
    rows = [
        {"id": f"r{i}", "text": f"post {i} " + "good " * (i % 4), "image_description": f"scene {i}"} for i in range(9)
    ]
    rows[4]["image"] = "missing.png"  # an error row: its line is a result too
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def predict_args(model: Path, posts: Path, output: Path) -> list[str]:
    return ["predict", str(model), "-i", str(posts), "-o", str(output), "--batch-size", "2", "--device", "cpu"]


def _predictions(path: Path) -> list[tuple]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [(line["id"], line.get("label"), line.get("error"), json.dumps(line.get("scores"))) for line in lines]


def test_predict_stopped_mid_line_resumes_to_the_same_results(tiny_era_dir, posts, tmp_path, monkeypatch):
    reference = tmp_path / "reference.jsonl"
    assert cli_main(predict_args(tiny_era_dir, posts, reference)) == 0
    output = tmp_path / "out.jsonl"
    stop_on_write(monkeypatch, 3)
    with pytest.raises(_Crash):
        cli_main(predict_args(tiny_era_dir, posts, output))
    monkeypatch.undo()
    assert len(output.read_text().splitlines()) == 3 and not output.read_text().endswith("\n")
    assert cli_main(predict_args(tiny_era_dir, posts, output)) == 0
    assert _predictions(output) == _predictions(reference)


@pytest.mark.slow
def test_predict_killed_mid_line_resumes_to_the_same_results(tiny_era_dir, posts, tmp_path):
    reference = tmp_path / "reference.jsonl"
    assert cli_main(predict_args(tiny_era_dir, posts, reference)) == 0
    output = tmp_path / "out.jsonl"
    assert run_killed("write:3", predict_args(tiny_era_dir, posts, output)) == -9
    assert len(output.read_text().splitlines()) == 3 and not output.read_text().endswith("\n")
    assert cli_main(predict_args(tiny_era_dir, posts, output)) == 0
    assert _predictions(output) == _predictions(reference)
    assert [p[0] for p in _predictions(output)] == [f"r{i}" for i in range(9)]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["caption", "predict"])
def test_killed_at_several_random_points(command, photos, posts, tiny_era_dir, blip_dir, tmp_path):
    """Three kills in a row (two mid-line, one after a seeded random delay), then a last run."""
    rng = random.Random(SEED)
    if command == "caption":
        args, suffix = (lambda output: caption_args(photos, output, blip_dir)), ".csv"
    else:
        args, suffix = (lambda output: predict_args(tiny_era_dir, posts, output)), ".jsonl"
    reference, output = tmp_path / f"reference{suffix}", tmp_path / f"out{suffix}"
    assert cli_main(args(reference)) == 0
    for spec in (f"write:{rng.randint(1, 4)}", f"write:{rng.randint(2, 4)}", f"after:{rng.uniform(0.5, 6):.2f}"):
        run_killed(spec, args(output))
    assert cli_main(args(output)) == 0
    if command == "caption":
        assert output.read_bytes() == reference.read_bytes()
    else:
        assert _predictions(output) == _predictions(reference)


def test_checkpoint_completeness_is_decided_in_one_place(tmp_path):
    from multimodal_sentiment.training.checkpoints import checkpoint_folders, remove_incomplete_checkpoints

    def checkpoint(step: int, *files: str, state: str = "{}") -> Path:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        for name in files:
            (folder / name).write_bytes(b"\0")
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
        return folder

    complete = checkpoint(4, "model.safetensors", "optimizer.pt")
    checkpoint(8, "config.json", "model.safetensors.tmp", state=None)  # the campaign's case
    checkpoint(12, "config.json", state='{"global_step": 1')
    checkpoint(16, "config.json")
    checkpoint(20, "config.json", "model.safetensors", state=None)
    (tmp_path / "checkpoint-x").mkdir()  # not a checkpoint name: ignored
    assert {folder.name: checkpoint_problem(folder) for folder in checkpoint_folders(tmp_path)} == {
        "checkpoint-4": None,
        "checkpoint-8": "model.safetensors.tmp is left over from an interrupted write",
        "checkpoint-12": "it holds no model weights (model.safetensors / pytorch_model.bin; the save was interrupted)",
        "checkpoint-16": "it holds no model weights (model.safetensors / pytorch_model.bin; the save was interrupted)",
        "checkpoint-20": "trainer_state.json is missing (the save was interrupted)",
    }
    (tmp_path / "checkpoint-12" / "model.safetensors").write_bytes(b"\0")
    assert checkpoint_problem(tmp_path / "checkpoint-12").startswith("trainer_state.json is damaged (")
    assert last_complete_checkpoint(tmp_path) == str(complete)
    removed = remove_incomplete_checkpoints(tmp_path)
    assert [p.name for p in removed] == ["checkpoint-8", "checkpoint-12", "checkpoint-16", "checkpoint-20"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-4", "checkpoint-x"]
