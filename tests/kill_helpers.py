"""Run a `multimodal-sentiment` command in a child process that SIGKILLs itself at a chosen point.

    python tests/kill_helpers.py KILL_SPEC -- train --dataset ... --output_dir ...

KILL_SPEC:
- `none`: run to the end;
- `step:N`: after optimizer step N (between checkpoints);
- `save:N`: inside the save of checkpoint-N, after its model files and a partial `optimizer.pt.tmp`
  are written, before `trainer_state.json` (what a kill during a 90 MB write leaves);
- `write:N`: on the N-th write of a result line by `caption` / `predict` (the line half written);
- `after:S`: S seconds after the start, wherever the process is.

Also importable: `run_killed(spec, argv, env)` returns the child's exit status (-9 when killed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _install(spec: str) -> None:
    kind, _, value = spec.partition(":")
    if kind == "none":
        return
    if kind == "after":
        timer = threading.Timer(float(value), _die)
        timer.daemon = True
        timer.start()
        return
    target = int(value)
    if kind == "step":
        from transformers import TrainerCallback

        import multimodal_sentiment.training.train as train

        class KillAtStep(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == target:
                    _die()

        original_trainer = train.Trainer

        def trainer_with_kill(*args, **kwargs):
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), KillAtStep()]
            return original_trainer(*args, **kwargs)

        train.Trainer = trainer_with_kill
    elif kind == "save":
        from transformers import Trainer

        original = Trainer._save_optimizer_and_scheduler

        def save_then_die(self, output_dir):
            if self.state.global_step == target:
                Path(output_dir, "optimizer.pt.tmp").write_bytes(b"\0" * 4096)  # a write cut short
                _die()
            return original(self, output_dir)

        Trainer._save_optimizer_and_scheduler = save_then_die
    elif kind == "write":
        import builtins
        import pathlib

        opening = dying_open(target, _die)
        builtins.open = opening
        pathlib.Path.open = lambda self, mode="r", *args, **kwargs: opening(self, mode, *args, **kwargs)
    else:
        raise SystemExit(f"unknown kill spec {spec!r}")


def dying_open(target: int, die: Callable[[], None]) -> Callable[..., Any]:
    """An `open` whose files opened for appending in text mode (the outputs of caption /
    predict; not their `.errors.jsonl`) call `die` on the `target`-th line written, after
    writing half of it."""
    import builtins

    real_open = builtins.open
    count = {"lines": 0}

    class Appender:
        def __init__(self, handle):
            self._handle = handle

        def write(self, text):
            name = str(getattr(self._handle, "name", ""))
            if not name.endswith(".errors.jsonl") and text.endswith("\n") and len(text) > 4:
                count["lines"] += 1
                if count["lines"] == target:
                    self._handle.write(text[: len(text) // 2])
                    self._handle.flush()
                    die()
            return self._handle.write(text)

        def __getattr__(self, name):
            return getattr(self._handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._handle.__exit__(*exc)

    def opening(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return Appender(handle) if "a" in mode and "b" not in mode else handle

    return opening


def run_killed(spec: str, argv: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> int:
    """Run `multimodal-sentiment argv` in a child that dies as `spec` says; its exit status."""
    command = [sys.executable, str(Path(__file__).resolve()), spec, "--", *argv]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if completed.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"{argv[0]} ({spec}) failed with {completed.returncode}:\n{completed.stderr[-4000:]}")
    return completed.returncode


if __name__ == "__main__":
    spec, separator, *command = sys.argv[1:]
    assert separator == "--", "usage: kill_helpers.py SPEC -- COMMAND ARGS"
    _install(spec)
    from multimodal_sentiment.cli import main

    sys.exit(main(command))
