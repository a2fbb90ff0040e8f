"""Damaged and hostile image inputs: a seeded fuzz over mutated JPEG / PNG / GIF / WebP bytes
through the pipeline, local files past the size cap or not regular files, and a URL that drips.

The fuzz runs `FUZZ_CASES` cases in the default suite and `SLOW_FUZZ_CASES` (>= 2,000) in the
slow one; a failure names the seed and the case, so it replays exactly.
"""

from __future__ import annotations

import io
import os
import random
import socket
import threading
import time
from dataclasses import dataclass

import helpers
import numpy as np
import pytest
from PIL import Image

from multimodal_sentiment.modeling.image_inputs import ImageInputError, ImageLimits, load_image_input

FUZZ_SEED = 15
FUZZ_CASES = 160
SLOW_FUZZ_CASES = 2400
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


# ---------------------------------------------------------------- the fuzz corpus


def _originals() -> dict[str, bytes]:
    """One small, valid file per format (noise, so the compressed data is not trivial)."""
    noise = (np.random.RandomState(FUZZ_SEED).rand(20, 24, 3) * 255).astype(np.uint8)
    picture = Image.fromarray(noise)
    files = {}
    for fmt in FORMATS:
        buffer = io.BytesIO()
        if fmt == "GIF":  # an animation: a second frame exercises seek()
            picture.save(buffer, fmt, save_all=True, append_images=[picture.rotate(90)], duration=40, loop=0)
        elif fmt == "JPEG":
            exif = Image.Exif()
            exif[0x0112] = 6  # orientation: exif_transpose runs on the damaged file too
            picture.save(buffer, fmt, exif=exif, quality=80)
        else:
            picture.save(buffer, fmt)
        files[fmt] = buffer.getvalue()
    return files


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes


def fuzz_cases(count: int, seed: int = FUZZ_SEED) -> list[Case]:
    """`count` damaged files: first a cut at every offset of each file's first bytes (its
    header), then seeded random byte flips, overwritten runs, insertions, deletions and cuts."""
    rng = random.Random(seed)
    originals = _originals()
    cases: list[Case] = []
    header_cuts = [(fmt, cut) for cut in range(0, 160) for fmt in FORMATS if cut < len(originals[fmt])]
    for fmt, cut in header_cuts[: count // 3]:
        cases.append(Case(f"{fmt} cut at byte {cut}", originals[fmt][:cut]))
    while len(cases) < count:
        fmt = rng.choice(FORMATS)
        data = bytearray(originals[fmt])
        kind = rng.choice(("flip", "flip", "run", "insert", "delete", "cut"))
        if kind == "flip":
            positions = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 8)))
            for position in positions:
                data[position] = rng.randrange(256)
            name = f"{fmt} bytes {positions} flipped"
        elif kind == "run":
            start, length = rng.randrange(len(data)), rng.randint(2, 64)
            data[start : start + length] = bytes([rng.choice((0x00, 0xFF, rng.randrange(256)))]) * length
            name = f"{fmt} run of {length} bytes at {start} overwritten"
        elif kind == "insert":
            start = rng.randrange(len(data))
            data[start:start] = rng.randbytes(rng.randint(1, 32))
            name = f"{fmt} bytes inserted at {start}"
        elif kind == "delete":
            start = rng.randrange(len(data))
            del data[start : start + rng.randint(1, 32)]
            name = f"{fmt} bytes deleted at {start}"
        else:
            cut = rng.randrange(len(data))
            name = f"{fmt} cut at byte {cut} (body)"
            data = data[:cut]
        cases.append(Case(name, bytes(data)))
    return cases


def _constant_captioner(images: list[Image.Image]) -> list[str]:
    return ["a picture" for _ in images]


def run_fuzz(tiny_era, tokenizer, tmp_path, count: int) -> dict[str, int]:
    """Every case straight through `load_image_input` (only ImageInputError may come out), then
    through the pipeline with on_error="record", half as bytes and half as files on disk (zero
    exceptions escape; every error names its post's index and, for files, the file)."""
    cases = fuzz_cases(count)
    for case in cases:
        try:
            load_image_input(case.data)
        except ImageInputError:
            pass
        except Exception as err:  # noqa: BLE001 - the point of the test
            pytest.fail(f"seed {FUZZ_SEED}, case {case.name!r}: {type(err).__name__} escaped: {err}")

    posts, files = [], {}
    for number, case in enumerate(cases):
        if number % 2:
            path = tmp_path / f"case{number:05d}.img"
            path.write_bytes(case.data)
            files[number] = path.name
            posts.append({"text": f"post {number}", "image": str(path)})
        else:
            posts.append({"text": f"post {number}", "image": case.data})
    classifier = helpers.in_process(tiny_era, tokenizer, captioner=_constant_captioner)
    try:
        results = classifier(posts, batch_size=16, on_error="record")
    except Exception as err:  # noqa: BLE001 - find the case that let it out
        for number, post in enumerate(posts):
            try:
                classifier(post, on_error="record")
            except Exception as single:  # noqa: BLE001
                pytest.fail(f"seed {FUZZ_SEED}, case {cases[number].name!r}: {type(single).__name__} escaped: {single}")
        raise AssertionError(f"the batched call raised but no single case does: {err!r}") from err

    assert len(results) == len(cases)
    tally = {"ok": 0, "error": 0}
    for number, result in enumerate(results):
        if result.get("error") is None:
            assert result["label"] in {"negative", "neutral", "positive"}, cases[number].name
            tally["ok"] += 1
            continue
        tally["error"] += 1
        assert result["index"] == number and result["label"] is None
        assert result["error"].startswith(f"input {number}: "), (cases[number].name, result["error"])
        if number in files:
            assert files[number] in result["error"], (cases[number].name, result["error"])
    return tally


def test_fuzzed_images_never_escape_the_pipeline(tiny_era, tokenizer, tmp_path):
    tally = run_fuzz(tiny_era, tokenizer, tmp_path, FUZZ_CASES)
    assert tally["error"] > FUZZ_CASES // 3  # the header cuts alone are errors: the fuzz bites


@pytest.mark.slow
def test_fuzzed_images_never_escape_the_pipeline_thousands(tiny_era, tokenizer, tmp_path):
    tally = run_fuzz(tiny_era, tokenizer, tmp_path, SLOW_FUZZ_CASES)
    assert sum(tally.values()) == SLOW_FUZZ_CASES >= 2000 and tally["error"] > SLOW_FUZZ_CASES // 3


def test_fuzz_corpus_is_seeded_and_covers_every_format():
    first, again = fuzz_cases(60), fuzz_cases(60)
    assert [c.data for c in first] == [c.data for c in again]
    assert {c.name.split()[0] for c in first} == set(FORMATS)


def test_a_jpeg_cut_inside_its_header_is_an_input_error():
    """The campaign's case: PIL's own OSError ("Truncated File Read") used to escape."""
    jpeg = _originals()["JPEG"]
    messages = []
    for cut in range(2, 120):
        with pytest.raises(ImageInputError) as caught:
            load_image_input(jpeg[:cut])
        messages.append(str(caught.value))
    truncated = [m for m in messages if m.startswith("image data is truncated or corrupt (OSError: ")]
    unknown = [m for m in messages if m.startswith("image data is not an image in a format PIL reads (")]
    assert len(truncated) + len(unknown) == len(messages) and len(truncated) > 50


# ---------------------------------------------------------------- local files: size cap, special files


def test_local_file_above_the_byte_cap_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.jpg"
    with big.open("wb") as handle:
        handle.truncate(3 * 1024**3)  # a sparse 3 GB file: nothing on disk, 3 GB if read
    opened = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or pytest.fail("the file was opened"))
    started = time.perf_counter()
    with pytest.raises(ImageInputError) as caught:
        load_image_input(str(big))
    assert time.perf_counter() - started < 1.0 and not opened
    assert str(caught.value) == (
        f"image file '{big}' is 3,221,225,472 bytes, above the cap of 33,554,432 bytes "
        "(raise max_image_bytes if the image is genuine)"
    )
    monkeypatch.undo()
    small = tmp_path / "small.png"
    Image.new("RGB", (4, 4), "red").save(small)
    with pytest.raises(ImageInputError, match=r"small.png' is \d+ bytes, above the cap of 10 bytes"):
        load_image_input(small, ImageLimits(max_bytes=10))
    assert load_image_input(small, ImageLimits(max_bytes=None)).size == (4, 4)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_and_pipe_are_not_regular_files(tmp_path):
    with pytest.raises(ImageInputError) as caught:
        load_image_input("/dev/zero")
    assert str(caught.value) == (
        "image path '/dev/zero' is not a regular file (it is a character device); give the path of an image file"
    )
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageInputError, match=r"pipe.png' is not a regular file \(it is a named pipe\)"):
        load_image_input(fifo)  # opening a pipe with no writer would block forever


# ---------------------------------------------------------------- a URL that drips


class DripServer:
    """A raw HTTP server on 127.0.0.1 that sends one byte every `interval` seconds, forever:
    in the body (`/body`) or already in the status line and headers (`/headers`)."""

    def __init__(self, interval: float):
        self.interval = interval
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        with connection:
            request = connection.recv(4096).decode("latin-1")
            head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
            body = head * 1000 if " /headers " in request else b""
            try:
                if not body:
                    connection.sendall(head)
                    body = b"\x89PNG" + b"\0" * 100_000
                for byte in body:
                    if self.stop.wait(self.interval):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def drip_server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = DripServer(interval=0.3)
    yield server
    server.close()


@pytest.mark.parametrize("path", ["/body", "/headers"])
def test_a_dripping_url_returns_within_the_timeout(drip_server, path):
    timeout = 1.5
    started = time.monotonic()
    with pytest.raises(ImageInputError) as caught:
        load_image_input(drip_server.base + path + ".png", ImageLimits(timeout=timeout))
    elapsed = time.monotonic() - started
    assert str(caught.value) == f"image URL '{drip_server.base}{path}.png' timed out after 1.5 s"
    assert timeout - 0.1 <= elapsed < timeout + 2.0, elapsed
