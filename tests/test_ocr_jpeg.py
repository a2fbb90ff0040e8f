"""OCR reads spaces on JPEGs (issue 14.8): the demo's cards read the same saved as PNG and as JPEG."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from multimodal_sentiment.demo.examples import EXAMPLE_POSTS, draw_card
from multimodal_sentiment.modeling.image_to_text import OcrReader, clean_for_ocr


def _saved(image: Image.Image, kind: str, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, kind, **({"quality": quality} if kind == "JPEG" else {}))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def test_cleaning_keeps_size_and_mode_and_is_in_the_cache_key():
    card = draw_card("Rain all weekend", (70, 90, 120))
    cleaned = clean_for_ocr(card)
    assert cleaned.size == card.size and cleaned.mode == "RGB"
    assert OcrReader().identity()["clean"] == "respace:grey+autocontrast+median3,lines>=20px,same-letters"
    assert "clean" not in OcrReader(clean=False).identity()


@pytest.mark.slow
def test_demo_cards_read_the_same_as_png_and_jpeg():
    pytest.importorskip("rapidocr_onnxruntime", reason="real RapidOCR (the `offline` extra)")
    cards = [(post.card, post.background) for post in EXAMPLE_POSTS if post.card]
    cards += [(words.upper(), background) for words, background in cards]  # "I HATE MONDAYS" as in the issue
    images = []
    for words, background in cards:
        card = draw_card(words, background)
        images += [_saved(card, "PNG"), _saved(card, "JPEG"), _saved(card, "JPEG", quality=50)]
    texts = OcrReader().describe(images)
    for position, (words, _) in enumerate(cards):
        png, jpeg, rough = texts[3 * position : 3 * position + 3]
        assert png.lower() == " ".join(words.split()).lower(), (words, png)
        assert jpeg == png and rough == png, (words, png, jpeg, rough)


@pytest.mark.slow
def test_small_text_is_read_as_it_is():
    """The cleaning never costs small text its letters (a 3x3 median would erase 10 px strokes)."""
    pytest.importorskip("rapidocr_onnxruntime", reason="real RapidOCR (the `offline` extra)")
    from PIL import ImageDraw

    image = Image.new("RGB", (640, 360), "white")
    ImageDraw.Draw(image).text((50, 150), "FINISHED MY FIRST MARATHON", fill="black")  # PIL's 10 px font
    reader, plain = OcrReader(), OcrReader(clean=False)
    for copy in (_saved(image, "PNG"), _saved(image, "JPEG")):
        assert reader.describe([copy]) == plain.describe([copy])
        assert "MARATHON" in reader.describe([copy])[0]
