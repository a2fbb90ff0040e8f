"""Which Trainer checkpoints can be resumed from: the one place that decides.

```python
>>> from multimodal_sentiment.training.checkpoints import checkpoint_problem, last_complete_checkpoint
>>> checkpoint_problem("runs/era/seed1/checkpoint-8")  # None when complete, else why not
'trainer_state.json is missing (the save was interrupted)'
>>> last_complete_checkpoint("runs/era/seed1")  # the newest complete one, or None
'runs/era/seed1/checkpoint-4'
```

The Trainer writes a checkpoint folder in this order: the model (config, code files, weights,
tokenizer), then optimizer, scheduler and RNG states, and `trainer_state.json` last. A process
killed in between leaves a folder that `transformers.trainer_utils.get_last_checkpoint` would
still pick (it looks at names only), after which every rerun fails with "Can't find a valid
checkpoint". Complete means: weights present, `trainer_state.json` present and valid JSON, and no
`*.tmp` file left by an interrupted write.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def checkpoint_problem(folder: str | Path) -> str | None:
    """Why `folder` is not a complete, resumable Trainer checkpoint; None when it is."""
    folder = Path(folder)
    try:
        return _problem(folder)
    except OSError as err:  # removed or changed while being read (another rank cleaning up)
        return f"it could not be read ({err})"


def _problem(folder: Path) -> str | None:
    if not folder.is_dir():
        return "it is not a folder"
    leftovers = sorted(path.name for path in folder.rglob("*.tmp"))
    if leftovers:
        return f"{leftovers[0]} is left over from an interrupted write"
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        return f"it holds no model weights ({' / '.join(WEIGHT_FILES[::2])}; the save was interrupted)"
    state = folder / TRAINER_STATE
    if not state.is_file():
        return f"{TRAINER_STATE} is missing (the save was interrupted)"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        return f"{TRAINER_STATE} is damaged ({err})"
    return None


def checkpoint_folders(output_dir: str | Path) -> list[Path]:
    """Every `checkpoint-N` folder of `output_dir`, by step."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [path for path in output_dir.iterdir() if path.is_dir() and CHECKPOINT_NAME.match(path.name)]
    return sorted(found, key=lambda path: int(CHECKPOINT_NAME.match(path.name).group(1)))


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest complete checkpoint of `output_dir` (a string, as `Trainer.train` takes it), or None."""
    for folder in reversed(checkpoint_folders(output_dir)):
        problem = checkpoint_problem(folder)
        if problem is None:
            return str(folder)
        logger.warning("Not resuming from %s: %s.", folder, problem)
    return None


def remove_incomplete_checkpoints(output_dir: str | Path) -> list[Path]:
    """Delete the incomplete checkpoint folders (a resumed run saves those steps again; a folder
    left half-written would mix old files into the new save and confuse checkpoint rotation)."""
    removed = []
    for folder in checkpoint_folders(output_dir):
        problem = checkpoint_problem(folder)
        if problem is not None:
            logger.warning("Removing the incomplete checkpoint %s: %s.", folder, problem)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


__all__ = ["checkpoint_folders", "checkpoint_problem", "last_complete_checkpoint", "remove_incomplete_checkpoints"]
