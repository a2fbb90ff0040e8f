"""Batch inference with Ray Data: `multimodal-sentiment predict --engine ray`, or the two stage
classes in your own `ray.data` program.

```python
import ray
from multimodal_sentiment.inference.ray_engine import ClassifyPosts, DescribeImages

ds = ray.data.read_parquet("s3://bucket/posts/")                      # columns id, text, image
ds = ds.map_batches(DescribeImages, fn_constructor_kwargs={"model": "org/repo"}, batch_format="pandas",
                    batch_size=16, concurrency=4, num_gpus=1)         # the VLM stage (GPU pool)
ds = ds.map_batches(ClassifyPosts, fn_constructor_kwargs={"model": "org/repo"}, batch_format="pandas",
                    batch_size=64, concurrency=8, num_cpus=1)         # the classifier stage (CPUs)
ds.write_parquet("s3://bucket/predictions/")
```

Each stage is a callable class on pandas batches (`batch_format="pandas"`); other keyword
arguments: the column names (`text_column`, `image_column`, `description_column`, `id_column`),
`image_root` for relative image paths, `batch_size`, `return_evidence`, `return_modalities` and
the pipeline options of `predict` (`device`, `quantize`, ...: the fields of `PipelineOptions`).
Ray builds each once per actor, so the pipeline (and the captioner)
loads once per worker, not per batch. Stage 1 (`DescribeImages`) fills `image_description` for
rows that have an image and no description, with the model's image-to-text views (captioner /
OCR); stage 2 (`ClassifyPosts`) runs the classifier on (text, description) and adds the
prediction columns. The two stages scale separately: a few GPU actors can caption while many CPU
actors classify. Output columns: the id, `label`, `score`, `scores`, `image_description`,
`description_views`, `error` (plus `evidence` / `text_only` / `description_only` / `agreement`
on request); nested values are JSON strings, so every Ray writer (Parquet, CSV, JSON) takes them.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .predict import PipelineOptions

RESULT_COLUMNS = ("label", "score", "scores", "image_description", "description_views", "error")
OPTIONAL_COLUMNS = {"return_evidence": ("evidence",), "return_modalities": ("text_only", "description_only", "agreement")}
JSON_COLUMNS = ("scores", "description_views", "evidence", "text_only", "description_only")
DESCRIBED_VIEWS = "_described_views"


def missing_ray_message() -> str | None:
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return "--engine ray needs Ray Data: pip install 'multimodal-sentiment[ray]' (or pip install 'ray[data]')"
    return None


def _pipeline_options(stage: str, model: str | None, options: dict[str, Any]) -> PipelineOptions:
    """`PipelineOptions` from a stage's keyword arguments; a name it does not take raises, naming those it does."""
    from .predict import PipelineOptions

    known = [spec.name for spec in fields(PipelineOptions) if spec.name != "model"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(
            f"{stage} got unknown option(s) {unknown}; it takes the column names, image_root, batch_size, "
            f"return_evidence, return_modalities and the pipeline options {known}."
        )
    return PipelineOptions(model=model, **options)


def _cell(value: Any) -> Any:
    """A table cell as the pipeline wants it: None for missing, NaN or blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values in typed columns
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


class _Stage:
    def __init__(
        self,
        model: str | None = None,
        *,
        text_column: str = "text",
        image_column: str = "image",
        description_column: str = "image_description",
        id_column: str = "id",
        image_root: str | None = None,
        batch_size: int | None = None,
        return_evidence: bool = False,
        return_modalities: bool = False,
        **options: Any,
    ):
        from .predict import DEFAULT_BATCH_SIZE, load_pipeline

        self.options = _pipeline_options(type(self).__name__, model, options)
        self.text_column, self.image_column = text_column, image_column
        self.description_column, self.id_column = description_column, id_column
        self.image_root = Path(image_root) if image_root else Path.cwd()
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        self.return_evidence, self.return_modalities = return_evidence, return_modalities
        self.pipeline = load_pipeline(self.options)


class DescribeImages(_Stage):
    """Stage 1, for `ds.map_batches(DescribeImages, fn_constructor_kwargs={"model": ...})`: fills
    `image_description` of rows with an image and no description (a pandas batch in, out)."""

    def __call__(self, batch: Any) -> Any:
        from ..modeling.image_inputs import image_content_hash, load_image_input
        from .resumable import resolve_image

        pipe = self.pipeline
        settings = pipe._defaults
        if self.description_column not in batch:
            batch[self.description_column] = None
        batch[self.description_column] = batch[self.description_column].astype(object)
        views: list[Any] = [None] * len(batch)
        errors: list[Any] = [None] * len(batch)
        todo, images = [], []
        for position in range(len(batch)):
            row = batch.iloc[position]
            image = _cell(row.get(self.image_column))
            if image is None or _cell(row.get(self.description_column)) is not None or not settings.image_views:
                continue
            try:
                images.append(load_image_input(resolve_image(image, self.image_root), pipe.image_limits))
                todo.append(position)
            except Exception as err:  # recorded on the row, as predict's --on-error record does
                errors[position] = f"id {row.get(self.id_column)!r}: {err}"
        if images:
            described = pipe.describer.describe(
                images,
                settings.image_views,
                hashes=[image_content_hash(image) for image in images],
                prompt=settings.captioner_prompt,
                max_new_tokens=settings.captioner_max_new_tokens,
            )
            column = batch.columns.get_loc(self.description_column)
            for position, (text, used) in zip(todo, described, strict=True):
                batch.iat[position, column] = text or ""
                views[position] = json.dumps(used)
        batch[DESCRIBED_VIEWS] = views
        batch["_describe_error"] = errors
        return batch


class ClassifyPosts(_Stage):
    """Stage 2: the classifier on (text, image description); adds the prediction columns."""

    def __call__(self, batch: Any) -> Any:
        import pandas as pd

        posts, positions, out_rows = [], [], []
        for position in range(len(batch)):
            row = batch.iloc[position]
            out_rows.append({"id": str(row.get(self.id_column))})
            error = _cell(row.get("_describe_error"))
            if error is not None:
                out_rows[-1].update({name: None for name in RESULT_COLUMNS}, error=error, description_views="[]")
                continue
            text, description = _cell(row.get(self.text_column)), _cell(row.get(self.description_column))
            image = _cell(row.get(self.image_column)) if description is None else None
            if text is None and description is None and image is None:
                out_rows[-1].update({name: None for name in RESULT_COLUMNS}, description_views="[]")
                out_rows[-1]["error"] = f"id {out_rows[-1]['id']!r}: nothing to classify: no text, no image description"
                continue
            if image is not None:  # no stage 1 ran on it (or images are ignored): the pipeline decides
                from .resumable import resolve_image

                image = resolve_image(image, self.image_root)
            posts.append({"text": text, "image": image, "image_description": description})
            positions.append(position)
        results = self.pipeline(
            posts,
            batch_size=self.batch_size,
            return_evidence=self.return_evidence or None,
            return_modalities=self.return_modalities or None,
        ) if posts else []
        for position, result in zip(positions, results, strict=True):
            described = _cell(batch.iloc[position].get(DESCRIBED_VIEWS)) if DESCRIBED_VIEWS in batch else None
            if described is not None and result.get("error") is None:
                result["description_views"] = json.loads(described)  # stage 1 described it, not the user
            out_rows[position].update(_flatten(result))
        columns = ["id", *RESULT_COLUMNS]
        for flag, names in OPTIONAL_COLUMNS.items():
            if getattr(self, flag):
                columns += names
        return pd.DataFrame([{name: row.get(name) for name in columns} for row in out_rows], columns=columns)


def _flatten(result: dict[str, Any]) -> dict[str, Any]:
    flat = {key: value for key, value in result.items() if key != "index"}
    for key in JSON_COLUMNS:
        if key in flat and not isinstance(flat[key], str):
            flat[key] = json.dumps(flat[key], ensure_ascii=False)
    return flat


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """A Ray output row back to predict's JSON-lines record (JSON-string columns decoded)."""
    record = {}
    for key, value in row.items():
        if key in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, float) and math.isnan(value):
            value = None
        record[key] = value
    if record.get("error") is None:
        record.pop("error", None)
    return record


def read_posts(path: str, columns: dict[str, str]) -> Any:
    """A Ray Dataset of the posts file (CSV / TSV, JSON lines, Parquet; a file, a folder, or s3://...)."""
    import ray.data

    lowered = path.lower().rstrip("/")
    if lowered.endswith((".csv", ".tsv")):
        import pyarrow as pa
        from pyarrow import csv as pacsv

        # Every column as text, as predict reads it: ids like "007" stay "007".
        convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in columns.values()})
        parse = pacsv.ParseOptions(delimiter="\t" if lowered.endswith(".tsv") else ",")
        return ray.data.read_csv(path, convert_options=convert, parse_options=parse)
    if lowered.endswith((".jsonl", ".json", ".ndjson")):
        return ray.data.read_json(path, lines=not lowered.endswith(".json"))
    if lowered.endswith(".parquet") or Path(path).is_dir():
        return ray.data.read_parquet(path)
    raise SystemExit(f"predict --engine ray: cannot tell the format of {path!r}: give a .csv, .tsv, .jsonl, .json or .parquet")


def run(
    options: PipelineOptions,
    input_path: str | Path | None,
    output: str | Path,
    *,
    batch_size: int | None = None,
    return_evidence: bool = False,
    return_modalities: bool = False,
    id_column: str = "id",
    text_column: str = "text",
    image_column: str = "image",
    description_column: str = "image_description",
    image_root: str | None = None,
    limit: int | None = None,
    overwrite: bool = False,
    allow_errors: bool = False,
    ray_address: str | None = None,
    ray_cpus: int | None = None,
    ray_actors: int = 1,
    ray_gpus_per_captioner: float = 0,
) -> int:
    """`predict --engine ray`: stage 1 and stage 2 over the posts at `input_path`, written to
    `output` (a .jsonl file, or a folder / other suffix in Ray's own writers). Returns the exit status."""
    from .predict import DEFAULT_BATCH_SIZE

    problem = missing_ray_message()
    if problem:
        raise SystemExit(f"predict: {problem}")
    if input_path is None:
        raise SystemExit("predict --engine ray: give --input (a file or folder of posts); --dataset runs in-process")
    import ray

    output = Path(output)
    single_file = output.suffix.lower() == ".jsonl"
    if single_file and output.exists() and output.stat().st_size > 0 and not overwrite:
        raise SystemExit(f"predict --engine ray: {output} exists (a Ray run does not resume): --overwrite, or another --output")
    if not single_file and output.exists() and any(output.iterdir()) and not overwrite:
        raise SystemExit(f"predict --engine ray: {output} is a non-empty folder: --overwrite, or another --output")

    if not ray.is_initialized():
        ray.init(address=ray_address, num_cpus=ray_cpus, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # output rows in input order
    context.enable_progress_bars = False
    columns = {"id": id_column, "text": text_column, "image": image_column, "description": description_column}
    input_path = str(input_path)
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    shared = {
        "model": options.model,
        "text_column": text_column,
        "image_column": image_column,
        "description_column": description_column,
        "id_column": id_column,
        "image_root": str(Path(image_root or Path(input_path).parent).resolve()) if "://" not in input_path else image_root,
        "batch_size": batch_size,
        "return_evidence": return_evidence,
        "return_modalities": return_modalities,
        **{name: getattr(options, name) for name in STAGE_OPTIONS},
    }
    dataset = read_posts(input_path, columns)
    if limit is not None:
        dataset = dataset.limit(limit)
    actors = max(1, ray_actors)
    # Each stage's actors hold their CPUs for the whole run; reading and writing need CPUs too,
    # so on a small cluster (a laptop, a CI box) the actors share what is left after one.
    total_cpus = float(ray.cluster_resources().get("CPU", 1))
    cpus_per_actor = min(1.0, max(0.1, (total_cpus - 1) / (2 * actors)))
    dataset = dataset.map_batches(
        DescribeImages, fn_constructor_kwargs=shared, batch_size=batch_size, batch_format="pandas",
        concurrency=actors, num_cpus=cpus_per_actor, num_gpus=ray_gpus_per_captioner,
    )
    dataset = dataset.map_batches(
        ClassifyPosts, fn_constructor_kwargs=shared, batch_size=batch_size, batch_format="pandas",
        concurrency=actors, num_cpus=cpus_per_actor,
    )
    failures = 0
    if single_file:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as handle:
            for row in dataset.iter_rows():
                record = unflatten(dict(row))
                failures += record.get("error") is not None
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        suffix = output.suffix.lower()
        writer = {".csv": dataset.write_csv, ".json": dataset.write_json, ".jsonl": dataset.write_json}.get(
            suffix, dataset.write_parquet
        )
        writer(str(output))
    print(f"predict: wrote {output} (Ray Data, {actors} actor(s) per stage)", file=sys.stderr)
    if failures:
        print(f"predict: {failures} row(s) could not be classified; their lines carry an 'error'", file=sys.stderr)
        return 0 if allow_errors else 1
    return 0


# The PipelineOptions fields run() hands each stage (besides `model`; the Ray stages do not use
# predict's --description_cache).
STAGE_OPTIONS = (
    "revision", "device", "dtype", "captioner", "captioner_revision", "captioner_prompt",
    "captioner_max_new_tokens", "image_views", "on_error", "trust_remote_code", "quantize", "quantize_captioner",
)  # fmt: skip


__all__ = ["DescribeImages", "ClassifyPosts", "read_posts", "run", "unflatten"]
