"""`multimodal-sentiment serve`: the Gradio web demo on 127.0.0.1, offline, on the embedded default.

```bash
pip install "multimodal-sentiment[serve]"
multimodal-sentiment serve                       # http://127.0.0.1:7860, the embedded default model
multimodal-sentiment serve --model runs/era/checkpoint-500 --port 8080 --quantize int8
multimodal-sentiment serve --write-space space/ --space-model my-org/era-minilm-mvsa   # a Space to push
```

The image-to-text view is chosen as `multimodal-sentiment demo` chooses it: the model's captioner
when it loads offline (or `--captioner`), else OCR (RapidOCR), and the page says which. The
example cards are the demo's (words drawn on images), clickable under the form.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..cli.args import ArgumentParser
from . import gradio_app

SPACE_REQUIREMENTS = (
    "gradio>=5",
    "transformers>=5.23,<6",
    "torch",
    "pillow>=10.0",
    "numpy>=1.24",
    "rapidocr-onnxruntime>=1.3,<2",
)
SPACE_README = """---
title: multimodal-sentiment
emoji: 🖼️
colorFrom: blue
colorTo: yellow
sdk: gradio
sdk_version: {gradio_version}
app_file: app.py
pinned: false
license: apache-2.0
models:
  - {model}
tags:
  - multimodal-sentiment
  - custom_code
---

# multimodal-sentiment demo

Sentiment of a post from its text and its image, with
[{model}](https://huggingface.co/{model}) (its code runs with `trust_remote_code`: pin a revision
with `MODEL_ID` / `MODEL_REVISION` if you fork this Space). Upload an image and/or type a post;
the page shows the label, the scores, the image description, the evidence words highlighted by
modality, and whether the text alone and the image description alone agree.

Written by `multimodal-sentiment serve --write-space`.
"""


def missing_extra_message() -> str | None:
    """None when gradio imports, else what to install."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        return "the web demo needs Gradio: pip install 'multimodal-sentiment[serve]' (or pip install gradio)"
    return None


def write_examples(folder: Path) -> list[dict[str, Any]]:
    """The demo's example cards as PNGs in `folder` plus `examples.json`; returns the examples."""
    from ..demo.examples import write_example_posts

    posts = write_example_posts(folder)
    index = [
        {"name": p["name"], "text": p["text"], "image": Path(p["image"]).name if p["image"] else None} for p in posts
    ]
    (folder / "examples.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return gradio_app.load_examples(folder)


def write_space(folder: str | Path, model: str) -> Path:
    """A ready-to-push Space: app.py (gradio_app.py), README.md (sdk: gradio), requirements.txt, examples/."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(gradio_app.__file__).read_text(encoding="utf-8")
    default_line = f'SPACE_MODEL_ID = "{gradio_app.SPACE_MODEL_ID}"'
    if default_line not in source:
        raise RuntimeError(f"gradio_app.py lost its line {default_line!r}")
    (folder / "app.py").write_text(source.replace(default_line, f"SPACE_MODEL_ID = {model!r}"), encoding="utf-8")
    try:
        gradio_version = importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        gradio_version = "5.0.0"
    (folder / "README.md").write_text(SPACE_README.format(model=model, gradio_version=gradio_version), encoding="utf-8")
    (folder / "requirements.txt").write_text("\n".join(SPACE_REQUIREMENTS) + "\n", encoding="utf-8")
    write_examples(folder / "examples")
    return folder


def load_classifier(model: str | None, captioner: str | None, quantize: str | None) -> tuple[Any, str]:
    """The pipeline the page serves (offline: the embedded default unless --model) and a note on its image views."""
    from transformers import AutoConfig, pipeline

    import multimodal_sentiment

    from ..demo.run import choose_image_views
    from ..modeling.checkpoint_code import TASK

    model_ref = model or multimodal_sentiment.DEFAULT_MODEL_ID
    config = AutoConfig.from_pretrained(model_ref, trust_remote_code=True)
    views, note = choose_image_views(config, captioner or getattr(config, "captioner", None))
    options: dict[str, Any] = {"image_views": views}
    if captioner:
        options["captioner"] = captioner
    if quantize:
        options["quantize"] = quantize
    classifier = pipeline(
        TASK,
        model=model_ref,
        pipeline_class=multimodal_sentiment.MultimodalSentimentPipeline,
        device="cpu",
        **options,
    )
    return classifier, note


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="multimodal-sentiment serve",
        description=__doc__.split("\n\n")[0].strip("`"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", help="checkpoint folder or Hub id (default: the embedded default model)")
    parser.add_argument("--captioner", help="VLM id or folder to describe images (default: the model's, if available offline)")
    parser.add_argument("--quantize", choices=("int8",), help="dynamic int8 classifier on CPU")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--write-space", metavar="DIR", help="write a ready-to-push Hugging Face Space into DIR and exit")
    parser.add_argument("--space-model", default=gradio_app.SPACE_MODEL_ID, help="Hub id the Space loads (with --write-space)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.write_space:
        folder = write_space(args.write_space, args.space_model)
        print(f"serve: wrote a Space to {folder} (app.py, README.md, requirements.txt, examples/); push it with "
              f"`hf upload <user>/<space> {folder} --repo-type space`")
        return 0
    problem = missing_extra_message()
    if problem:
        print(f"multimodal-sentiment serve: {problem}", file=sys.stderr)
        return 1
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    classifier, note = load_classifier(args.model, args.captioner, args.quantize)
    examples_dir = Path(tempfile.mkdtemp(prefix="ms-serve-examples-"))
    try:
        examples = write_examples(examples_dir)
        demo = gradio_app.build_demo(classifier, examples, note)
        print(note)
        demo.launch(server_name=args.host, server_port=args.port, share=False, allowed_paths=[str(examples_dir)])
    finally:
        shutil.rmtree(examples_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
