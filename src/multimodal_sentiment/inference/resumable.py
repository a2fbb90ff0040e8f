"""Shared plumbing of the inference commands: reading tables, resuming outputs, sharding ranks.

```python
>>> from multimodal_sentiment.inference.resumable import done_ids, drop_damaged_lines, drop_torn_tail
>>> drop_torn_tail("captions.csv")  # a killed run may have left half a row
>>> drop_damaged_lines("predictions.jsonl")  # ... or, in JSON lines, a damaged one anywhere
>>> done = done_ids("captions.csv")  # ids to skip on restart
```
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def drop_torn_tail(path: str | Path) -> None:
    """Cut a last line that has no newline: what a process killed mid-write leaves behind. Every
    row these commands write is one line, so the cut row is simply done again."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        data = path.read_bytes()
        handle.truncate(data.rfind(b"\n") + 1)


def drop_damaged_lines(path: str | Path, id_key: str = "id") -> list[int]:
    """Remove every line of a JSON-lines output that is not a whole JSON object with an `id_key`
    (a torn write in the middle: a kill while another process appended, a full disk, an editor).
    Returns the 1-based numbers of the lines dropped; the file is rewritten (atomically: a kill
    during the repair leaves the old file) only when there are some. Their rows count as not
    done, so a resumed run does them again."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return []
    kept, dropped = [], []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                whole = isinstance(record, dict) and id_key in record and line.endswith(b"\n")
            except ValueError:
                whole = False
            if whole:
                kept.append(line)
            elif line.strip():
                dropped.append(number)
    if dropped:
        write_atomically(path, b"".join(kept))
    return dropped


def write_atomically(path: str | Path, data: bytes) -> None:
    """Replace `path` by `data` so that a reader (or a kill) sees the old file or the new one, never half."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def merge_json_lines(output: str | Path, parts: Iterable[str | Path], id_key: str = "id") -> int:
    """Append to `output` the result of every id of the part files (the last line of an id in a
    part is its result; a rank's rerun appends a new one) unless `output` already ends with that
    very line for the id: merging twice adds nothing, merging after a rank retried a failed row
    adds its new result. Returns the number of lines added."""
    output = Path(output)
    drop_torn_tail(output)
    drop_damaged_lines(output, id_key)
    merged = _latest_lines(output, id_key) if output.is_file() else {}
    latest: dict[str, bytes] = {}
    for part in parts:
        drop_torn_tail(part)
        latest.update(_latest_lines(Path(part), id_key))
    new = [line for row_id, line in latest.items() if merged.get(row_id) != line]
    with output.open("ab") as handle:
        handle.writelines(new)
    return len(new)


def _latest_lines(path: Path, id_key: str) -> dict[str, bytes]:
    """{id: its last whole line} of a JSON-lines file, ids in order of first appearance."""
    latest: dict[str, bytes] = {}
    with path.open("rb") as handle:
        for line in handle:
            try:
                row_id = str(json.loads(line)[id_key])
            except (ValueError, KeyError, TypeError):
                continue
            latest[row_id] = line if line.endswith(b"\n") else line + b"\n"
    return latest


def done_ids(path: str | Path, id_key: str = "id") -> set[str]:
    """Ids already done in an output file (CSV with an `id` column, or JSON lines).

    In JSON lines a row whose latest line is an error record (`"error"` set) is not done: a rerun
    retries it and appends the new line (the last line of an id is its result)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    if path.suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
            return {row[id_key] for row in reader if row.get(id_key) is not None}
    done = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                row_id = str(record[id_key])
            except (ValueError, KeyError, TypeError):
                continue
            if record.get("error"):
                done.discard(row_id)
            else:
                done.add(row_id)
    return done


def resolve_image(value: Any, root: Path) -> Any:
    """A manifest's relative image path, resolved against the manifest's folder (or `root`).
    URLs, data URIs, base64 and absolute paths are returned unchanged; empty cells become None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or "://" in value or value.startswith("data:") or os.path.isabs(value):
        return value
    candidate = root / value
    # Base64 has no '.', so only path-like strings are resolved (the error then names root/value).
    if candidate.exists() or "." in value:
        return str(candidate)
    return value


def distributed_env() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) as set by `torchrun` or `accelerate launch`; (0, 1, 0) alone."""
    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"Inconsistent RANK={rank} / WORLD_SIZE={world_size} in the environment.")
    return rank, world_size, local_rank


def default_device(local_rank: int = 0) -> str:
    import torch

    return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"


def part_path(output: Path, rank: int, world_size: int) -> Path:
    """The file rank `rank` of `world_size` writes: `captions.rank00001-of-00004.csv`."""
    return output.with_name(f"{output.stem}.rank{rank:05d}-of-{world_size:05d}{output.suffix}")


def part_paths(output: Path) -> list[Path]:
    return sorted(output.parent.glob(f"{output.stem}.rank*-of-*{output.suffix}"))


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def parse_dtype(name: str | None) -> Any:
    """`"auto"`, None, or a torch dtype name (`"bfloat16"`, `"float16"`, `"float32"`)."""
    if name in (None, "auto"):
        return "auto"
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"Unknown dtype {name!r}; use auto, float32, float16 or bfloat16.")
    return dtype
