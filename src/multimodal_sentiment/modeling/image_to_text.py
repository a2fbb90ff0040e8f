"""Image-to-text views: VLM captions, OCR, user callables, and the description cache.

```python
>>> from PIL import Image
>>> from multimodal_sentiment.modeling.image_to_text import DescriptionCache, ImageDescriber, build_captioner
>>> captioner = build_captioner(lambda images: ["a red square"] * len(images))
>>> describer = ImageDescriber({"caption": lambda: captioner}, cache=DescriptionCache(max_entries=100))
>>> describer.describe([Image.new("RGB", (8, 8), "red")], views=["caption"])
[('a red square', ['caption'])]
```

A captioner is either
- a transformers image-text-to-text model (id or folder, loaded lazily on its first batch, or an
  already loaded `pipeline("image-text-to-text", ...)`): BLIP-style captioners get the prompt as
  a text prefix ("a picture of"), chat VLMs (their processor has a chat template) get it as the
  user message; a whole batch of images goes through ONE `generate` call and only the newly
  generated text is kept, so descriptions read like the captions models are trained on;
- or any callable that takes a list of PIL images and returns one string per image.

OCR (`"ocr"` view) uses RapidOCR when `rapidocr-onnxruntime` is installed.

Hub-bound: torch, transformers, PIL and the standard library at top level; RapidOCR is imported
only when the OCR view is first used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from .image_inputs import image_content_hash
from .text_pairs import DEFAULT_VIEW_SEPARATOR, compose_description, normalize_whitespace

CAPTION_VIEW = "caption"
OCR_VIEW = "ocr"
# Chat VLMs need a user message; used when the configured prompt is empty.
DEFAULT_CHAT_PROMPT = "Describe this image in one sentence."
DEFAULT_CACHE_ENTRIES = 10_000
# Families whose processor ends a text prefix with [SEP]; left in place, generation would start
# after an end-of-text token instead of continuing the prefix (BLIP drops it inside generate).
_DROP_TRAILING_SEPARATOR = {"git"}
# Arguments that only select the files to load; they go to the processor as well as the model.
_SHARED_LOAD_KWARGS = ("trust_remote_code", "token", "cache_dir", "local_files_only", "subfolder")


class CaptionerUnavailableError(RuntimeError):
    """A captioner the caller named cannot be loaded here (offline and not cached, missing files or
    packages); the message names it and the remedies."""


class CaptionerFallbackWarning(UserWarning):
    """The config's captioner cannot be loaded here, so images are described with OCR instead."""


class ImageToText:
    """One image-to-text view: a batch of RGB PIL images in, one string per image out."""

    def identity(self, prompt: str | None = None, max_new_tokens: int | None = None) -> dict[str, Any]:
        """What, besides the image, determines the output: the fields of the cache key."""
        raise NotImplementedError

    def describe(
        self, images: Sequence[Image.Image], prompt: str | None = None, max_new_tokens: int | None = None
    ) -> list[str]:
        raise NotImplementedError


class TransformersCaptioner(ImageToText):
    """A transformers image-text-to-text model used as a batched captioner.

    ```python
    >>> captioner = TransformersCaptioner("Salesforce/blip-image-captioning-base", prompt="a picture of")
    >>> captioner.describe([Image.open("beach.jpg"), Image.open("rain.jpg")])  # one generate call
    ['a group of people on the beach', 'a wet street at night']
    ```

    Args:
        source: model id or folder (loaded on the first `describe`, so constructing one costs
            nothing), or a loaded `pipeline("image-text-to-text", ...)` whose model and processor
            are reused.
        revision: branch, tag or commit of `source`; part of the cache key.
        prompt: text prefix (BLIP-style) or user message (chat VLMs). None or "" captions
            unconditionally where the model allows it.
        max_new_tokens: generation length; `generate_kwargs` adds any other setting (num_beams...).
        device, dtype: where and how the lazily loaded model runs (dtype None means "auto").
        load_kwargs: extra `from_pretrained` arguments (trust_remote_code, token, attn_implementation...).
    """

    def __init__(
        self,
        source: Any,
        *,
        revision: str | None = None,
        prompt: str | None = None,
        max_new_tokens: int = 40,
        generate_kwargs: Mapping[str, Any] | None = None,
        device: str | torch.device | None = None,
        dtype: Any = None,
        load_kwargs: Mapping[str, Any] | None = None,
    ):
        self.prompt = prompt
        self.max_new_tokens = int(max_new_tokens)
        self.generate_kwargs = dict(generate_kwargs or {})
        self.device = device
        self.dtype = dtype
        self.load_kwargs = dict(load_kwargs or {})
        self.revision = revision
        self.model = self.processor = None
        self._lock = threading.Lock()
        if isinstance(source, (str, os.PathLike)):
            self.source = os.fspath(source)
        elif hasattr(source, "model") and hasattr(source, "processor"):
            if source.processor is None:
                raise TypeError(
                    "The captioner pipeline has no processor; build it with "
                    "pipeline('image-text-to-text', model=...) so images and prompts can be batched."
                )
            self.model, self.processor = source.model, source.processor
            self.source = getattr(source.model, "name_or_path", "") or type(source.model).__name__
            self.revision = revision or getattr(source.model.config, "_commit_hash", None)
        else:
            raise TypeError(f"captioner source must be a model id, a folder or a pipeline, got {type(source).__name__}")

    def load(self) -> None:
        """Load the model and processor now (otherwise the first `describe` does)."""
        self._ensure_loaded()

    def identity(self, prompt: str | None = None, max_new_tokens: int | None = None) -> dict[str, Any]:
        return {
            "captioner": self.source,
            "revision": self.revision,
            "prompt": self.prompt if prompt is None else prompt,
            "generation": {"max_new_tokens": max_new_tokens or self.max_new_tokens, **self.generate_kwargs},
        }

    def describe(
        self, images: Sequence[Image.Image], prompt: str | None = None, max_new_tokens: int | None = None
    ) -> list[str]:
        """Caption `images` with one `generate` call; returns only the generated text per image."""
        images = list(images)
        if not images:
            return []
        model, processor = self._ensure_loaded()
        prompt = self.prompt if prompt is None else prompt
        inputs = self._model_inputs(model, processor, images, prompt)
        prompt_ids = inputs.get("input_ids")
        settings = {"max_new_tokens": max_new_tokens or self.max_new_tokens, **self.generate_kwargs}
        with torch.inference_mode():
            output = model.generate(**inputs, **settings)
        sequences = output if isinstance(output, torch.Tensor) else output.sequences
        return self._new_text(processor, sequences, prompt_ids)

    # ------------------------------------------------------------ internals

    def _ensure_loaded(self) -> tuple[Any, Any]:
        with self._lock:  # several threads may hit the first batch at once: load once
            if self.model is None:
                shared = {k: self.load_kwargs[k] for k in _SHARED_LOAD_KWARGS if k in self.load_kwargs}
                self.processor = AutoProcessor.from_pretrained(self.source, revision=self.revision, **shared)
                model = AutoModelForImageTextToText.from_pretrained(
                    self.source, revision=self.revision, dtype=self.dtype or "auto", **self.load_kwargs
                )
                if self.device is not None and "device_map" not in self.load_kwargs:
                    model = model.to(self.device)
                self.model = model.eval()
        return self.model, self.processor

    def _model_inputs(self, model: Any, processor: Any, images: list[Image.Image], prompt: str | None) -> dict:
        if getattr(processor, "chat_template", None):
            message = [
                {
                    "role": "user",
                    "content": [{"type": "image"}, {"type": "text", "text": prompt or DEFAULT_CHAT_PROMPT}],
                }
            ]
            text = processor.apply_chat_template(message, add_generation_prompt=True)
            # Left padding: every row must end where generation starts. The template already
            # holds the special tokens it wants (as apply_chat_template(tokenize=True) assumes).
            batch = processor(
                images=[[image] for image in images],
                text=[text] * len(images),
                return_tensors="pt",
                padding=True,
                padding_side="left",
                add_special_tokens=False,
            )
        elif prompt:
            # The same prefix for every image: equal lengths, nothing to pad.
            batch = processor(images=images, text=[prompt] * len(images), return_tensors="pt")
        else:
            batch = processor(images=images, return_tensors="pt")
        batch = dict(batch)
        model_type = getattr(model.config, "model_type", "")
        separator = getattr(getattr(processor, "tokenizer", None), "sep_token_id", None)
        ids = batch.get("input_ids")
        if model_type in _DROP_TRAILING_SEPARATOR and ids is not None and separator is not None:
            if bool((ids[:, -1] == separator).all()):
                batch["input_ids"] = ids[:, :-1]
                if "attention_mask" in batch:
                    batch["attention_mask"] = batch["attention_mask"][:, :-1]
        accepted = inspect.signature(model.forward).parameters
        if "token_type_ids" not in accepted:
            batch.pop("token_type_ids", None)  # BERT-vocabulary processors add them; GIT's generate refuses them
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
            batch = {k: v for k, v in batch.items() if k in accepted}
        dtype = model.dtype
        return {
            k: (v.to(model.device, dtype=dtype) if v.is_floating_point() else v.to(model.device))
            if isinstance(v, torch.Tensor)
            else v
            for k, v in batch.items()
        }

    @staticmethod
    def _new_text(processor: Any, sequences: torch.Tensor, prompt_ids: torch.Tensor | None) -> list[str]:
        decoder = getattr(processor, "tokenizer", None) or processor
        sequences = sequences.cpu()
        if prompt_ids is not None:
            prompt_ids = prompt_ids.cpu()
            width = prompt_ids.shape[1]
            # Decoder-only models echo the prompt token for token: cut it off exactly.
            if sequences.shape[1] >= width and torch.equal(sequences[:, :width], prompt_ids):
                texts = decoder.batch_decode(sequences[:, width:], skip_special_tokens=True)
                return [normalize_whitespace(t) for t in texts]
        texts = decoder.batch_decode(sequences, skip_special_tokens=True)
        if prompt_ids is None:
            return [normalize_whitespace(t) for t in texts]
        # BLIP-style models echo the prefix without its end token: cut the decoded prefix off,
        # as the image-text-to-text pipeline does (it may sit after a couple of spaces).
        prefixes = decoder.batch_decode(prompt_ids, skip_special_tokens=True)
        out = []
        for text, prefix in zip(texts, prefixes, strict=True):
            prefix = prefix.strip()
            at = text.find(prefix) if prefix else -1
            out.append(normalize_whitespace(text[at + len(prefix) :] if 0 <= at <= 2 else text))
        return out


class CallableCaptioner(ImageToText):
    """A user function `list[PIL.Image] -> list[str]` used as a captioner.

    ```python
    >>> captioner = CallableCaptioner(lambda images: ["a photo"] * len(images), name="my-captioner-v1")
    ```

    `name` (or a `captioner_id` attribute on the function) names it in the description cache;
    give each distinct function its own name when a cache file is shared between runs.
    """

    def __init__(self, fn: Callable[[list[Image.Image]], Sequence[str]], name: str | None = None):
        if not callable(fn):
            raise TypeError(f"captioner must be callable, got {type(fn).__name__}")
        self.fn = fn
        qualified = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        self.source = name or getattr(fn, "captioner_id", None) or f"callable:{qualified}"

    def identity(self, prompt: str | None = None, max_new_tokens: int | None = None) -> dict[str, Any]:
        return {"captioner": self.source}

    def describe(
        self, images: Sequence[Image.Image], prompt: str | None = None, max_new_tokens: int | None = None
    ) -> list[str]:
        images = list(images)
        output = self.fn(images)
        if isinstance(output, str) or not isinstance(output, Sequence):
            raise TypeError(f"captioner {self.source} must return a list of strings, got {type(output).__name__}")
        if len(output) != len(images):
            raise ValueError(f"captioner {self.source} returned {len(output)} descriptions for {len(images)} images")
        bad = [type(t).__name__ for t in output if t is not None and not isinstance(t, str)]
        if bad:
            raise TypeError(f"captioner {self.source} must return strings, got {bad[0]}")
        return [normalize_whitespace(t) for t in output]


CLEAN_FOR_OCR = "respace:grey+autocontrast+median3,lines>=20px,same-letters"
# The median filter is harmless to letters at least this tall (pixels of the line box); smaller
# text could lose strokes, so it is read from the image as it is.
_CLEAN_MIN_LINE_HEIGHT = 20


def _tallest_line(result: Any) -> float:
    """Height in pixels of the tallest text line RapidOCR found (0 without boxes)."""
    heights = []
    for item in result or []:
        try:
            ys = [float(point[1]) for point in item[0]]
        except (TypeError, ValueError, IndexError):
            continue
        heights.append(max(ys) - min(ys))
    return max(heights, default=0.0)


def clean_for_ocr(image: Image.Image) -> Image.Image:
    """The copy of `image` OCR reads (`OcrReader(clean=True)`): grey levels, contrast stretched,
    3x3 median filter; RGB again, as RapidOCR expects."""
    from PIL import ImageFilter, ImageOps

    grey = ImageOps.autocontrast(image.convert("L"))
    return grey.filter(ImageFilter.MedianFilter(3)).convert("RGB")


class OcrReader(ImageToText):
    """Text written in the image (memes, screenshots), read by RapidOCR (`rapidocr-onnxruntime`).

    ```python
    >>> OcrReader().describe([Image.open("meme.png")])
    ['BEST DAY EVER']
    ```

    Lines whose recognition confidence is below `min_score` are dropped. The engine is created
    on first use; RapidOCR is imported only then.

    `clean=True` (default) fixes the word spaces of large text. JPEG compression leaves "mosquito"
    noise around high-contrast letters; in the gaps between words it looks like ink to the
    recogniser, whose CTC decoding then drops the spaces ("I HATE MONDAYS" read as "IHATEMONDAYS"
    from a JPEG, right from the PNG). So when the image's text lines are at least 20 px tall, a
    cleaned copy is read too (`clean_for_ocr`: grey levels remove the chroma fringes, a 3x3 median
    filter the speckle) and its reading is kept when it has the same letters (only the spaces may
    differ); small text, which the median filter could damage, is read as it is. JPEG and PNG
    copies of a card then read the same. `clean` is part of the cache key.
    """

    def __init__(self, min_score: float = 0.5, clean: bool = True):
        self.min_score = float(min_score)
        self.clean = bool(clean)
        self._engine = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        """Whether RapidOCR is installed (nothing is imported)."""
        return importlib.util.find_spec("rapidocr_onnxruntime") is not None

    @staticmethod
    def version() -> str | None:
        try:
            return importlib.metadata.version("rapidocr-onnxruntime")
        except importlib.metadata.PackageNotFoundError:
            return None

    def identity(self, prompt: str | None = None, max_new_tokens: int | None = None) -> dict[str, Any]:
        identity = {"captioner": "rapidocr-onnxruntime", "revision": self.version(), "min_score": self.min_score}
        if self.clean:
            identity["clean"] = CLEAN_FOR_OCR
        return identity

    def describe(
        self, images: Sequence[Image.Image], prompt: str | None = None, max_new_tokens: int | None = None
    ) -> list[str]:
        texts = []
        with self._lock:  # one engine, not documented as thread-safe: serialise
            engine = self._get_engine()
            for image in images:
                result, _ = engine(image)
                text = self._text(result)
                if self.clean and text and _tallest_line(result) >= _CLEAN_MIN_LINE_HEIGHT:
                    cleaned, _ = engine(clean_for_ocr(image))
                    respaced = self._text(cleaned)
                    if "".join(respaced.split()).lower() == "".join(text.split()).lower():
                        text = respaced  # the same letters, the spaces the noise hid
                texts.append(text)
        return texts

    def _text(self, result: Any) -> str:
        lines = [text for _box, text, score in (result or []) if float(score) >= self.min_score]
        return normalize_whitespace(" ".join(lines))

    def _get_engine(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as err:
                raise ImportError(
                    "The 'ocr' image view needs RapidOCR: pip install rapidocr-onnxruntime "
                    "(or install multimodal-sentiment with its `offline` extra)."
                ) from err
            self._engine = RapidOCR()
        return self._engine


def hub_offline() -> bool:
    """Whether the Hub is off limits: `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set now, or
    huggingface_hub's offline mode as read at its import."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _hub_reachable(repo_id: str, revision: str | None, timeout: float) -> str | None:
    """None when the Hub answers for `repo_id`'s config.json within `timeout` seconds (one request,
    no retries; run in a thread so a hanging DNS lookup is bounded too), else why not."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    outcome: list[str | None] = []

    def probe() -> None:
        try:
            get_hf_file_metadata(hf_hub_url(repo_id, "config.json", revision=revision), timeout=timeout)
            outcome.append(None)
        except Exception as err:  # noqa: BLE001 - any failure means "cannot download it now"
            outcome.append(f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if not outcome:
        return f"the Hub did not answer within {timeout:.0f} s"
    return outcome[0]


def captioner_source_problem(
    source: str, revision: str | None = None, timeout: float = 5.0
) -> tuple[str | None, dict[str, Any]]:
    """Can the captioner `source` (model id or folder) be loaded here, quickly? Returns
    `(problem, load_kwargs)`: `problem` is None when it can, else a sentence saying why not;
    `load_kwargs` holds `local_files_only=True` when it must load from the local cache.

    Checked in this order, each step in seconds at most: a local folder; the Hub cache
    (`try_to_load_from_cache`; used offline or when the Hub does not answer, with
    `local_files_only=True` so transformers never retries for minutes); offline mode
    (`HF_HUB_OFFLINE=1`); one bounded request to the Hub.
    """
    if os.path.isdir(source):
        return None, {}
    if os.path.isabs(source) or source.startswith((".", "~")) or os.sep in source.strip("/").replace("/", "", 1):
        return f"{source!r} is neither a folder nor a Hub model id", {}
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = isinstance(try_to_load_from_cache(source, "config.json", revision=revision), str)
    except Exception:  # noqa: BLE001 - an invalid repo id is simply "not cached"
        cached = False
    if hub_offline():
        if cached:
            return None, {"local_files_only": True}
        return f"offline (HF_HUB_OFFLINE=1) and {source} is not in the local Hugging Face cache", {}
    unreachable = _hub_reachable(source, revision, timeout)
    if unreachable is None:
        return None, {}
    if cached:
        return None, {"local_files_only": True}
    return f"{source} is not in the local Hugging Face cache and cannot be downloaded ({unreachable})", {}


def build_captioner(
    spec: Any,
    *,
    revision: str | None = None,
    prompt: str | None = None,
    max_new_tokens: int = 40,
    generate_kwargs: Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    dtype: Any = None,
    load_kwargs: Mapping[str, Any] | None = None,
) -> ImageToText:
    """Make a captioner from what a user passed: a model id or folder, a loaded image-text-to-text
    pipeline, a callable, or an `ImageToText` (returned as is). Nothing is loaded here.

    ```python
    >>> build_captioner("Salesforce/blip-image-captioning-base", revision="main", prompt="a picture of")
    ```
    """
    if isinstance(spec, ImageToText):
        return spec
    if isinstance(spec, (str, os.PathLike)) or (hasattr(spec, "model") and hasattr(spec, "processor")):
        return TransformersCaptioner(
            spec,
            revision=revision,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            generate_kwargs=generate_kwargs,
            device=device,
            dtype=dtype,
            load_kwargs=load_kwargs,
        )
    if callable(spec):
        return CallableCaptioner(spec)
    raise TypeError(
        "captioner must be a model id or folder, a loaded image-text-to-text pipeline, or a callable "
        f"(list of PIL images -> list of str); got {type(spec).__name__}"
    )


def _check_writable(path: str) -> None:
    """Raise a ValueError saying why descriptions could not be appended to `path` (without
    writing anything: an existing file is opened for appending, a new one's folder is checked)."""
    remedy = "give a file path in a folder this process can write, or leave description_cache_file out"
    if os.path.isdir(path):
        raise ValueError(f"description_cache_file {path!r} is a directory, not a file; {remedy}")
    if os.path.exists(path):
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as err:
            raise ValueError(
                f"description_cache_file {path!r} cannot be written ({err.strerror or err}); {remedy}"
            ) from err
        return
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):  # put() creates the missing folders: check the first that exists
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ValueError(
            f"description_cache_file {path!r} cannot be written ({folder!r} is a file, not a folder); {remedy}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f"description_cache_file {path!r} cannot be written (no write permission in {folder!r}); {remedy}"
        )


class DescriptionCache:
    """Bounded, thread-safe LRU of image descriptions, optionally persisted as JSON lines.

    ```python
    >>> cache = DescriptionCache(max_entries=50_000, path="descriptions.jsonl")
    >>> key = cache.make_key(image_hash, {"captioner": "Salesforce/blip-image-captioning-base", "prompt": "a picture of"})
    >>> cache.put(key, "a dog on a beach"); cache.get(key)
    'a dog on a beach'
    ```

    Keys hash the image content with everything else that decides the text (captioner id,
    revision, prompt, generation settings), so a changed prompt never returns a stale caption.
    With `path`, every new description is appended to the file (written only on `put`, never on
    import) and the file is read back on construction: a later run, or a run after a crash,
    never re-captions an image. A torn last line from a killed process is skipped. A persisted
    cache keeps every description (`max_entries` bounds in-memory caches only: text is small, and
    evicting would re-run the VLM); reading the file drops only duplicate and torn lines.
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_ENTRIES, path: str | os.PathLike | None = None):
        if int(max_entries) < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = int(max_entries)
        self.path = os.fspath(path) if path is not None else None
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        if self.path:
            _check_writable(self.path)  # refused now, not after the captioner has run
        if self.path and os.path.exists(self.path):
            self._load()

    @staticmethod
    def make_key(image_hash: str, identity: Mapping[str, Any]) -> str:
        payload = json.dumps({"image": image_hash, **identity}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
            return None

    def put(self, key: str, description: str) -> None:
        with self._lock:
            self._entries[key] = description
            self._entries.move_to_end(key)
            while not self.path and len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            if self.path:
                directory = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(directory, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"key": key, "description": description}, ensure_ascii=False) + "\n")

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def _load(self) -> None:
        lines = 0
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                lines += 1
                try:
                    record = json.loads(line)
                    key, value = record["key"], record["description"]
                except (ValueError, KeyError, TypeError):
                    continue  # torn line from a killed writer
                self._entries[key] = value
                self._entries.move_to_end(key)
        if lines > 2 * len(self._entries):  # mostly duplicates / torn lines: rewrite it deduplicated
            temporary = f"{self.path}.tmp-{os.getpid()}"
            with open(temporary, "w", encoding="utf-8") as handle:
                for key, value in self._entries.items():
                    handle.write(json.dumps({"key": key, "description": value}, ensure_ascii=False) + "\n")
            os.replace(temporary, self.path)


class ImageDescriber:
    """Runs image views (caption, OCR, ...) over a batch of images through one cache.

    ```python
    >>> describer = ImageDescriber({"caption": lambda: build_captioner("Salesforce/blip-image-captioning-base"),
    ...                             "ocr": OcrReader}, cache=DescriptionCache())
    >>> describer.describe(images, views=["caption", "ocr"])  # [(description, views that produced it), ...]
    ```

    Each view object is made by its factory on first need, once. Per view, cached images are
    answered from the cache and the distinct uncached images (by content hash) go to the view in
    one `describe` call: a VLM sees the batch together and never the same picture twice.
    """

    def __init__(
        self,
        factories: Mapping[str, Callable[[], ImageToText]],
        cache: DescriptionCache | None = None,
        separator: str = DEFAULT_VIEW_SEPARATOR,
    ):
        self.factories = dict(factories)
        self.cache = cache
        self.separator = separator
        self._views: dict[str, ImageToText] = {}
        self._lock = threading.Lock()

    def view(self, name: str) -> ImageToText:
        with self._lock:
            if name not in self._views:
                if name not in self.factories:
                    raise ValueError(f"Unknown image view {name!r}; available: {sorted(self.factories)}")
                self._views[name] = self.factories[name]()
            return self._views[name]

    def describe(
        self,
        images: Sequence[Image.Image],
        views: Sequence[str],
        hashes: Sequence[str] | None = None,
        prompt: str | None = None,
        max_new_tokens: int | None = None,
    ) -> list[tuple[str | None, list[str]]]:
        """One `(description, views that produced text)` per image; None when no view found text."""
        images = list(images)
        hashes = list(hashes) if hashes is not None else [image_content_hash(image) for image in images]
        per_view: dict[str, list[str | None]] = {}
        for name in views:
            view = self.view(name)
            identity = view.identity(prompt, max_new_tokens)
            texts: list[str | None] = [None] * len(images)
            pending: dict[str, list[int]] = {}
            for position, image_hash in enumerate(hashes):
                cached = self.cache.get(self.cache.make_key(image_hash, identity)) if self.cache is not None else None
                if cached is not None:
                    texts[position] = cached
                else:
                    pending.setdefault(image_hash, []).append(position)
            if pending:
                firsts = [positions[0] for positions in pending.values()]
                fresh = view.describe([images[i] for i in firsts], prompt=prompt, max_new_tokens=max_new_tokens)
                for (image_hash, positions), text in zip(pending.items(), fresh, strict=True):
                    text = normalize_whitespace(text)
                    if self.cache is not None:
                        self.cache.put(self.cache.make_key(image_hash, identity), text)
                    for position in positions:
                        texts[position] = text
            per_view[name] = texts
        results = []
        for position in range(len(images)):
            found = {name: per_view[name][position] for name in views}
            used = [name for name in views if found[name]]
            results.append((compose_description(found, views, self.separator), used))
        return results


__all__ = [
    "CAPTION_VIEW",
    "OCR_VIEW",
    "CaptionerFallbackWarning",
    "CaptionerUnavailableError",
    "CallableCaptioner",
    "DescriptionCache",
    "ImageDescriber",
    "ImageToText",
    "OcrReader",
    "TransformersCaptioner",
    "build_captioner",
    "captioner_source_problem",
    "clean_for_ocr",
    "hub_offline",
]
