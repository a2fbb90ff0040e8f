"""Example posts the project makes itself: meme-like cards with words drawn on them, plus text.

No downloaded images, so the demo runs offline and its inputs can be shipped. Cards use
Pillow's built-in font at a size RapidOCR reads reliably (56 px), wrapped to fit.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CARD_SIZE = (640, 360)
FONT_SIZE = 56


@dataclass(frozen=True)
class ExamplePost:
    """One demo post: `card` is the text drawn on the image (None = no image)."""

    name: str
    text: str | None
    card: str | None
    background: tuple[int, int, int] = (40, 40, 40)
    note: str = ""


EXAMPLE_POSTS: tuple[ExamplePost, ...] = (
    ExamplePost("marathon", "Finished my first marathon today!", "BEST DAY EVER!", (34, 139, 84), "both positive"),
    ExamplePost("monday", "Back at the desk at 7am...", "I hate Mondays", (120, 30, 30), "image carries the sentiment"),
    ExamplePost("flight", "Flight cancelled after five hours at the gate.", "Worst trip ever", (60, 60, 90), "both negative"),
    ExamplePost("weekend", "So excited for the weekend!", "Rain all weekend", (70, 90, 120), "text and image conflict"),
    ExamplePost("pizza", "Look what the office ordered", "Free pizza Friday", (200, 120, 20), "image carries the sentiment"),
    ExamplePost("update", "The new update is pretty good, battery lasts longer.", None, note="text only"),
    ExamplePost("thanks", None, "Thank you so much", (90, 50, 140), "image only"),
)


def draw_card(words: str, background: tuple[int, int, int], size: tuple[int, int] = CARD_SIZE) -> Image.Image:
    """A solid card with `words` centred in white, wrapped to at most 16 characters a line."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=FONT_SIZE)
    lines = textwrap.wrap(words, width=16) or [""]
    line_height = int(FONT_SIZE * 1.3)
    top = size[1] // 2 - line_height * (len(lines) - 1) // 2
    for row, line in enumerate(lines):
        draw.text((size[0] // 2, top + row * line_height), line, font=font, fill="white", anchor="mm")
    return image


def write_example_posts(folder: str | Path, posts: tuple[ExamplePost, ...] = EXAMPLE_POSTS) -> list[dict]:
    """Draw every card into `folder` and return pipeline inputs `{"text", "image"}` (+ `name`, `note`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for post in posts:
        item: dict = {"name": post.name, "note": post.note, "text": post.text, "image": None}
        if post.card is not None:
            path = folder / f"{post.name}.png"
            draw_card(post.card, post.background).save(path)
            item["image"] = str(path)
        inputs.append(item)
    return inputs
