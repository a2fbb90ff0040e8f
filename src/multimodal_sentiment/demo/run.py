"""`multimodal-sentiment demo`: the embedded default model on example posts, offline.

Draws meme-like example cards (words on images) plus post texts, runs the
`"multimodal-sentiment"` pipeline with the embedded default (no download), prints a table
(text, image description, label, score, evidence tokens, text/description agreement) and writes
an HTML report with the images beside the predictions.

The image-to-text view: the model's VLM captioner when it can be loaded offline (a local folder
or the HF cache, or `--captioner`), else OCR (RapidOCR) of the words on the image, and the demo
says which.
"""

from __future__ import annotations

import argparse
import base64
import html
import os
import textwrap
from pathlib import Path
from typing import Any

from .examples import write_example_posts

REPORT_NAME = "report.html"


def captioner_available(captioner: str | None, revision: str | None = None) -> bool:
    """Whether `captioner` loads without a download: a local folder, or in the HF cache."""
    if not captioner:
        return False
    if Path(captioner).is_dir():
        return True
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(captioner, "config.json", revision=revision), str)


def ocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_image_views(config: Any, captioner: str | None) -> tuple[list[str], str]:
    """The image-to-text views the demo can run here, and a sentence saying why."""
    configured = list(getattr(config, "image_views", None) or ["caption"])
    if captioner_available(captioner, None if captioner != config.captioner else config.captioner_revision):
        return configured, f"Image-to-text: VLM captioner {captioner} ({', '.join(configured)})."
    if ocr_available():
        return ["ocr"], (
            f"No VLM captioner is available offline ({captioner or 'none configured'} is not in the local cache): "
            "describing images with OCR only (RapidOCR reads the words on each card). Pass --captioner to use a VLM."
        )
    return [], "Neither a VLM captioner nor RapidOCR is available: images are ignored (install the `offline` extra)."


def format_table(rows: list[dict[str, Any]], width: int = 30) -> str:
    """A plain-text table of the predictions, long cells wrapped."""
    headers = ["post", "text", "image description", "label (score)", "evidence", "agree"]
    cells = [
        [
            row["name"],
            row["text"] or "-",
            row["image_description"] or "-",
            f"{row['label']} ({row['score']:.2f})",
            ", ".join(row["evidence"][:6]) or "-",
            {True: "yes", False: "NO", None: "-"}[row["agreement"]],
        ]
        for row in rows
    ]
    widths = [min(width, max(len(h), *(len(c[i]) for c in cells))) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for cell_row in cells:
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cell_row, widths, strict=True)]
        for line in range(max(len(w) for w in wrapped)):
            parts = [(w[line] if line < len(w) else "").ljust(widths[i]) for i, w in enumerate(wrapped)]
            lines.append(" | ".join(parts))
    return "\n".join(lines)


IMAGE_WIDTH = 320  # shown width of a card in the report; the height follows the image's aspect ratio


def evidence_words(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pooled tokens as whole words: WordPiece pieces of one word ("mar", "##athon") merged
    into it ("marathon"), one entry per (modality, word), weights summed, heaviest first."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    previous: tuple[int, tuple[str, str]] | None = None  # (position, key) of the last piece seen
    for item in sorted(evidence, key=lambda e: e.get("position", 0)):
        token, position = item.get("token") or "", int(item.get("position", 0))
        modality = item.get("modality") or "special"
        weight = float(item["weight"])
        if not item.get("word") and token.startswith("##") and previous and previous[0] == position - 1:
            key = previous[1]  # no word alignment (slow tokenizer): glue the piece to the one before it
            entry = merged.pop(key)
            entry["word"] += token[2:]
            key = (modality, entry["word"])
            if key in merged:
                merged[key]["weight"] += entry["weight"] + weight
            else:
                merged[key] = {**entry, "weight": entry["weight"] + weight}
        else:
            key = (modality, item.get("word") or token.removeprefix("##"))
            if key in merged:
                merged[key]["weight"] += weight
            else:
                merged[key] = {"word": key[1], "modality": modality, "weight": weight}
        previous = (position, key)
    return sorted(merged.values(), key=lambda e: -e["weight"])


def agreement_verdict(row: dict[str, Any]) -> str:
    """One line: what the model says about text vs image for this post."""
    text_only, image_only = row.get("text_only"), row.get("description_only")
    if row["agreement"] is None or not text_only or not image_only:
        return "Model: one modality only (nothing to compare)"
    verb = "agree" if row["agreement"] else "disagree"
    return f"Model: text and image {verb} (text alone: {text_only['label']}, image alone: {image_only['label']})"


def write_html_report(rows: list[dict[str, Any]], path: Path, note: str) -> Path:
    """One card per post: the image (embedded, its aspect ratio kept), the text, the prediction, the
    evidence words with their modality, the model's agreement verdict and the example's intent."""
    cards = []
    for row in rows:
        image = "<div class='noimg'>no image</div>"
        if row["image"]:
            from PIL import Image

            with Image.open(row["image"]) as picture:
                width, height, kind = picture.width, picture.height, (picture.format or "PNG").lower()
            data = base64.b64encode(Path(row["image"]).read_bytes()).decode()
            shown = round(IMAGE_WIDTH * height / width)
            image = (
                f"<img src='data:image/{kind};base64,{data}' width='{IMAGE_WIDTH}' height='{shown}' "
                f"alt='{html.escape(row['name'])}'>"
            )
        scores = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>" for k, v in sorted(row["scores"].items())
        )
        evidence = " ".join(
            f"<span class='tok {html.escape(e['modality'])}' title='weight {e['weight']:.3f}'>"
            f"{html.escape(e['word'])}<small> {html.escape(e['modality'])}</small></span>"
            for e in evidence_words(row["evidence_detail"])
        )
        intended = (
            f"<p class='note'><b>Intended by this example:</b> {html.escape(row['note'])}</p>" if row["note"] else ""
        )
        cards.append(
            f"<section id='{html.escape(row['name'])}'><h2>{html.escape(row['name'])}</h2>{image}<div>"
            f"<p><b>Text:</b> {html.escape(row['text'] or '-')}</p>"
            f"<p><b>Image description:</b> {html.escape(row['image_description'] or '-')}</p>"
            f"<p class='label'>{html.escape(row['label'])} ({row['score']:.2f})</p><table>{scores}</table>"
            f"<p><b>Evidence</b> (whole words; text / <i>description</i>): {evidence or '-'}</p>"
            f"<p class='verdict'>{html.escape(agreement_verdict(row))}</p>{intended}</div></section>"
        )
    page = f"""<!doctype html><html><head><meta charset='utf-8'><title>multimodal-sentiment demo</title><style>
body{{font-family:sans-serif;max-width:1000px;margin:auto}} section{{display:flex;align-items:flex-start;gap:1em;border-bottom:1px solid #ccc;padding:1em 0}}
img{{flex:none;width:{IMAGE_WIDTH}px;height:auto;object-fit:contain}} .noimg{{flex:none;width:{IMAGE_WIDTH}px;height:180px;background:#eee;display:flex;align-items:center;justify-content:center}}
.label{{font-size:1.4em;font-weight:bold}} .tok{{padding:0 .3em;margin:.1em;border-radius:3px;background:#dde}}
.tok.description{{font-style:italic;background:#ede}} .tok small{{color:#777}} .note{{color:#666}}</style></head><body>
<h1>multimodal-sentiment demo</h1><p>{html.escape(note)}</p>{''.join(cards)}</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def run_demo(output_dir: str | Path, model: str | None = None, captioner: str | None = None) -> list[dict[str, Any]]:
    """Run the pipeline on the example posts; write images and the HTML report into `output_dir`."""
    from transformers import pipeline

    import multimodal_sentiment

    from ..modeling.checkpoint_code import TASK

    multimodal_sentiment.register()  # the task and the embedded default
    output_dir = Path(output_dir)
    posts = write_example_posts(output_dir / "images")
    model_ref = model or multimodal_sentiment.DEFAULT_MODEL_ID
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_ref, trust_remote_code=True)
    chosen_captioner = captioner or config.captioner
    views, note = choose_image_views(config, chosen_captioner)
    print(note)
    classifier = pipeline(
        TASK,
        model=model_ref,
        trust_remote_code=True,
        device="cpu",
        image_views=views,
        **({"captioner": captioner} if captioner else {}),
    )
    inputs = [{"text": p["text"], "image": p["image"] if views else None} for p in posts]
    # A post whose only part was its image and no image view is available: skip it, say so.
    usable = [i for i, item in enumerate(inputs) if item["text"] or item["image"]]
    outputs = classifier([inputs[i] for i in usable], return_evidence=True, return_modalities=True)
    rows = []
    for index, output in zip(usable, outputs, strict=True):
        evidence = output.get("evidence") or []
        rows.append(
            {
                **posts[index],
                "label": output["label"],
                "score": float(output["score"]),
                "scores": output["scores"],
                "image_description": output.get("image_description"),
                "evidence": [e["word"] for e in evidence_words(evidence)],
                "evidence_detail": evidence,
                "agreement": output.get("agreement"),
                "text_only": output.get("text_only"),
                "description_only": output.get("description_only"),
            }
        )
    print(format_table(rows))
    report = write_html_report(rows, output_dir / REPORT_NAME, note)
    print(f"\nHTML report: {report}")
    return rows


def build_parser() -> argparse.ArgumentParser:
    from ..cli.args import ArgumentParser

    parser = ArgumentParser(prog="multimodal-sentiment demo", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="demo-output", help="where the example images and report.html go")
    parser.add_argument("--model", help="checkpoint folder or Hub id (default: the embedded default model)")
    parser.add_argument("--captioner", help="VLM id or folder to describe images (default: the model's, if available offline)")
    parser.add_argument("--verbose", action="store_true", help="show transformers' notices and loading bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        from ..quiet import set_verbose

        set_verbose(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run_demo(args.output_dir, model=args.model, captioner=args.captioner)
    return 0
