"""Image inputs: every source kind, every PIL mode, EXIF, the pixel cap, URLs, clear errors.

The helpers here (in-memory image files, a local HTTP server) are imported by the pipeline and
caption-command tests too.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    animated_gif,
    closed_port_url,
    cmyk_jpeg,
    corrupt_jpeg,
    encode,
    half_png,
    png_declaring,
    sixteen_bit_png,
)
from PIL import Image

from multimodal_sentiment.modeling.image_inputs import (
    ImageInputError,
    ImageLimits,
    image_content_hash,
    load_image_input,
    to_rgb,
)

# ---------------------------------------------------------------- sources


def test_every_source_kind_gives_the_same_rgb_image(tmp_path, image_server, monkeypatch):
    original = Image.new("RGB", (9, 7), "red")
    data = encode(original)
    (tmp_path / "red.png").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    sources = {
        "relative path": "red.png",
        "absolute path": str(tmp_path / "red.png"),
        "pathlib": tmp_path / "red.png",
        "file URL": (tmp_path / "red.png").as_uri(),
        "PIL": original,
        "bytes": data,
        "bytearray": bytearray(data),
        "base64": base64.b64encode(data).decode(),
        "base64 with newlines": base64.encodebytes(data).decode(),
        "data URI": "data:image/png;base64," + base64.b64encode(data).decode(),
        "URL": image_server.base + "/ok.png",
        "numpy": np.asarray(original),
        "datasets dict": {"bytes": data, "path": None},
    }
    expected = image_content_hash(original)
    for name, source in sources.items():
        loaded = load_image_input(source)
        assert loaded.mode == "RGB" and loaded.size == (9, 7), name
        assert image_content_hash(loaded) == expected, name


@pytest.mark.parametrize(
    "image, expected_pixel",
    [
        (Image.new("RGBA", (4, 4), (255, 0, 0, 0)), (255, 255, 255)),  # fully transparent -> white, not red/black
        (Image.new("RGBA", (4, 4), (255, 0, 0, 255)), (255, 0, 0)),
        (Image.new("LA", (4, 4), (0, 0)), (255, 255, 255)),
        (Image.new("L", (4, 4), 128), (128, 128, 128)),
        (Image.new("1", (4, 4), 1), (255, 255, 255)),
        (Image.new("CMYK", (4, 4), (0, 0, 0, 0)), (255, 255, 255)),
        (Image.new("YCbCr", (4, 4), (255, 128, 128)), (255, 255, 255)),
        (Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)), (255, 255, 255)),  # I;16 scaled, not clipped
        (Image.fromarray(np.full((4, 4), 32896, dtype=np.uint16)), (128, 128, 128)),
        (Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32)), (128, 128, 128)),  # F in [0, 1]
        (Image.fromarray(np.full((4, 4), 1000, dtype=np.int32)), (4, 4, 4)),  # 32-bit I with 16-bit range
    ],
    ids=["RGBA-clear", "RGBA-opaque", "LA", "L", "1", "CMYK", "YCbCr", "I16-max", "I16-mid", "F", "I"],
)
def test_every_mode_becomes_rgb(image, expected_pixel):
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((1, 1)) == pytest.approx(expected_pixel, abs=1)


def test_palette_with_transparency_and_files_of_other_modes():
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([255, 0, 0] + [0, 0, 0] * 255)
    palette.info["transparency"] = 0
    assert load_image_input(encode(palette)).getpixel((0, 0)) == (255, 255, 255)
    assert load_image_input(sixteen_bit_png()).getpixel((0, 0)) == (255, 255, 255)
    cmyk = load_image_input(cmyk_jpeg())
    assert cmyk.mode == "RGB" and min(cmyk.getpixel((2, 2))) > 240


def test_exif_orientation_is_applied():
    pixels = Image.new("RGB", (20, 10), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display", as phones write it
    loaded = load_image_input(encode(pixels, "JPEG", exif=exif))
    assert loaded.size == (10, 20)


def test_animated_gif_uses_first_frame():
    loaded = load_image_input(animated_gif())
    assert loaded.size == (6, 6)
    red, green, blue = loaded.getpixel((3, 3))
    assert red > 200 and blue < 60


def test_one_pixel_image_is_accepted():
    assert load_image_input(encode(Image.new("RGB", (1, 1), "white"))).size == (1, 1)


# ---------------------------------------------------------------- limits


def test_pixel_cap_refuses_a_bomb_before_decoding():
    bomb = png_declaring(10_000, 6_000)  # 60 M pixels declared, no pixel data at all
    started = time.perf_counter()
    with pytest.raises(ImageInputError, match=r"10000x6000 = 60,000,000 pixels, above the cap of 50,000,000"):
        load_image_input(bomb)
    assert time.perf_counter() - started < 1.0  # refused from the header, nothing decoded
    with pytest.raises(ImageInputError, match="declares too many pixels"):
        load_image_input(png_declaring(20_000, 20_000))  # beyond PIL's own hard limit
    small = Image.new("RGB", (20, 20))
    with pytest.raises(ImageInputError, match="above the cap of 100"):
        load_image_input(small, ImageLimits(max_pixels=100))
    with pytest.raises(ImageInputError, match="above the cap"):
        load_image_input(np.zeros((20, 20, 3), dtype=np.uint8), ImageLimits(max_pixels=100))
    assert load_image_input(small, ImageLimits(max_pixels=None)).size == (20, 20)


def test_url_errors_timeout_size_cap_and_status(image_server):
    with pytest.raises(ImageInputError, match="answered HTTP 404"):
        load_image_input(image_server.base + "/missing.png")
    with pytest.raises(ImageInputError, match="timed out after 0.3 s"):
        load_image_input(image_server.base + "/slow", ImageLimits(timeout=0.3))
    with pytest.raises(ImageInputError, match="is 4096 bytes, above the 1000-byte cap"):
        load_image_input(image_server.base + "/huge", ImageLimits(max_bytes=1000))
    with pytest.raises(ImageInputError, match="could not be reached"):
        load_image_input(closed_port_url())
    with pytest.raises(ImageInputError, match="scheme 'ftp' is not supported"):
        load_image_input("ftp://example.com/a.png")


# ---------------------------------------------------------------- errors name the problem


@pytest.mark.parametrize(
    "make_source, message",
    [
        (lambda d: "no_such_photo.jpg", r"image file not found: 'no_such_photo.jpg' \(looked for .*no_such_photo.jpg"),
        (lambda d: "photos/cat", r"image file not found: 'photos/cat'.*not base64 image data either"),
        (lambda d: str(d), "is a directory, not an image file"),
        (lambda d: b"", r"is empty \(0 bytes\)"),
        (lambda d: half_png(), "image data is truncated or corrupt"),
        (lambda d: corrupt_jpeg(), "not an image in a format PIL reads"),
        (lambda d: b"hello, I am a text file\n" * 3, "bytes of text starting 'hello, I am a text file"),
        (lambda d: "data:image/png;base64,@@@notbase64@@@", "data URI carries invalid base64"),
        (lambda d: "QUJD" * 40, r"base64 image .* is not an image"),
        (lambda d: "data:image/png;base64" + "A" * 10, "no ','"),
        (lambda d: {"bytes": None, "path": None}, "neither 'bytes' nor 'path'"),
        (lambda d: np.zeros((2, 2, 5)), r"H x W x 3/4, got shape \(2, 2, 5\)"),
    ],
    ids=[
        "missing-relative",
        "missing-no-suffix",
        "directory",
        "zero-bytes",
        "truncated-png",
        "corrupt-jpeg",
        "text-bytes",
        "bad-data-uri",
        "base64-not-image",
        "data-uri-no-comma",
        "empty-dataset-dict",
        "bad-array",
    ],
)
def test_bad_sources_raise_clear_errors(tmp_path, monkeypatch, make_source, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageInputError, match=message):
        load_image_input(make_source(tmp_path))


def test_text_file_named_jpg_and_wrong_types(tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a picture")
    with pytest.raises(ImageInputError, match=r"image file '.*photo.jpg' is not an image .*text starting 'this is not"):
        load_image_input(fake)
    for wrong in (42, 3.5, ["a.png"], object()):
        with pytest.raises(TypeError, match="image must be a file path, URL, data URI, base64 string, bytes, PIL"):
            load_image_input(wrong)


def test_content_hash_tells_images_apart():
    red, blue = Image.new("RGB", (4, 4), "red"), Image.new("RGB", (4, 4), "blue")
    assert image_content_hash(red) != image_content_hash(blue)
    assert image_content_hash(red) != image_content_hash(Image.new("RGB", (4, 5), "red"))
    assert image_content_hash(load_image_input(encode(red))) == image_content_hash(red)


def test_loading_leaves_the_callers_image_alone():
    image = Image.new("RGBA", (3, 3), (0, 0, 0, 0))
    load_image_input(image)
    assert image.mode == "RGBA"


def test_fixture_files_are_what_they_claim(tmp_path: Path):
    assert Image.open(io.BytesIO(sixteen_bit_png())).mode.startswith("I")
    assert Image.open(io.BytesIO(cmyk_jpeg())).mode == "CMYK"
    assert getattr(Image.open(io.BytesIO(animated_gif())), "n_frames", 1) == 2
