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
and retries the rows whose last line is an error (the last line of an id is its result).
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
from .resumable import default_device, done_ids, drop_torn_tail, parse_dtype, resolve_image


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multimodal-sentiment predict",
        description="Classify every post of a CSV / JSON-lines file with the multimodal-sentiment pipeline.",
    )
    parser.add_argument("model", help="checkpoint folder or Hub id")
    parser.add_argument(
        "--input", "-i", required=True, help=".jsonl, .json, .csv or .tsv with text / image / image_description"
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
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")
    from tqdm.auto import tqdm

    source = Path(args.input)
    rows = read_table(source)
    rows = rows[: args.limit] if args.limit is not None else rows
    ids = [str(row.get(args.id_column, number)) for number, row in enumerate(rows)]
    if len(set(ids)) != len(ids):
        raise SystemExit(
            f"predict: {source} has duplicate ids in column {args.id_column!r}; ids must be unique to resume"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    drop_torn_tail(output)
    done = done_ids(output)
    todo = [(row_id, row) for row_id, row in zip(ids, rows, strict=True) if row_id not in done]
    if not todo:
        print(f"predict: all {len(rows)} rows already in {output}", file=sys.stderr)
        return 0

    try:
        classifier = load_pipeline(args)
    except ValueError as err:
        if "quantize" not in str(err):
            raise
        raise SystemExit(f"predict: {err}") from None  # --quantize where it does not apply
    root = Path(args.image_root) if args.image_root else source.parent
    pending: deque[str] = deque()

    def posts() -> Iterator[dict[str, Any]]:
        for row_id, row in todo:
            pending.append(row_id)  # results come back in input order: this pairs them with ids
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
        tqdm(total=len(rows), initial=len(rows) - len(todo), desc="predict", unit="post") as bar,
    ):
        for result in results:
            result = {key: value for key, value in result.items() if key != "index"}
            failures += result.get("error") is not None
            handle.write(json.dumps({"id": pending.popleft(), **result}, ensure_ascii=False) + "\n")
            handle.flush()
            bar.update(1)
    if failures:
        print(
            f"predict: {failures} row(s) could not be classified; their output lines carry an 'error'", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
