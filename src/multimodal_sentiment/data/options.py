"""The dataset options of the command line, declared once: `train` and `evaluate` parse the same
`DatasetOptions` (an `HfArgumentParser` dataclass), so a flag means the same in both.

`load_dataset_from_options(options)` passes each loader the options it reads (caption file,
descriptions folder, image folder, Twitter's target prefix, ...) and names the flag when the
chosen format does not read it.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import DatasetDict

from .coverage import DEFAULT_MIN_VIEW_COVERAGE
from .registry import load_dataset_by_name, resolve_dataset

# Option (a DatasetOptions field) -> the loader keyword it sets.
LOADER_OPTIONS = {
    "caption_file": "caption_file",
    "descriptions_dir": "descriptions_dir",
    "image_dir": "image_dir",
    "target_prefix": "target_prefix",
    "class_names": "label_names",
}


@dataclass
class DatasetOptions:
    """Which dataset, and how its loader finds the text, labels, images and image descriptions."""

    dataset: str = field(
        metadata={"help": "dataset folder or known name (mvsa-multiple, msed, twitter2015, tumemo, ...)"}
    )
    dataset_format: str | None = field(
        default=None, metadata={"help": "force a format: mvsa, msed, twitter, tumemo, table"}
    )
    data_dir: str | None = field(default=None, metadata={"help": "where named datasets live"})
    label_column: str | None = field(default=None, metadata={"help": "use another label column, e.g. MSED's emotion"})
    class_names: list[str] | None = field(
        default=None,
        metadata={"help": "your own table's names of integer label codes 0, 1, ... (CSV / JSON lines)", "nargs": "+"},
    )
    descriptions_dir: str | None = field(
        default=None,
        metadata={
            "help": "folder of the image descriptions: captions.csv (id,caption) and/or ocr.csv (id,ocr_text), as "
            "`multimodal-sentiment caption` writes them; default: <dataset>/descriptions"
        },
    )
    caption_file: str | None = field(
        default=None,
        metadata={
            "help": "Twitter: caption JSON (image file name -> caption); default: found by name in the dataset "
            "folder, its parent or a caption/ or captions/ folder beside it (*caption*.json, "
            "<dataset>_images.json as in twitter2015_images.json); the log names the file used"
        },
    )
    image_dir: str | None = field(
        default=None,
        metadata={
            "help": "folder of the images; default: the format's (MVSA images/, data/ or dataset_image/; Twitter "
            "images/ or ../<dataset>_images/; tables: the table's folder)"
        },
    )
    target_prefix: bool = field(
        default=True,
        metadata={"help": "Twitter: start each text with '<target>: ' (--no_target_prefix: the sentence alone)"},
    )
    limit: int | None = field(default=None, metadata={"help": "keep the first N rows of each split (smoke runs)"})
    min_view_coverage: float = field(
        default=DEFAULT_MIN_VIEW_COVERAGE,
        metadata={
            "help": "share of each split's rows that must carry every image view the model reads (caption, ocr); "
            "below it the command stops and prints the coverage and the remedies"
        },
    )
    allow_low_coverage: bool = field(
        default=False,
        metadata={"help": "go on when fewer rows than --min_view_coverage carry a view (recorded, with a warning)"},
    )
    cache_dir: str | None = field(
        default=None,
        metadata={"help": "tokenization cache folder; default: <output_dir>/tokenized (the command prints it)"},
    )

    def loader_kwargs(self, loader: Any, format_name: str) -> dict[str, Any]:
        """The keyword arguments of `loader` set by these options; an option the format does not
        read (e.g. --caption_file for MVSA) raises, naming the options it does read."""
        accepted = set(inspect.signature(loader).parameters)
        defaults = {name: f.default for name, f in self.__dataclass_fields__.items()}
        kwargs, unread = {}, []
        for option, keyword in LOADER_OPTIONS.items():
            value = getattr(self, option)
            if value is None or value == defaults[option]:
                continue
            if keyword in accepted:
                kwargs[keyword] = value
            else:
                unread.append(option)
        if unread:
            readable = [f"--{o}" for o, k in LOADER_OPTIONS.items() if k in accepted]
            raise ValueError(
                f"The {format_name} format does not read {', '.join('--' + o for o in unread)}; "
                f"it reads {', '.join(readable) or 'none of the loader options'}."
            )
        return kwargs


def load_dataset_from_options(options: DatasetOptions) -> DatasetDict:
    """`load_dataset_by_name` with the command line's dataset options; a path option that
    points nowhere raises (a loader would otherwise just find no descriptions or images there)."""
    for option in ("caption_file", "descriptions_dir", "image_dir"):
        value = getattr(options, option)
        if value is not None and not Path(value).exists():
            raise FileNotFoundError(f"--{option} {value} does not exist (looked for {Path(value).resolve()}).")
    _, fmt = resolve_dataset(options.dataset, options.dataset_format, options.data_dir)
    return load_dataset_by_name(
        options.dataset,
        dataset_format=options.dataset_format,
        data_dir=options.data_dir,
        label_column=options.label_column,
        limit=options.limit,
        **options.loader_kwargs(fmt.loader, fmt.name),
    )


# What `predict` takes of them: where and how to read the posts (labels and coverage do not matter there).
PREDICT_FIELDS = (
    "dataset", "dataset_format", "data_dir", "class_names", "descriptions_dir", "caption_file", "image_dir",
    "target_prefix",
)  # fmt: skip


def add_dataset_arguments(parser: argparse.ArgumentParser, names: Sequence[str] = PREDICT_FIELDS) -> None:
    """Add `DatasetOptions` fields to a parser, all optional, in their own group;
    `dataset_options_from(args)` turns the parsed values back into `DatasetOptions`. Give a
    `cli.args.ArgumentParser` (as `predict` does) for the hidden `--dashed-alias` of each option."""
    from ..cli.args import add_dataclass_arguments

    group = parser.add_argument_group("dataset (instead of --input: the posts of a dataset split)")
    add_dataclass_arguments(group, DatasetOptions, names)


def dataset_options_from(args: argparse.Namespace, **overrides: Any) -> DatasetOptions:
    """`DatasetOptions` from a namespace that holds some of its fields (the rest keep their defaults)."""
    from ..cli.args import options_from

    return options_from(DatasetOptions, args, **overrides)


__all__ = [
    "LOADER_OPTIONS",
    "PREDICT_FIELDS",
    "DatasetOptions",
    "add_dataset_arguments",
    "dataset_options_from",
    "load_dataset_from_options",
]
