"""`multimodal-sentiment predict`: run the multimodal-sentiment pipeline over a file of posts.

```bash
multimodal-sentiment predict path/to/checkpoint --input posts.jsonl --output predictions.jsonl --batch-size 16
multimodal-sentiment predict org/repo --input posts.csv --output out.jsonl --return-evidence --captioner-prompt ""
```

Input: JSON lines or CSV with any of `text`, `image` (path relative to the input file, URL,
...), `image_description`, and an optional `id` (default: the row number). Output: one JSON
object per line, `{"id": ..., "label": ..., "score": ..., "scores": {...}, "image_description": ...}`
(plus `evidence` / `text_only` / `description_only` / `agreement` on request). A bad row gets
`{"id": ..., "error": "..."}` and the run goes on (`--on-error raise` stops instead).

Resuming: results are appended as they come; a restarted run skips ids already in the output
and retries the rows whose last line is an error (the last line of an id is its result). A
damaged line (a kill mid-write) is removed and its row done again. Errors name the row by its
number in the input file (counted from 0, like the default ids) and its id, whatever run wrote them.

Several processes: under `torchrun` / `accelerate launch` each rank takes every WORLD_SIZE-th
row and writes its own part file next to --output (`predictions.rank00000-of-00002.jsonl`);
`multimodal-sentiment predict --merge -o predictions.jsonl` then merges them, every id once.
`--description-cache FILE` keeps image descriptions across runs, so a restart never re-runs
the VLM on images it already described.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..data.schema import read_table
from .resumable import (
    default_device,
    distributed_env,
    done_ids,
    drop_damaged_lines,
    drop_torn_tail,
    merge_json_lines,
    parse_dtype,
    part_path,
    part_paths,
    resolve_image,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multimodal-sentiment predict",
        description="Classify every post of a CSV / JSON-lines file with the multimodal-sentiment pipeline.",
    )
    parser.add_argument("model", nargs="?", default=None, help="checkpoint folder or Hub id")
    parser.add_argument(
        "--input", "-i", default=None, help=".jsonl, .json, .csv or .tsv with text / image / image_description"
    )
    parser.add_argument("--output", "-o", required=True, help="output .jsonl (appended to; resumable)")
    parser.add_argument("--revision", default=None, help="model revision (branch, tag or commit)")
    parser.add_argument("--batch-size", type=int, default=8, help="posts per batch, for the VLM and the classifier")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--dtype", default="auto", help="auto, float32, float16 or bfloat16 (both stages)")
    parser.add_argument("--captioner", default=None, help="override the captioner named in the model's config")
    parser.add_argument("--captioner-revision", default=None)
    parser.add_argument("--captioner-prompt", default=None, help="override the captioner prompt ('' for none)")
    parser.add_argument("--captioner-max-new-tokens", type=int, default=None)
    parser.add_argument("--image-views", default=None, help="comma-separated views, e.g. caption,ocr")
    parser.add_argument("--description-cache", default=None, help="JSON-lines file that persists image descriptions")
    parser.add_argument("--return-evidence", action="store_true", help="add the selected evidence tokens")
    parser.add_argument("--return-modalities", action="store_true", help="add text-only / description-only predictions")
    parser.add_argument("--on-error", choices=("record", "raise"), default="record")
    parser.add_argument(
        "--quantize", choices=("int8",), default=None, help="dynamic int8 of the classifier (CPU, float32 only)"
    )
    parser.add_argument(
        "--quantize-captioner", choices=("int8",), default=None, help="dynamic int8 of the captioner (CPU only)"
    )
    parser.add_argument("--trust-remote-code", action="store_true", help="run the checkpoint's own code files")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--image-column", default="image")
    parser.add_argument("--description-column", default="image_description")
    parser.add_argument("--image-root", default=None, help="folder relative image paths are resolved against")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rows (a quick try)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="merge the per-rank part files of a torchrun / accelerate run into --output",
    )
    return parser


def _cell(row: dict[str, Any], column: str) -> Any:
    value = row.get(column)
    # CSV has no null: an empty cell is a missing value.
    return None if isinstance(value, str) and not value.strip() else value


def load_pipeline(args: argparse.Namespace) -> Any:
    """The installed package's pipeline class on the given checkpoint (its config's
    `custom_pipelines` would otherwise demand trust_remote_code for our own code)."""
    from transformers import pipeline

    from ..modeling.pipeline_multimodal_sentiment import MultimodalSentimentPipeline

    options: dict[str, Any] = {
        "captioner_prompt": args.captioner_prompt,
        "captioner_revision": args.captioner_revision,
        "captioner_max_new_tokens": args.captioner_max_new_tokens,
        "image_views": args.image_views.split(",") if args.image_views else None,
    }
    options = {key: value for key, value in options.items() if value is not None}
    if args.captioner:
        options["captioner"] = args.captioner
    if args.description_cache:
        options["description_cache_file"] = args.description_cache
    if getattr(args, "quantize", None):
        options["quantize"] = args.quantize
    if getattr(args, "quantize_captioner", None):
        options["captioner_quantize"] = args.quantize_captioner
    return pipeline(
        "multimodal-sentiment",
        model=args.model,
        revision=args.revision,
        pipeline_class=MultimodalSentimentPipeline,
        trust_remote_code=args.trust_remote_code or None,
        device=args.device or default_device(),
        dtype=parse_dtype(args.dtype),
        on_error=args.on_error,
        **options,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output = Path(args.output)
    if args.merge:
        return merge_parts(output)
    if args.input is None:
        build_parser().error("--input is required (a .jsonl / .csv file of posts), except with --merge")
    if args.model is None:
        build_parser().error("give the model: a checkpoint folder or a Hub id")
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")
    from tqdm.auto import tqdm

    source = Path(args.input)
    if not source.is_file():
        where = "is a directory, not a file" if source.is_dir() else f"not found (looked for {source.resolve()})"
        raise SystemExit(f"predict: input file {str(source)!r} {where}; give a .jsonl, .json, .csv or .tsv file")
    rows = read_table(source)
    rows = rows[: args.limit] if args.limit is not None else rows
    ids = [str(row.get(args.id_column, number)) for number, row in enumerate(rows)]
    if len(set(ids)) != len(ids):
        raise SystemExit(
            f"predict: {source} has duplicate ids in column {args.id_column!r}; ids must be unique to resume"
        )
    rank, world_size, local_rank = distributed_env()
    numbered = list(enumerate(zip(ids, rows, strict=True)))[rank::world_size]  # this rank's share
    output = part_path(output, rank, world_size) if world_size > 1 else output
    open_output(output)
    drop_torn_tail(output)
    dropped = drop_damaged_lines(output)
    if dropped:
        print(
            f"predict: removed {len(dropped)} damaged line(s) from {output} (line {', '.join(map(str, dropped[:10]))}"
            f"{' ...' if len(dropped) > 10 else ''}); their rows are done again",
            file=sys.stderr,
        )
    done = done_ids(output)
    todo = [(number, row_id, row) for number, (row_id, row) in numbered if row_id not in done]
    if not todo:
        print(f"predict: all {len(numbered)} rows already in {output}", file=sys.stderr)
        return 0
    problem = model_problem(args.model)
    if problem:
        raise SystemExit(f"predict: {problem}")
    if args.device is None and world_size > 1:
        args.device = default_device(local_rank)

    try:
        classifier = load_pipeline(args)
    except ValueError as err:
        if "quantize" not in str(err):
            raise
        raise SystemExit(f"predict: {err}") from None  # --quantize where it does not apply
    root = Path(args.image_root) if args.image_root else source.parent
    pending: deque[tuple[int, str]] = deque()

    def posts() -> Iterator[dict[str, Any]]:
        for number, row_id, row in todo:
            pending.append((number, row_id))  # results come back in input order: this pairs them with rows
            yield {
                "text": _cell(row, args.text_column),
                "image": resolve_image(_cell(row, args.image_column), root),
                "image_description": _cell(row, args.description_column),
            }

    results = classifier(
        posts(),
        batch_size=args.batch_size,
        return_evidence=args.return_evidence or None,
        return_modalities=args.return_modalities or None,
    )
    failures = 0
    with (
        output.open("a", encoding="utf-8") as handle,
        tqdm(
            total=len(numbered),
            initial=len(numbered) - len(todo),
            desc=f"predict [rank {rank}]" if world_size > 1 else "predict",
            unit="post",
        ) as bar,
    ):
        for result in _renaming_raised_errors(results, todo):
            number, row_id = pending.popleft()
            index = result.get("index")
            result = {key: value for key, value in result.items() if key != "index"}
            if result.get("error") is not None:
                failures += 1
                result["error"] = name_row(result["error"], index, number, row_id)
            handle.write(json.dumps({"id": row_id, **result}, ensure_ascii=False) + "\n")
            handle.flush()
            bar.update(1)
    if failures:
        print(
            f"predict: {failures} row(s) could not be classified; their output lines carry an 'error'", file=sys.stderr
        )
    return 0


def _renaming_raised_errors(results: Any, todo: list[tuple[int, str, Any]]) -> Iterator[dict[str, Any]]:
    """`--on-error raise`: the error that stops the run names the row and id too."""
    from ..modeling.pipeline_multimodal_sentiment import MultimodalInputError

    try:
        yield from results
    except MultimodalInputError as err:
        if err.index is None or not 0 <= err.index < len(todo):
            raise
        number, row_id, _ = todo[err.index]
        raise MultimodalInputError(name_row(str(err), err.index, number, row_id), err.index) from err


def name_row(message: str, index: int | None, number: int, row_id: str) -> str:
    """The pipeline names a bad post by its place in this run's stream ("input 204: ..."); the
    output names the row of the input file and its id, the same in every run of a resume."""
    prefix = f"input {index}: "
    rest = message[len(prefix) :] if index is not None and message.startswith(prefix) else message
    return f"row {number} (id {row_id!r}): {rest}"


def open_output(output: Path) -> None:
    """Refuse an output that cannot be appended to, before any model is loaded."""
    if output.is_dir():
        raise SystemExit(
            f"predict: --output {str(output)!r} is a directory; give a file path such as {str(output / 'predictions.jsonl')!r}"
        )
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf-8"):
            pass
    except OSError as err:
        blocker = next((folder for folder in output.parents if folder.exists()), None)
        reason = err.strerror or str(err)
        if blocker is not None and not blocker.is_dir():
            reason = f"{str(blocker)!r} is a file, not a folder"
        raise SystemExit(f"predict: cannot write --output {str(output)!r} ({reason})") from None


def model_problem(model: str) -> str | None:
    """Why `model` can be neither a checkpoint folder nor a Hub id, or None. A path that does not
    exist would otherwise reach the Hub client and fail with 'Repo id must be in the form ...'."""
    path = Path(model).expanduser()
    if path.is_dir():
        return None
    if path.exists():
        return f"model {model!r} is a file; give the checkpoint folder (with config.json) or a Hub id like org/name"
    looks_like_path = model.startswith((".", "/", "~")) or model.endswith("/") or "\\" in model or model.count("/") > 1
    if looks_like_path:
        return f"model folder {model!r} not found (looked for {path.resolve()}); give a checkpoint folder or a Hub id like org/name"
    return None


def merge_parts(output: Path) -> int:
    """`--merge`: the part files of a multi-process run into `output`, every id once."""
    parts = [part for part in part_paths(output) if part != output]
    if not parts:
        raise SystemExit(f"predict: no part files {output.stem}.rank*-of-*{output.suffix} next to {output}")
    open_output(output)
    added = merge_json_lines(output, parts)
    print(f"predict: merged {added} rows from {len(parts)} part files into {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
