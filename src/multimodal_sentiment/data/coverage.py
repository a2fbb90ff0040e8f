"""Coverage of the image-to-text views: how many rows of each split carry a caption, an OCR text.

A model that reads descriptions is only what its name says when the rows carry them: a caption
file left under a name the loader did not find would otherwise train a text-only model under an
ERA name. `train` and `evaluate` therefore check, before anything runs, that every view the
model reads covers at least `DEFAULT_MIN_VIEW_COVERAGE` (50%) of the rows of every split they
use, and stop with `LowViewCoverageError` (per split and view, plus the remedies) otherwise;
`--allow_low_coverage` accepts low coverage knowingly. The coverage is recorded in
`training_record.json`, `results.json` and the model card.

A row carries a view when its value is a non-empty text. OCR of an image without any text is
empty, so on photos with little text the OCR coverage is low by nature: accept it knowingly, or
lower `--min_view_coverage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .schema import VIEW_COLUMNS

# Share of the rows of each split that must carry every view a model reads (`--min_view_coverage`).
DEFAULT_MIN_VIEW_COVERAGE = 0.5

COVERAGE_REMEDIES = (
    "point the loader at the descriptions: --descriptions_dir DIR (captions.csv with id,caption; ocr.csv with "
    "id,ocr_text), or for Twitter --caption_file FILE (a JSON object: image file name -> caption)",
    "write them first: multimodal-sentiment caption IMAGE_FOLDER --output DIR/captions.csv "
    "(--view ocr --output DIR/ocr.csv for OCR), then pass --descriptions_dir DIR",
    "read only the views the data has: --image_views caption (or ocr), or --preset text-only",
    "accept the low coverage knowingly: --allow_low_coverage (or lower --min_view_coverage)",
)


class LowViewCoverageError(ValueError):
    """Too few rows carry a view the model reads; the message lists the coverage and the remedies."""


def split_coverage(dataset: Any, views: Sequence[str] = VIEW_COLUMNS) -> dict[str, Any]:
    """`{"rows": n, "with": {view: rows with a non-empty value}, "share": {view: fraction}}` of one split.

    Views missing from the dataset's columns count as carried by no row.
    """
    rows = len(dataset)
    columns = set(dataset.column_names)
    counts = {view: sum(bool(v) for v in dataset[view]) if view in columns else 0 for view in views}
    return {
        "rows": rows,
        "with": counts,
        "share": {view: round(count / rows, 4) if rows else 0.0 for view, count in counts.items()},
    }


def view_coverage(
    splits: Mapping[str, Any],
    required_views: Sequence[str],
    *,
    min_share: float = DEFAULT_MIN_VIEW_COVERAGE,
    allow_low: bool = False,
) -> dict[str, Any]:
    """The coverage record of several splits (`{"train": Dataset, "test": Dataset, ...}`)."""
    return {
        "required_views": list(required_views),
        "min_share": min_share,
        "allow_low_coverage": allow_low,
        "splits": {name: split_coverage(ds) for name, ds in splits.items()},
    }


def low_views(coverage: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(split, view) pairs where a required view covers less than the minimum share."""
    return [
        (split, view)
        for split, entry in coverage["splits"].items()
        for view in coverage["required_views"]
        if entry["share"].get(view, 0.0) < coverage["min_share"]
    ]


def format_coverage(coverage: Mapping[str, Any]) -> str:
    """A small text table: one line per split, one column per view, `rows with it (share)`."""
    views = list(dict.fromkeys([*coverage["required_views"], *VIEW_COLUMNS]))
    header = ["split", "rows", *views]
    lines = [header]
    for split, entry in coverage["splits"].items():
        cells = [f"{entry['with'].get(v, 0)} ({100 * entry['share'].get(v, 0.0):.1f}%)" for v in views]
        lines.append([split, str(entry["rows"]), *cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def check_view_coverage(coverage: Mapping[str, Any], reader: str) -> list[tuple[str, str]]:
    """Raise `LowViewCoverageError` when a required view is under the minimum share in a split,
    unless the coverage record allows it; returns the low (split, view) pairs (empty when fine).

    `reader` names what reads the views in the message, e.g. "--preset era-caption".
    """
    low = low_views(coverage)
    if not low or coverage["allow_low_coverage"]:
        return low
    shown = ", ".join(f"{view} in {split}" for split, view in low)
    remedies = "\n".join(f"  - {remedy}" for remedy in COVERAGE_REMEDIES)
    raise LowViewCoverageError(
        f"{reader} reads the image views {coverage['required_views']}, but fewer than "
        f"{100 * coverage['min_share']:.0f}% of the rows carry {shown} (--min_view_coverage "
        f"{coverage['min_share']}). Rows with each view:\n{format_coverage(coverage)}\n"
        f"Without its descriptions the model would read the text alone under a name that promises more. Remedies:\n"
        f"{remedies}"
    )


__all__ = [
    "COVERAGE_REMEDIES",
    "DEFAULT_MIN_VIEW_COVERAGE",
    "LowViewCoverageError",
    "check_view_coverage",
    "format_coverage",
    "low_views",
    "split_coverage",
    "view_coverage",
]
