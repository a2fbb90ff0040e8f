"""Helpers shared by several test files, in one module: test files never import each other.

Fixtures shared across files (the image server, the tiny BLIP folder, generate() counting, the
tiny encoder folder, the MVSA fixture folder) live in conftest.py and use the builders here.
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# ---------------------------------------------------------------- images (files and a local URL server)

def encode(image: Image.Image, fmt: str = "PNG", **save_kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_kwargs)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but carries no pixel data: a decompression bomb
    as far as a loader that trusts the header is concerned."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (6, 6), colour) for colour in ("red", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def sixteen_bit_png(value: int = 65535) -> bytes:
    return encode(Image.fromarray(np.full((5, 7), value, dtype=np.uint16)))


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG")


def half_png() -> bytes:
    noise = (np.random.RandomState(0).rand(32, 32, 3) * 255).astype(np.uint8)
    data = encode(Image.fromarray(noise))
    return data[: len(data) // 2]


def corrupt_jpeg() -> bytes:
    return encode(Image.new("RGB", (16, 16), "green"), "JPEG")[:20] + b"\x00garbage" * 50


class ImageServer:
    """A local HTTP server on 127.0.0.1 (no network): /ok.png, /missing (404), /slow, /huge."""

    def __init__(self, png: bytes):
        self.png = png
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.startswith("/ok"):
                    self._send(200, server.png)
                elif self.path == "/slow":
                    time.sleep(1.5)
                    self._send(200, server.png)
                elif self.path == "/huge":
                    self._send(200, b"\0" * 4096)
                else:
                    self._send(404, b"not here")

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing.png"


# ---------------------------------------------------------------- datasets (fixture files in the real layouts)

MVSA_TEXTS = [
    "I love this sunny day",
    "stuck in traffic again",
    "meeting at noon",
    "so happy for you",
    "terrible news",
    "bus is here",
]
MVSA_NAMES = ["positive", "negative", "neutral"]
# The published code tables (../shared/data/README.md), typed here rather than read from the
# module: the fixtures must write what the real files hold, so a swapped code in the loader fails.
NAME_TO_SPLIT_CODE = {"positive": 0, "neutral": 1, "negative": 2}  # splits/{train,dev,test}.json
NAME_TO_PAIRLIST_CODE = {"neutral": 0, "positive": 1, "negative": 2}  # valid_pairlist.txt


def tiny_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (200, 30, 30)).save(path)
    return path


def write_mvsa(root: Path, sizes: tuple[int, int, int] = (6, 3, 3)) -> Path:
    """MVSA in the CLMLF layout: ids 1..N over the splits, labels cycling positive/negative/
    neutral in the split-file code; OCR text on even ids only; the last id (even) has no caption
    and no pairlist line; only image 1.jpg exists; valid_pairlist says text=neutral,
    image=positive for every listed id."""
    (root / "splits").mkdir(parents=True)
    (root / "descriptions").mkdir()
    ids, next_id = {}, 1
    for split, size in zip(("train", "dev", "test"), sizes, strict=True):
        ids[split] = list(range(next_id, next_id + size))
        next_id += size
        items = [
            {"id": str(i), "text": MVSA_TEXTS[i % 6], "emotion_label": NAME_TO_SPLIT_CODE[MVSA_NAMES[i % 3]]}
            for i in ids[split]
        ]
        (root / "splits" / f"{split}.json").write_text(json.dumps(items), encoding="utf-8")
    last = next_id - 1
    captions = "".join(f"{i},a photo of thing {i}\n" for i in range(1, last))
    (root / "descriptions" / "captions.csv").write_text("id,caption\n" + captions, encoding="utf-8")
    ocr = "".join(f"{i},{'' if i % 2 else 'BIG SALE'}\n" for i in range(1, last + 1))
    (root / "descriptions" / "ocr.csv").write_text("id,ocr_text\n" + ocr, encoding="utf-8")
    pairs = "".join(
        f"{i},{NAME_TO_PAIRLIST_CODE[MVSA_NAMES[i % 3]]},{NAME_TO_PAIRLIST_CODE['neutral']},{NAME_TO_PAIRLIST_CODE['positive']}\n"
        for i in range(1, last)
    )
    (root / "valid_pairlist.txt").write_text(pairs, encoding="utf-8")
    tiny_image(root / "images" / "1.jpg")
    return root


# ---------------------------------------------------------------- results JSON

# The results-JSON schema the model-card generator reads (test_training.py checks it too).
RESULT_KEYS = {
    "model",
    "model_type",
    "dataset",
    "split",
    "seed",
    "num_examples",
    "metrics",
    "command",
    "date",
    "machine",
    "versions",
}
METRIC_KEYS = {"accuracy", "f1_weighted", "f1_macro", "precision_weighted", "recall_weighted", "per_class"}


# ---------------------------------------------------------------- tiny captioners and pipelines

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37}
TINY_VISION = {**TINY, "image_size": 32, "patch_size": 8}
RED, BLUE, GREEN, GRAY = (Image.new("RGB", (30, 20), c) for c in ("red", "blue", "green", "gray"))


def build_tiny_blip(folder: Path, tokenizer) -> Path:
    """A randomly initialised 2-layer BLIP captioner; BLIP reads BERT's vocabulary."""
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    text = dict(TINY, vocab_size=tokenizer.vocab_size, encoder_hidden_size=32)
    text.update(bos_token_id=tokenizer.cls_token_id, pad_token_id=tokenizer.pad_token_id)
    text.update(sep_token_id=tokenizer.sep_token_id, eos_token_id=tokenizer.sep_token_id)
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(BlipConfig(text_config=text, vision_config=TINY_VISION, projection_dim=32))
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def colour_captioner(images: list[Image.Image]) -> list[str]:
    """A callable captioner that names each image's colour: proves descriptions land on the right post."""
    names = {(255, 0, 0): "red", (0, 0, 255): "blue", (0, 128, 0): "green", (128, 128, 128): "gray"}
    return [names.get(image.getpixel((0, 0)), "something") for image in images]


def in_process(model, tokenizer, **kwargs) -> Any:
    """The package's own pipeline class, found through the in-process task registration."""
    from transformers import pipeline

    return pipeline("multimodal-sentiment", model=model, tokenizer=tokenizer, device="cpu", **kwargs)


def from_folder(folder: Path, **kwargs) -> Any:
    """The pipeline as a user without this package gets it: the checkpoint's own code files."""
    from transformers import pipeline

    return pipeline("multimodal-sentiment", model=str(folder), trust_remote_code=True, device="cpu", **kwargs)


def assert_carries_the_pipeline(folder: Path) -> None:
    for name in (
        "pipeline_multimodal_sentiment.py",
        "post_inputs.py",
        "pipeline_outputs.py",
        "describe_stage.py",
        "input_spec.py",
        "image_inputs.py",
        "image_to_text.py",
        "text_pairs.py",
    ):
        assert (folder / name).is_file(), name
    custom = json.loads((folder / "config.json").read_text())["custom_pipelines"]
    assert custom["multimodal-sentiment"]["impl"] == "pipeline_multimodal_sentiment.MultimodalSentimentPipeline"
    assert custom["multimodal-sentiment"]["pt"] == ["AutoModelForSequenceClassification"]


def tiny_era_classifier(tokenizer: Any, encoder_config: Any, **config_fields: Any) -> Any:
    """A tiny random EraForSequenceClassification (3 labels, K=4, seed 0, no captioner) in eval
    mode; `config_fields` override EraConfig fields (e.g. `image_views=["ocr"]`)."""
    from multimodal_sentiment import EraConfig, EraForSequenceClassification

    torch.manual_seed(0)
    fields = {"token_top_k": 4, "special_token_ids": sorted(set(tokenizer.all_special_ids)), "captioner": None}
    config = EraConfig(encoder_config=encoder_config.to_dict(), **(fields | config_fields))
    return EraForSequenceClassification(config).eval()

