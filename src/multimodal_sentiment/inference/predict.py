"""`multimodal-sentiment predict`: run the multimodal-sentiment pipeline over a file of posts.

```bash
multimodal-sentiment predict --input posts.csv --output predictions.jsonl  # the embedded default model
multimodal-sentiment predict path/to/checkpoint --input posts.jsonl --output predictions.jsonl --batch-size 16
multimodal-sentiment predict org/repo --input posts.csv --output out.jsonl --return-evidence --captioner-prompt ""
```

Input: JSON lines or CSV with any of `text`, `image` (path relative to the input file, URL,
...), `image_description`, and an optional `id` (default: the row number). Output: one JSON
object per line, `{"id": ..., "label": ..., "score": ..., "scores": {...}, "image_description": ...}`
(plus `evidence` / `text_only` / `description_only` / `agreement` on request). A bad row gets
`{"id": ..., "error": "..."}` and the run goes on (`--on-error raise` stops instead); the run
then ends with a summary (how many rows failed, which rows and ids) and exit status 1
(`--allow-errors`: 0). `--keep-columns text,label` copies input columns into every line (a
name the output already uses, such as `label`, becomes `input_label`).

One output, one set of settings: `<output>.settings.json` records the model, captioner, views,
columns and output options of the run that wrote it; a rerun with other settings is refused
(give another --output, or `--overwrite` to start the file afresh), a rerun with the same ones
resumes.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cli.args import ArgumentParser, CommaList, options_from
from ..data.options import DatasetOptions, add_dataset_arguments, dataset_options_from
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

DEFAULT_BATCH_SIZE = 8  # posts per batch: predict's --batch_size and the Ray stages'


@dataclass
class PipelineOptions:
    """How `load_pipeline` builds the pipeline: predict's model and pipeline flags, typed (`main`
    fills it from the command line; the Ray stages take the same names as keyword arguments)."""

    model: str | None = None  # checkpoint folder or Hub id; None: the embedded default model
    revision: str | None = None
    device: str | None = None  # None: cuda if available, else cpu
    dtype: str = "auto"
    captioner: str | None = None  # None: the captioner named in the model's config
    captioner_revision: str | None = None
    captioner_prompt: str | None = None
    captioner_max_new_tokens: int | None = None
    image_views: list[str] | None = None  # None: the model's image_views
    description_cache: str | None = None
    quantize: str | None = None
    quantize_captioner: str | None = None
    trust_remote_code: bool = False
    on_error: str = "record"


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="multimodal-sentiment predict",
        description="Classify every post of a CSV / JSON-lines file with the multimodal-sentiment pipeline.",
    )
    parser.add_argument(
        "model", nargs="?", default=None, help="checkpoint folder or Hub id (default: the embedded default model)"
    )
    parser.add_argument(
        "--input", "-i", default=None, help=".jsonl, .json, .csv or .tsv with text / image / image_description"
    )
    parser.add_argument("--output", "-o", required=True, help="output .jsonl (appended to; resumable)")
    parser.add_argument("--revision", default=None, help="model revision (branch, tag or commit)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="posts per batch, for the VLM and the classifier")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--dtype", default=PipelineOptions.dtype, help="auto, float32, float16 or bfloat16 (both stages)")
    parser.add_argument("--captioner", default=None, help="override the captioner named in the model's config")
    parser.add_argument("--captioner-revision", default=None)
    parser.add_argument("--captioner-prompt", default=None, help="override the captioner prompt ('' for none)")
    parser.add_argument("--captioner-max-new-tokens", type=int, default=None)
    parser.add_argument(
        "--image_views", nargs="+", action=CommaList, default=None, help="views in order, e.g. caption ocr (or caption,ocr)"
    )
    parser.add_argument("--description-cache", default=None, help="JSON-lines file that persists image descriptions")
    parser.add_argument("--return-evidence", action="store_true", help="add the selected evidence tokens")
    parser.add_argument("--return-modalities", action="store_true", help="add text-only / description-only predictions")
    parser.add_argument("--on-error", choices=("record", "raise"), default=PipelineOptions.on_error)
    parser.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local: this process (resumable); ray: Ray Data, the captioner and the classifier as separate stages "
        "over a local or remote Ray cluster (docs/serving.md)",
    )
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--ray-cpus", type=int, default=None, help="CPUs of a local Ray (default: all)")
    parser.add_argument("--ray-actors", type=int, default=1, help="actors per stage (each loads the pipeline once)")
    parser.add_argument("--ray-gpus-per-captioner", type=float, default=0, help="GPUs per image-description actor")
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
        "--keep-columns",
        default=None,
        help="comma-separated input columns copied into every output line (e.g. text,label; a name the "
        "output already uses gets an 'input_' prefix)",
    )
    parser.add_argument(
        "--allow-errors",
        action="store_true",
        help="exit 0 even when some rows could not be classified (default: exit status 1)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start --output afresh; without it, a rerun with other settings than the file's is refused",
    )
    parser.add_argument("--verbose", action="store_true", help="show transformers' notices and loading bars")
    add_dataset_arguments(parser)
    parser.add_argument(
        "--split", default="test", help="with --dataset: the split to classify (train, validation, test)"
    )
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


def load_pipeline(options: PipelineOptions) -> Any:
    """The installed package's pipeline class on the given checkpoint (its config's
    `custom_pipelines` would otherwise demand trust_remote_code for our own code)."""
    from transformers import pipeline

    from ..modeling.checkpoint_code import TASK
    from ..modeling.pipeline_multimodal_sentiment import MultimodalSentimentPipeline

    settings: dict[str, Any] = {
        "captioner_prompt": options.captioner_prompt,
        "captioner_revision": options.captioner_revision,
        "captioner_max_new_tokens": options.captioner_max_new_tokens,
        "image_views": list(options.image_views) if options.image_views else None,
    }
    settings = {key: value for key, value in settings.items() if value is not None}
    if options.captioner:
        settings["captioner"] = options.captioner
    if options.description_cache:
        settings["description_cache_file"] = options.description_cache
    if options.quantize:
        settings["quantize"] = options.quantize
    if options.quantize_captioner:
        settings["captioner_quantize"] = options.quantize_captioner
    model = options.model
    if model is None:
        from ..default_model import default_model_path

        model = str(default_model_path())  # the embedded default, offline
    return pipeline(
        TASK,
        model=model,
        revision=options.revision,
        pipeline_class=MultimodalSentimentPipeline,
        trust_remote_code=options.trust_remote_code or None,
        device=options.device or default_device(),
        dtype=parse_dtype(options.dtype),
        on_error=options.on_error,
        **settings,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output = Path(args.output)
    if args.merge:
        return merge_parts(output)
    if (args.input is None) == (args.dataset is None):
        build_parser().error(
            "give --input (a .jsonl / .csv file of posts) or --dataset (a dataset split, see --split), "
            "one of them, except with --merge"
        )
    if args.model is None:
        from ..default_model import default_model_path

        args.model = str(default_model_path())  # the embedded default, offline
    if args.verbose:
        from ..quiet import set_verbose

        set_verbose(True)
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")
    if args.engine == "ray":
        from .ray_engine import run as run_with_ray

        return run_with_ray(
            options_from(PipelineOptions, args),
            args.input,
            args.output,
            batch_size=args.batch_size,
            return_evidence=args.return_evidence,
            return_modalities=args.return_modalities,
            id_column=args.id_column,
            text_column=args.text_column,
            image_column=args.image_column,
            description_column=args.description_column,
            image_root=args.image_root,
            limit=args.limit,
            overwrite=args.overwrite,
            allow_errors=args.allow_errors,
            ray_address=args.ray_address,
            ray_cpus=args.ray_cpus,
            ray_actors=args.ray_actors,
            ray_gpus_per_captioner=args.ray_gpus_per_captioner,
        )
    from tqdm.auto import tqdm

    if args.dataset is not None:
        source = Path(f"{args.dataset} ({args.split})")
        try:
            rows = dataset_rows(dataset_options_from(args), args.split)
        except (ValueError, KeyError, FileNotFoundError) as err:
            raise SystemExit(f"predict: {err}") from None
        image_root = Path.cwd()  # the loaders' image paths are usable as they are
    else:
        source = Path(args.input)
        if not source.is_file():
            where = "is a directory, not a file" if source.is_dir() else f"not found (looked for {source.resolve()})"
            raise SystemExit(f"predict: input file {str(source)!r} {where}; give a .jsonl, .json, .csv or .tsv file")
        rows = read_table(source)
        image_root = source.parent
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
    guard_settings(output, run_settings(vars(args)), overwrite=args.overwrite)
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
        classifier = load_pipeline(options_from(PipelineOptions, args))
    except ValueError as err:
        if "quantize" not in str(err):
            raise
        raise SystemExit(f"predict: {err}") from None  # --quantize where it does not apply
    root = Path(args.image_root) if args.image_root else image_root
    keep = kept_columns(args.keep_columns, [row for _, _, row in todo])
    rows_by_number = {number: row for number, _, row in todo} if keep else {}
    describe = dataset_describer(classifier, args.image_views) if args.dataset is not None else None
    pending: deque[tuple[int, str]] = deque()

    def posts() -> Iterator[dict[str, Any]]:
        for number, row_id, row in todo:
            pending.append((number, row_id))  # results come back in input order: this pairs them with rows
            yield {
                "text": _cell(row, args.text_column),
                "image": resolve_image(_cell(row, args.image_column), root),
                "image_description": _cell(row, args.description_column) or (describe(row) if describe else None),
            }

    results = classifier(
        posts(),
        batch_size=args.batch_size,
        return_evidence=args.return_evidence or None,
        return_modalities=args.return_modalities or None,
    )
    failures: list[str] = []
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
                failures.append(f"row {number} (id {row_id!r})")
                result["error"] = name_row(result["error"], index, number, row_id)
            if keep:
                result = {**copy_columns(rows_by_number[number], keep, result), **result}
            handle.write(json.dumps({"id": row_id, **result}, ensure_ascii=False) + "\n")
            handle.flush()
            bar.update(1)
    if failures:
        shown = ", ".join(failures[:10]) + (f" and {len(failures) - 10} more" if len(failures) > 10 else "")
        print(
            f"predict: {len(failures)} of {len(todo)} row(s) could not be classified: {shown}. Their lines in "
            f"{output} carry an 'error'; a rerun retries them"
            + (" (--allow-errors: exit status 0)." if args.allow_errors else "; exit status 1 (--allow-errors: 0)."),
            file=sys.stderr,
        )
        return 0 if args.allow_errors else 1
    return 0


# What decides the lines of an output file: a rerun into the same file must use the same.
SETTINGS_FIELDS = (
    "model", "revision", "dtype", "captioner", "captioner_revision", "captioner_prompt", "captioner_max_new_tokens",
    "image_views", "return_evidence", "return_modalities", "quantize", "quantize_captioner", "text_column",
    "image_column", "description_column", "id_column", "keep_columns", "dataset", "split",
)  # fmt: skip


def settings_path(output: Path) -> Path:
    return output.with_name(output.name + ".settings.json")


def run_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The `SETTINGS_FIELDS` of a run, from predict's options by name (`vars(args)`); a model
    folder is recorded by its absolute path, so a rerun from another folder still matches."""
    settings = {name: options.get(name) for name in SETTINGS_FIELDS}
    model = Path(str(options["model"])).expanduser()
    settings["model"] = str(model.resolve()) if model.is_dir() else options["model"]
    return settings


def guard_settings(output: Path, settings: dict[str, Any], overwrite: bool = False) -> None:
    """Results made with other settings never mix into one file: `<output>.settings.json` records
    the settings of the run that wrote `output`; a rerun with different ones is refused (or, with
    `--overwrite`, the file is started afresh). Resuming with the same settings appends."""
    recorded_path = settings_path(output)
    if overwrite:
        output.write_text("", encoding="utf-8")
    elif output.stat().st_size > 0 and recorded_path.is_file():
        try:
            recorded = json.loads(recorded_path.read_text(encoding="utf-8"))
        except ValueError:
            recorded = {}
        changed = [
            f"{name}: {recorded.get(name)!r} -> {settings.get(name)!r}"
            for name in SETTINGS_FIELDS
            if recorded.get(name) != settings.get(name)
        ]
        if changed:
            raise SystemExit(
                f"predict: {output} holds results made with other settings ({'; '.join(changed)}). "
                "Give another --output, rerun with the same settings to resume, or --overwrite to start it afresh."
            )
    recorded_path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def kept_columns(spec: str | None, rows: list[dict[str, Any]]) -> list[str]:
    """`--keep-columns a,b`: the names, each present in the input (else a clear error)."""
    names = [name.strip() for name in (spec or "").split(",") if name.strip()]
    present = set().union(*(row.keys() for row in rows)) if rows else set()
    missing = [name for name in names if rows and name not in present]
    if missing:
        raise SystemExit(
            f"predict: --keep-columns names column(s) the input does not have: {missing}; "
            f"its columns: {sorted(present)[:20]}"
        )
    return names


def copy_columns(row: dict[str, Any], names: list[str], result: dict[str, Any]) -> dict[str, Any]:
    """The kept input columns of `row`; a name the output already uses gets an `input_` prefix."""
    return {(f"input_{name}" if name in result or name == "id" else name): row.get(name) for name in names}


def dataset_rows(options: DatasetOptions, split: str) -> list[dict[str, Any]]:
    """`--dataset`: the rows of one split through the dataset loaders (with the loader options):
    `id`, `text`, `image` (the file's path, or None) and the image-to-text views it carries."""
    from datasets import Image

    from ..data import get_split, load_dataset_from_options
    from ..data.schema import VIEW_COLUMNS

    rows_of_split = get_split(load_dataset_from_options(options), split)
    if "image" in rows_of_split.column_names:
        rows_of_split = rows_of_split.cast_column("image", Image(decode=False))
    rows = []
    for row in rows_of_split:
        image = row.get("image") or {}
        rows.append(
            {"id": row["id"], "text": row["text"], "image": image.get("path"), **{v: row.get(v) for v in VIEW_COLUMNS}}
        )
    return rows


def dataset_describer(classifier: Any, image_views: Sequence[str] | None = None) -> Any:
    """`--dataset`: a row's description from the views the data carries, in the model's
    `image_views` order (or `image_views`, as --image_views gives them); None when it carries none
    (the pipeline then describes the image itself, if there is one)."""
    from ..modeling.text_pairs import compose_description

    spec = classifier.input_spec  # the model's views and separator, read from its config once
    views = list(image_views) if image_views else list(spec.image_views)
    return lambda row: compose_description(row, views, spec.view_separator) if views else None


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
