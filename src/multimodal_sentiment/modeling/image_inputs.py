"""Turn whatever a user passes as an image into an upright RGB PIL image, or say clearly why not.

```python
>>> from PIL import Image
>>> from multimodal_sentiment.modeling.image_inputs import ImageLimits, load_image_input
>>> load_image_input(Image.new("RGBA", (4, 3))).mode
'RGB'
>>> load_image_input("missing.jpg")  # doctest: +SKIP
ImageInputError: image file not found: 'missing.jpg' (looked for /current/dir/missing.jpg; ...)
```

Accepted: a local path (str or `os.PathLike`), an `http(s)://` or `file://` URL, a `data:` URI,
a base64 string, raw `bytes`, a `PIL.Image.Image`, a numpy array (H x W or H x W x C), or the
`{"bytes": ..., "path": ...}` dict that `datasets.Image(decode=False)` yields.

Why not `transformers.image_utils.load_image` alone: a missing relative path falls through to
base64 decoding there ("Incorrect padding"), URLs have no size cap, nothing bounds the pixel
count before decoding, and 16-bit or transparent images are converted crudely. The conversion
rules here (EXIF orientation first, transparency onto white, 16-bit scaled down, first frame of
an animation) are the ones the pipeline and the caption command share.

Hub-bound: standard library, numpy and PIL only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import io
import os
import re
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# About 8000 x 6000: above any photo a captioner needs (they resize to ~384 px), far below what
# exhausts memory when a tiny compressed file declares huge dimensions (a decompression bomb).
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000
DEFAULT_MAX_IMAGE_BYTES = 32 * 1024 * 1024
DEFAULT_URL_TIMEOUT = 10.0

_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


class ImageInputError(ValueError):
    """An image input that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class ImageLimits:
    """Bounds applied while loading an image.

    max_pixels: width x height above which an image is refused before it is decoded (None: no cap).
    max_bytes: largest file or download accepted, in bytes (None: no cap); a local file's size is
        checked before it is read, a URL's as it arrives.
    timeout: wall-clock seconds allowed for a whole URL download (name lookup, connection,
        headers and body together).
    """

    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS
    max_bytes: int | None = DEFAULT_MAX_IMAGE_BYTES
    timeout: float = DEFAULT_URL_TIMEOUT


def describe_source(image: Any) -> str:
    """A short, readable name of an image input for error messages (never the whole payload)."""
    if isinstance(image, Image.Image):
        return f"<PIL image {image.mode} {image.width}x{image.height}>"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return f"<{len(image)} bytes>"
    if isinstance(image, np.ndarray):
        return f"<array {image.dtype} {tuple(image.shape)}>"
    text = os.fspath(image) if isinstance(image, os.PathLike) else image
    if isinstance(text, str):
        return repr(text if len(text) <= 80 else text[:60] + "..." + text[-12:])
    return f"<{type(image).__name__}>"


def load_image_input(image: Any, limits: ImageLimits | None = None) -> Image.Image:
    """Load one image input as an upright RGB `PIL.Image.Image`.

    ```python
    >>> load_image_input("photo.jpg").size  # doctest: +SKIP
    (640, 480)
    ```

    Raises `ImageInputError` (a `ValueError`) for anything that is not a usable image, with the
    reason (missing file, directory, not an image, truncated data, too many pixels, HTTP error,
    timeout, ...), and `TypeError` for a value of an unsupported type.
    """
    limits = limits or ImageLimits()
    _check_type(image)
    try:
        return _load(image, limits)
    except ImageInputError:
        raise
    except Exception as err:
        # The one place any other failure of PIL or its plug-ins on damaged data (OSError
        # "Truncated File Read", ValueError, SyntaxError, struct.error, IndexError, ...) becomes an
        # input error, so callers that record bad inputs (on_error="record") catch every one.
        raise ImageInputError(
            f"{_label(image)} cannot be decoded: it is truncated or corrupt ({type(err).__name__}: {err})"
        ) from err


def _check_type(image: Any) -> None:
    accepted = (Image.Image, bytes, bytearray, memoryview, np.ndarray, os.PathLike, str)
    if isinstance(image, accepted) or (isinstance(image, dict) and ("bytes" in image or "path" in image)):
        return
    raise TypeError(
        f"image must be a file path, URL, data URI, base64 string, bytes, PIL image or numpy array; "
        f"got {type(image).__name__}"
    )


def _label(image: Any) -> str:
    """How an error message names an input, before anything is known about its content."""
    if isinstance(image, dict):
        return _label(image["path"]) if image.get("path") and not image.get("bytes") else "image data"
    if isinstance(image, (str, os.PathLike, Image.Image)):
        return f"image {describe_source(image)}"
    return "image data"


def _load(image: Any, limits: ImageLimits) -> Image.Image:
    if isinstance(image, Image.Image):
        _check_pixels(image.size, limits, "image")
        return _finish(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image), limits, "image data")
    if isinstance(image, np.ndarray):
        return _from_array(image, limits)
    if isinstance(image, dict):
        # datasets.Image(decode=False) rows: {"bytes": b"..." or None, "path": "..." or None}
        if image.get("bytes"):
            return _decode(bytes(image["bytes"]), limits, "image data")
        if image.get("path"):
            return load_image_input(image["path"], limits)
        raise ImageInputError("image dict has neither 'bytes' nor 'path' filled in")
    if isinstance(image, os.PathLike):
        return _load_path(os.fspath(image), limits)
    return _load_string(image, limits)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB the way a viewer would show it.

    Transparency is laid on white (a plain `convert("RGB")` exposes whatever colour hides under
    alpha 0, often black); 16- and 32-bit grey is scaled to 8 bits instead of being clipped.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        values = np.asarray(image).astype(np.float64)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if mode in _SIXTEEN_BIT_MODES or (low >= 0 and 255 < high <= 65535):
            values = values / 257.0
        elif mode == "F" and low >= 0 and high <= 1:
            values = values * 255.0  # float images in [0, 1]
        elif low < 0 or high > 65535:
            values = (values - low) / max(high - low, 1e-12) * 255.0
        grey = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    try:
        return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    except (ValueError, OSError) as err:
        raise ImageInputError(f"cannot convert image mode {mode!r} to RGB ({err})") from err


def image_content_hash(image: Image.Image) -> str:
    """Hash of the decoded pixels: the same picture from a path, bytes or PIL hashes the same."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.mode}:{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- sources


def _load_string(value: str, limits: ImageLimits) -> Image.Image:
    stripped = value.strip()
    lowered = stripped.lower()
    if lowered.startswith(("http://", "https://")):
        return _decode(_fetch_url(stripped, limits), limits, f"image URL {describe_source(stripped)}")
    if lowered.startswith("file://"):
        return _load_path(urllib.request.url2pathname(urllib.parse.urlparse(stripped).path), limits)
    if lowered.startswith("data:"):
        return _decode(_decode_data_uri(stripped), limits, "image data URI")
    if _URL_SCHEME.match(stripped):
        scheme = stripped.split("://", 1)[0]
        raise ImageInputError(
            f"image URL scheme {scheme!r} is not supported in {describe_source(value)}; use http(s)://, "
            "file://, a local path, or download the file first"
        )
    if os.path.exists(value):
        return _load_path(value, limits)
    absolute = os.path.abspath(value)
    not_found = (
        f"image file not found: {describe_source(value)} (looked for {absolute}; relative paths are "
        f"resolved against the current directory {os.getcwd()})"
    )
    # Base64 never contains '.', so 'cat.jpg' or 'photos/a.png' can only have been meant as a path.
    if "." in value or not _BASE64_CHARS.match(stripped):
        raise ImageInputError(not_found)
    try:
        return _decode(_b64decode(stripped), limits, f"base64 image {describe_source(value)}")
    except (binascii.Error, ValueError) as err:
        if len(stripped) < 64:  # too short to be an encoded image: most likely a mistyped path
            raise ImageInputError(f"{not_found}; it is not base64 image data either") from err
        if isinstance(err, ImageInputError):
            raise
        raise ImageInputError(f"image {describe_source(value)} is not valid base64 ({err})") from err


def _load_path(path: str, limits: ImageLimits) -> Image.Image:
    label = f"image file {describe_source(path)}"
    try:
        info = os.stat(path)  # size and kind before a single byte is read
    except FileNotFoundError:
        raise ImageInputError(
            f"image file not found: {describe_source(path)} (looked for {os.path.abspath(path)})"
        ) from None
    except OSError as err:
        raise ImageInputError(f"{label} cannot be read ({err.strerror or err})") from err
    if stat.S_ISDIR(info.st_mode):
        raise ImageInputError(f"image path {describe_source(path)} is a directory, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageInputError(
            f"image path {describe_source(path)} is not a regular file (it is a {_file_kind(info.st_mode)}); "
            "give the path of an image file"
        )
    if limits.max_bytes and info.st_size > limits.max_bytes:
        raise ImageInputError(
            f"{label} is {info.st_size:,} bytes, above the cap of {limits.max_bytes:,} bytes "
            "(raise max_image_bytes if the image is genuine)"
        )
    try:
        with open(path, "rb") as handle:
            # Read at most one byte past the cap: a file that grew since stat cannot exhaust memory.
            data = handle.read(limits.max_bytes + 1) if limits.max_bytes else handle.read()
    except OSError as err:
        raise ImageInputError(f"{label} cannot be read ({err.strerror or err})") from err
    if limits.max_bytes and len(data) > limits.max_bytes:
        raise ImageInputError(
            f"{label} is more than {limits.max_bytes:,} bytes, above the cap "
            "(raise max_image_bytes if the image is genuine)"
        )
    return _decode(data, limits, label)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "named pipe"),
             (stat.S_ISSOCK, "socket"))  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "special file")


def _b64decode(text: str) -> bytes:
    compact = re.sub(r"\s+", "", text)
    if not compact:
        raise ValueError("empty string")
    compact += "=" * (-len(compact) % 4)  # tolerate stripped padding
    if "-" in compact or "_" in compact:
        return base64.urlsafe_b64decode(compact)
    return base64.b64decode(compact, validate=True)


def _decode_data_uri(uri: str) -> bytes:
    header, sep, payload = uri.partition(",")
    if not sep:
        raise ImageInputError("image data URI has no ',' separating its header from the data")
    if ";base64" not in header.lower():
        # RFC 2397 allows percent-encoded payloads; images are practically always base64.
        return urllib.parse.unquote_to_bytes(payload)
    try:
        return _b64decode(payload)
    except (binascii.Error, ValueError) as err:
        raise ImageInputError(f"image data URI carries invalid base64 ({err})") from err


def _fetch_url(url: str, limits: ImageLimits) -> bytes:
    """Download `url` within `limits.timeout` seconds of wall-clock time, all of it included: name
    lookup, connection, headers and body. A socket timeout alone bounds each read, not the whole;
    a server that drips a byte every second would hold the caller forever. So the download runs
    in a worker thread that the caller waits for at most `timeout` seconds; the worker stops on
    its own at the same deadline (reads return what has arrived and the clock is checked)."""
    label = f"image URL {describe_source(url)}"
    deadline = time.monotonic() + limits.timeout
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["data"] = _download(url, limits, label, deadline)
        except BaseException as err:  # handed to the caller's thread
            outcome["error"] = err

    worker = threading.Thread(target=work, name="image-url-download", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()) + 0.05)
    if worker.is_alive() or not outcome:
        raise ImageInputError(f"{label} timed out after {limits.timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["data"]


def _download(url: str, limits: ImageLimits, label: str, deadline: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "multimodal-sentiment/pipeline"})
    timed_out = f"{label} timed out after {limits.timeout:g} s"
    chunks: list[bytes] = []
    total = 0
    try:
        with urllib.request.urlopen(request, timeout=limits.timeout) as response:
            declared = response.headers.get("Content-Length")
            if limits.max_bytes and declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise ImageInputError(f"{label} is {int(declared)} bytes, above the {limits.max_bytes}-byte cap")
            while True:
                if time.monotonic() > deadline:
                    raise ImageInputError(timed_out)
                chunk = response.read1(64 * 1024)  # returns what has arrived, not a full 64 KiB
                if not chunk:
                    break
                total += len(chunk)
                if limits.max_bytes and total > limits.max_bytes:
                    raise ImageInputError(f"{label} sent more than the {limits.max_bytes}-byte cap")
                chunks.append(chunk)
    except ImageInputError:
        raise
    except urllib.error.HTTPError as err:
        raise ImageInputError(f"{label} answered HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise ImageInputError(timed_out) from err
        raise ImageInputError(f"{label} could not be reached ({err.reason})") from err
    except TimeoutError as err:  # socket.timeout is TimeoutError since 3.10
        raise ImageInputError(timed_out) from err
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise ImageInputError(f"{label} could not be downloaded ({err})") from err
    if time.monotonic() > deadline:
        raise ImageInputError(timed_out)
    return b"".join(chunks)


# ---------------------------------------------------------------- decoding


def _check_pixels(size: tuple[int, int], limits: ImageLimits, label: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ImageInputError(f"{label} has no pixels ({width}x{height})")
    if limits.max_pixels and width * height > limits.max_pixels:
        raise ImageInputError(
            f"{label} is {width}x{height} = {width * height:,} pixels, above the cap of {limits.max_pixels:,} "
            "(a guard against decompression bombs; raise max_image_pixels if the image is genuine)"
        )


def _decode(data: bytes, limits: ImageLimits, label: str) -> Image.Image:
    if not data:
        raise ImageInputError(f"{label} is empty (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise ImageInputError(f"{label} declares too many pixels ({err})") from err
    except UnidentifiedImageError as err:
        raise ImageInputError(f"{label} is not an image in a format PIL reads ({_sniff(data)})") from err
    except Exception as err:  # a header cut short or damaged: OSError, ValueError, SyntaxError, ...
        raise ImageInputError(f"{label} is truncated or corrupt ({type(err).__name__}: {err})") from err
    # Image.open reads only the header: refuse bombs before any pixel is decoded.
    _check_pixels(image.size, limits, label)
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animations (GIF, APNG, WebP): the first frame describes the post
        image.load()
        return _finish(image)
    except ImageInputError:
        raise
    except Exception as err:  # PIL raises OSError, SyntaxError, struct.error, ... for damaged data
        raise ImageInputError(f"{label} is truncated or corrupt ({type(err).__name__}: {err})") from err


def _finish(image: Image.Image) -> Image.Image:
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    try:
        upright = ImageOps.exif_transpose(image)  # phones store rotation in EXIF, not in the pixels
    except Exception:  # a damaged EXIF block must not cost the whole image
        upright = image
    return to_rgb(upright if upright is not None else image)


def _from_array(array: np.ndarray, limits: ImageLimits) -> Image.Image:
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ImageInputError(f"image array must be H x W or H x W x 3/4, got shape {tuple(array.shape)}")
    _check_pixels((array.shape[1], array.shape[0]), limits, "image array")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and array.min() >= 0 and array.max() <= 1:
            array = np.round(array * 255.0)
        array = np.clip(array, 0, 255).astype(np.uint8)
    return to_rgb(Image.fromarray(np.ascontiguousarray(array)))


def _sniff(data: bytes) -> str:
    head = data[:64]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(data)} bytes starting {data[:8]!r}"
    if text.isprintable() or all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return f"{len(data)} bytes of text starting {text[:24]!r}"
    return f"{len(data)} bytes starting {data[:8]!r}"


__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_URL_TIMEOUT",
    "ImageInputError",
    "ImageLimits",
    "describe_source",
    "image_content_hash",
    "load_image_input",
    "to_rgb",
]
