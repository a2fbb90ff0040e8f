"""The multimodal-sentiment web demo (Gradio): upload an image and/or type a post, get the label,
the scores as bars, the image description, the evidence words highlighted by modality, and whether
the text alone and the description alone agree.

Self-contained on purpose: it imports only gradio, transformers, PIL and the standard library, so
this file is also the `app.py` of a Hugging Face Space (`multimodal-sentiment serve --write-space`),
where the model and its code come from the Hub (`trust_remote_code`). Locally,
`multimodal-sentiment serve` builds the same page around the embedded default model, offline.

As a Space: `MODEL_ID` (env, default below) names the checkpoint and `MODEL_REVISION` pins it (a
tag or commit: `trust_remote_code` runs the repository's code); `examples/examples.json` beside
this file lists the example posts (`[{"image": "marathon.png", "text": "..."}]`, images in that folder).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

TASK = "multimodal-sentiment"
SPACE_MODEL_ID = "multimodal-sentiment/era-minilm-mvsa"  # written by `serve --write-space --space-model`
COLORS = {"text": "#3b82f6", "description": "#f59e0b"}
_WORD = re.compile(r"\w+(?:'\w+)?|[^\w\s]+|\s+")


def highlight(text: str | None, evidence: list[dict[str, Any]], modality: str) -> list[tuple[str, str | None]]:
    """`text` split into whole words and separators, each word tagged `modality` when the model
    pooled it as evidence from that part of the post (`gr.HighlightedText` value)."""
    if not text:
        return []
    chosen = {(e.get("word") or e.get("token") or "").lower() for e in evidence if e.get("modality") == modality}
    chosen.discard("")
    return [(piece, modality if piece.lower() in chosen else None) for piece in _WORD.findall(text)]


def describe_agreement(result: dict[str, Any]) -> str:
    """One Markdown line: the text-only and description-only predictions and whether they agree."""
    text_only, description_only = result.get("text_only"), result.get("description_only")

    def show(prediction: dict[str, Any] | None) -> str:
        return f"**{prediction['label']}** ({prediction['score']:.2f})" if prediction else "-"

    verdict = {True: "agree", False: "**disagree**", None: "only one part present"}[result.get("agreement")]
    return f"Text only: {show(text_only)} · Description only: {show(description_only)} → {verdict}"


def classify_post(classifier: Any, image: Any = None, text: str | None = None, description: str | None = None) -> dict:
    """Run the pipeline on one post from the form; returns what the page shows (also for tests)."""
    post: dict[str, Any] = {}
    if text and text.strip():
        post["text"] = text
    if description and description.strip():
        post["image_description"] = description
    elif image is not None:
        post["image"] = image
    if not post:
        raise ValueError("Give the post a text, an image, or an image description.")
    result = classifier(post, return_evidence=True, return_modalities=True)
    evidence = result.get("evidence") or []
    image_description = result.get("image_description") or ""
    spans = highlight(post.get("text"), evidence, "text")
    described = highlight(image_description, evidence, "description")
    if spans and described:
        spans.append(("  ⟶  image: ", None))
    return {
        "label": result["label"],
        "scores": result["scores"],
        "image_description": image_description,
        "evidence": spans + described,
        "evidence_words": [(e.get("word") or e["token"], e["modality"]) for e in evidence],
        "agreement": describe_agreement(result),
        "raw": result,
    }


def build_demo(classifier: Any, examples: list[dict[str, Any]] | None = None, note: str = "") -> Any:
    """The Gradio Blocks page around a loaded multimodal-sentiment pipeline."""
    import gradio as gr

    def run(image: Any, text: str, description: str):
        try:
            shown = classify_post(classifier, image, text, description)
        except ValueError as err:
            raise gr.Error(str(err)) from None
        return shown["scores"], shown["image_description"], shown["evidence"], shown["agreement"]

    with gr.Blocks(title="multimodal-sentiment", analytics_enabled=False) as demo:
        gr.Markdown(
            "# multimodal-sentiment\nSentiment of a post from its text **and** its image: the image becomes "
            "words (a captioner, or OCR), one text encoder reads both. " + note
        )
        with gr.Row():
            with gr.Column():
                image = gr.Image(type="pil", label="Image", elem_id="image")
                text = gr.Textbox(label="Post text", lines=2, elem_id="text")
                description = gr.Textbox(
                    label="Image description (optional: replaces the image-to-text step)", elem_id="description-in"
                )
                submit = gr.Button("Classify", variant="primary", elem_id="submit")
            with gr.Column():
                label = gr.Label(label="Sentiment (scores)", num_top_classes=10, elem_id="label")
                described = gr.Textbox(label="Image description", interactive=False, elem_id="image-description")
                evidence = gr.HighlightedText(
                    label="Evidence: the words the model pooled (blue: post text, orange: image description)",
                    color_map=COLORS,
                    combine_adjacent=False,
                    show_legend=True,
                    elem_id="evidence",
                )
                agreement = gr.Markdown(elem_id="agreement")
        outputs = [label, described, evidence, agreement]
        submit.click(run, inputs=[image, text, description], outputs=outputs, api_name="classify")
        if examples:
            gr.Examples(
                examples=[[e.get("image"), e.get("text") or "", ""] for e in examples],
                inputs=[image, text, description],
                label="Examples (click one, then Classify)",
            )
    return demo


def load_examples(folder: str | Path) -> list[dict[str, Any]]:
    """`examples.json` in `folder` (image paths relative to it), or [] when there is none."""
    index = Path(folder) / "examples.json"
    if not index.is_file():
        return []
    items = json.loads(index.read_text(encoding="utf-8"))
    return [{**item, "image": str(Path(folder) / item["image"]) if item.get("image") else None} for item in items]


def main() -> None:
    """Entry point of the Space: the Hub checkpoint MODEL_ID with its own code."""
    from transformers import pipeline

    model, revision = os.environ.get("MODEL_ID", SPACE_MODEL_ID), os.environ.get("MODEL_REVISION") or None
    classifier = pipeline(TASK, model=model, revision=revision, trust_remote_code=True)
    examples = load_examples(Path(__file__).resolve().parent / "examples")
    build_demo(classifier, examples).launch()


if __name__ == "__main__":
    main()
