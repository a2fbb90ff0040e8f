"""Progress lines on a clock: a long run says how far it is within its first steps and then at a
steady interval, whether tqdm is on or off (`--disable_tqdm true`, logs redirected to a file).

The Trainer's own log lines come every `logging_steps`, which on a slow machine can mean many
minutes of silence; these lines come every `--progress_interval` seconds instead.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from transformers import TrainerCallback

PROGRESS_PREFIX = "progress:"


def format_duration(seconds: float) -> str:
    """`1:02:03` / `2:03` style."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TimedProgressCallback(TrainerCallback):
    """Prints `progress: step 120/1278 (epoch 0.28), 1.93 s/step, elapsed 3:52, left 37:10, loss 0.81`
    after the first step of a session and then every `interval` seconds (0 turns it off).

    Printed on the main process only, to `stream` (stdout by default), flushed at once so
    redirected logs show it immediately.
    """

    def __init__(self, interval: float = 60.0, stream: TextIO | None = None):
        self.interval = float(interval)
        self.stream = stream
        self._started: float | None = None
        self._first_step: int = 0
        self._last_print: float | None = None
        self._last_loss: float | None = None

    def _print(self, line: str) -> None:
        print(f"{PROGRESS_PREFIX} {line}", file=self.stream or sys.stdout, flush=True)

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.monotonic()
        self._first_step = state.global_step
        self._last_print = None
        if self.interval > 0 and state.is_world_process_zero:
            resumed = f", resuming at step {state.global_step}" if state.global_step else ""
            self._print(
                f"training {state.max_steps} steps{resumed}; a line like this every {self.interval:g} s "
                f"(--progress_interval), the Trainer's loss every {args.logging_steps:g} steps"
            )

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        if logs and "loss" in logs:
            self._last_loss = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        if self.interval <= 0 or not state.is_world_process_zero or self._started is None:
            return
        now = time.monotonic()
        if self._last_print is not None and now - self._last_print < self.interval:
            return
        self._last_print = now
        done = state.global_step - self._first_step
        elapsed = now - self._started
        per_step = elapsed / done if done else 0.0
        left = per_step * max(state.max_steps - state.global_step, 0)
        parts = [
            f"step {state.global_step}/{state.max_steps}",
            f"(epoch {state.epoch:.2f})" if state.epoch is not None else "",
        ]
        line = " ".join(p for p in parts if p)
        line += f", {per_step:.2f} s/step, elapsed {format_duration(elapsed)}, left {format_duration(left)}"
        if self._last_loss is not None:
            line += f", loss {self._last_loss:.4f}"
        self._print(line)


__all__ = ["PROGRESS_PREFIX", "TimedProgressCallback", "format_duration"]
