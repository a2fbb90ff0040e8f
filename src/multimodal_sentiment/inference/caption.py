"""`multimodal-sentiment caption`: describe every image of a folder or manifest, resumably.

```bash
multimodal-sentiment caption photos/ --output descriptions/captions.csv --batch-size 16
multimodal-sentiment caption manifest.jsonl --output descriptions/ocr.csv --view ocr
```

Input: an image folder (searched recursively; an image's id is its path relative to the folder,
without suffix, or with it where two images would otherwise share an id: `a.jpg`, `a.png`) or
a CSV / JSON-lines manifest with `id,image` columns (image: a path relative to the manifest, a
URL, ...). Output: CSV `id,caption` (or `id,ocr_text` with `--view ocr`), the
layout the dataset loaders read from a `descriptions/` folder (`captions.csv`, `ocr.csv`).

Resuming: rows are appended batch by batch; a restarted run skips ids already in the output
(a half-written last row from a kill is dropped and redone). Images that cannot be read are
listed in `<output>.errors.jsonl` and retried on the next run; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..cli.args import ArgumentParser
from ..data.schema import DESCRIPTION_FILES, IMAGE_SUFFIXES, TABLE_SUFFIXES, read_table
from .resumable import (
    chunks,
    default_device,
    distributed_env,
    done_ids,
    drop_torn_tail,
    parse_dtype,
    part_path,
    part_paths,
    resolve_image,
)

DISTRIBUTED_HELP = """\
Several GPUs or processes: launch the same command with torchrun or accelerate. Each rank
takes every WORLD_SIZE-th image (by RANK) and writes its own part file next to --output
(captions.rank00000-of-00004.csv, ...), resumable like a single run. Then merge the parts:

  torchrun --nproc-per-node 4 --no-python multimodal-sentiment caption photos/ -o captions.csv
  accelerate launch --num_processes 4 -m multimodal_sentiment.inference.caption photos/ -o captions.csv
  multimodal-sentiment caption --merge -o captions.csv

Each rank uses cuda:LOCAL_RANK when CUDA is available (override with --device).
"""


@dataclass(frozen=True)
class ImageItem:
    id: str
    image: str


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="multimodal-sentiment caption",
        description="Describe every image of a folder or manifest with a VLM captioner (or OCR).",
        epilog=DISTRIBUTED_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", nargs="?", help="image folder, or a .csv/.jsonl manifest with id,image columns")
    parser.add_argument("--output", "-o", required=True, help="output CSV (id,caption or id,ocr_text)")
    parser.add_argument("--view", choices=sorted(DESCRIPTION_FILES), default="caption", help="caption (VLM) or ocr")
    parser.add_argument("--captioner", default="Salesforce/blip-image-captioning-base", help="model id or folder")
    parser.add_argument("--revision", default=None, help="captioner revision (branch, tag or commit); pin it")
    parser.add_argument("--prompt", default="a picture of", help="text prefix / chat message; '' for none")
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument(
        "--generate-kwargs", default=None, help="extra generate() settings as JSON, e.g. '{\"num_beams\": 3}'"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="images per generate call")
    parser.add_argument("--device", default=None, help="default: cuda:LOCAL_RANK if available, else cpu")
    parser.add_argument("--dtype", default="auto", help="auto, float32, float16 or bfloat16")
    parser.add_argument("--trust-remote-code", action="store_true", help="for captioners with custom code")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--image-column", default="image")
    parser.add_argument("--image-root", default=None, help="folder relative image paths are resolved against")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images (a quick try)")
    parser.add_argument("--merge", action="store_true", help="merge the per-rank part files into --output")
    return parser


def list_images(
    source: Path, id_column: str = "id", image_column: str = "image", image_root: Path | None = None
) -> list[ImageItem]:
    """Every image of a folder (sorted, so every rank sees the same order) or a manifest."""
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        names = [p.relative_to(source).as_posix() for p in files]
        return [ImageItem(item_id, str(p)) for item_id, p in zip(folder_ids(names), files, strict=True)]
    if source.is_file() and source.suffix in TABLE_SUFFIXES:
        layout = f"columns {id_column},{image_column} (image: a path relative to the manifest, or a URL)"
        rows = read_table(source, [id_column, image_column], layout)
        root = image_root or source.parent
        items, seen = [], set()
        for row in rows:
            item_id = str(row[id_column]).strip()
            if item_id in seen:
                print(f"caption: duplicate id {item_id!r} in {source}; keeping the first", file=sys.stderr)
                continue
            seen.add(item_id)
            items.append(ImageItem(item_id, resolve_image(row[image_column], root)))
        return items
    raise FileNotFoundError(f"{source}: not an image folder or a {'/'.join(TABLE_SUFFIXES)} manifest")


def folder_ids(names: list[str]) -> list[str]:
    """Ids of a folder's images, unique by construction: the relative path without its suffix
    (`2019/123.jpg` -> `2019/123`, the dataset loaders' ids), except where that would collide
    with another file's id or relative path (`a.jpg` and `a.png`): those keep their suffix.
    Relative paths are unique, and a stem is used only when no other file has it as stem or
    path, so no two ids are ever equal."""
    stems = [name.rsplit(".", 1)[0] if "." in name.rsplit("/", 1)[-1] else name for name in names]
    stem_counts: dict[str, int] = {}
    for stem in stems:
        stem_counts[stem] = stem_counts.get(stem, 0) + 1
    paths = set(names)
    ids = [
        stem if stem_counts[stem] == 1 and (stem == name or stem not in paths) else name
        for stem, name in zip(stems, names, strict=True)
    ]
    clashing = [name for stem, name, item_id in zip(stems, names, ids, strict=True) if item_id != stem]
    if clashing:
        shown = ", ".join(clashing[:6]) + (f" and {len(clashing) - 6} more" if len(clashing) > 6 else "")
        print(
            f"caption: {len(clashing)} image(s) share a name without suffix with another image; "
            f"their ids keep the suffix: {shown}",
            file=sys.stderr,
        )
    return ids


def merge_parts(output: Path, column: str) -> int:
    """Append the rows of every part file whose id is not yet in `output`; returns rows added."""
    parts = part_paths(output)
    if not parts:
        raise FileNotFoundError(f"No part files {output.stem}.rank*-of-*{output.suffix} next to {output}")
    drop_torn_tail(output)
    seen = done_ids(output)
    added = 0
    new_file = not output.exists() or output.stat().st_size == 0
    with output.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(["id", column])
        for part in parts:
            drop_torn_tail(part)
            for row in read_table(part, ["id", column]):
                if row["id"] not in seen:
                    seen.add(row["id"])
                    writer.writerow([row["id"], row[column]])
                    added += 1
    return added


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output = Path(args.output)
    column = DESCRIPTION_FILES[args.view][1]
    if args.merge:
        added = merge_parts(output, column)
        print(f"caption: merged {added} rows from {len(part_paths(output))} part files into {output}", file=sys.stderr)
        return 0
    if not args.source:
        build_parser().error("give an image folder or manifest (or --merge)")
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")

    from tqdm.auto import tqdm

    from ..modeling.image_inputs import ImageInputError, load_image_input
    from ..modeling.image_to_text import OcrReader, build_captioner

    rank, world_size, local_rank = distributed_env()
    target = part_path(output, rank, world_size) if world_size > 1 else output
    items = list_images(
        Path(args.source), args.id_column, args.image_column, Path(args.image_root) if args.image_root else None
    )
    items = items[: args.limit] if args.limit is not None else items
    items = items[rank::world_size]
    drop_torn_tail(target)
    done = done_ids(target)
    todo = [item for item in items if item.id not in done]

    if args.view == "ocr":
        describer = OcrReader()
    else:
        describer = build_captioner(
            args.captioner,
            revision=args.revision,
            prompt=args.prompt,
            max_new_tokens=args.max_new_tokens,
            generate_kwargs=json.loads(args.generate_kwargs) if args.generate_kwargs else None,
            device=args.device or default_device(local_rank),
            dtype=parse_dtype(args.dtype),
            load_kwargs={"trust_remote_code": True} if args.trust_remote_code else None,
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    errors_path = target.with_name(target.name + ".errors.jsonl")
    failures = 0
    new_file = not target.exists() or target.stat().st_size == 0
    with (
        target.open("a", newline="", encoding="utf-8") as handle,
        tqdm(total=len(items), initial=len(items) - len(todo), desc=f"{args.view} [rank {rank}]", unit="img") as bar,
    ):
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(["id", column])
        for batch in chunks(todo, args.batch_size):
            loaded, images = [], []
            for item in batch:
                try:
                    images.append(load_image_input(item.image))
                    loaded.append(item)
                except (ImageInputError, TypeError) as err:
                    failures += 1
                    with errors_path.open("a", encoding="utf-8") as errors:
                        errors.write(json.dumps({"id": item.id, "image": str(item.image), "error": str(err)}) + "\n")
            texts = describer.describe(images, prompt=args.prompt, max_new_tokens=args.max_new_tokens) if images else []
            for item, text in zip(loaded, texts, strict=True):
                writer.writerow([item.id, text])
            handle.flush()  # a kill loses at most the batch in flight
            bar.update(len(batch))
    if failures:
        print(
            f"caption: {failures} image(s) could not be read; see {errors_path} (retried on the next run)",
            file=sys.stderr,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
