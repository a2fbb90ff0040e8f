"""The "multimodal-sentiment" pipeline: the image becomes words (VLM caption, optionally OCR),
then one text classifier reads (post text, image description) as a tokenizer pair.

```python
>>> from transformers import pipeline
>>> classifier = pipeline("multimodal-sentiment", model="multimodal-sentiment/era-minilm-mvsa", trust_remote_code=True)
>>> classifier({"text": "Best day ever!", "image": "https://example.com/beach.jpg"})
{'label': 'positive', 'score': 0.91, 'scores': {'negative': 0.03, 'neutral': 0.06, 'positive': 0.91},
 'image_description': 'a group of friends smiling on a beach', 'description_views': ['caption']}
```

Hub-bound: this file travels with every checkpoint (`custom_pipelines` in config.json) and
imports only torch, transformers, PIL, numpy, the standard library and its siblings. It must
not import the modeling or config files at module level: `checkpoint_code.py` imports it (under
TYPE_CHECKING) so that `save_pretrained` copies it, and the pipeline branches on
`config.model_type` instead.
"""

from __future__ import annotations

import itertools
import os
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import Pipeline

from .checkpoint_code import TASK
from .image_inputs import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_URL_TIMEOUT,
    ImageInputError,
    ImageLimits,
    image_content_hash,
    load_image_input,
)
from .image_to_text import (
    CAPTION_VIEW,
    OCR_VIEW,
    CaptionerFallbackWarning,
    CaptionerUnavailableError,
    DescriptionCache,
    ImageDescriber,
    ImageToText,
    OcrReader,
    build_captioner,
    captioner_source_problem,
)
from .quantization import (
    check_captioner_quantizable,
    check_quantizable,
    check_quantize,
    quantize_captioner_on_load,
    quantize_classifier,
)
from .text_pairs import emoji_to_words, encode_text_pairs, is_blank, normalize_whitespace

MISR_MODEL_TYPE = "misr-multimodal-sentiment"
INPUT_KEYS = ("text", "image", "image_description")
ON_ERROR_MODES = ("raise", "record")
PRECOMPUTED_VIEW = "precomputed"
# Lists, datasets and generators are classified (and their images described) this many at a time
# unless the pipeline or the call sets batch_size; a single post is always a batch of one.
DEFAULT_BATCH_SIZE = 16
_MODALITY_NAMES = {0: "text", 1: "description"}


class MultimodalInputError(ValueError):
    """A bad pipeline input. The message starts with which input it was ("input 3: ...", its
    position in the call's list or stream) and says what is wrong; `index` holds that position."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class _StageSettings:
    """Per-call settings of the image-to-text stage (pipeline defaults, overridable per call)."""

    prompt: str | None
    max_new_tokens: int
    views: tuple[str, ...]
    on_error: str


class MultimodalSentimentPipeline(Pipeline):
    """Sentiment of posts from their text and image: a VLM describes the image, the classifier
    reads text and description together.

    ```python
    >>> from transformers import pipeline
    >>> classifier = pipeline("multimodal-sentiment", model="path/to/checkpoint", trust_remote_code=True,
    ...                       captioner="Salesforce/blip-image-captioning-base", batch_size=8)
    >>> classifier([{"text": "Stuck in traffic again", "image": "cars.jpg"},
    ...             {"text": "New phone!", "image_description": "a smartphone on a table"},
    ...             {"image": "https://example.com/meme.png"}], return_evidence=True)
    ```

    Inputs: a dict with any of `"text"` (str), `"image"` (path, URL, data URI, base64, bytes, PIL
    image, numpy array) and `"image_description"` (str: skips the VLM and is returned unchanged),
    at least one of them non-empty; a plain string is a text-only post, a PIL image or bytes an
    image-only post. Lists return lists; generators, `datasets.Dataset` and other iterables
    stream (an iterator of results).

    Output per input: `label`, `score`, `scores` (every label), `image_description` (None without
    an image), `description_views` (`["caption"]`, `["caption", "ocr"]`, `["precomputed"]`, or
    `[]`). `return_evidence=True` adds `evidence`: the tokens the model pooled, best first, each
    with `token`, `word`, `weight`, `modality` ("text" / "description") and `position` (ERA
    checkpoints; None for models without token selection). `return_modalities=True` adds
    `text_only` and `description_only` predictions (None where that part is missing) and
    `agreement` (True / False, None when one part is missing).

    Errors: a bad input raises `MultimodalInputError` naming the input ("input 3: image file not
    found: ..."). With `on_error="record"` the call goes on and that input's output is
    `{"index": 3, "error": "...", "label": None, ...}` instead.

    Constructor arguments (besides the usual `model`, `tokenizer`, `device`, `dtype`, `batch_size`):
        captioner: model id or folder, a loaded `pipeline("image-text-to-text", ...)`, or a callable
            `list[PIL.Image] -> list[str]`; defaults to `config.captioner`. Loaded lazily, once, on
            the first input that needs a caption; runs on the pipeline's device and dtype.
        captioner_revision, captioner_prompt, captioner_max_new_tokens: default to the config's
            fields; `captioner_prompt` and `captioner_max_new_tokens` can also be given per call.
        captioner_generate_kwargs, captioner_load_kwargs: extra `generate` / `from_pretrained`
            arguments for a captioner given by id (num_beams, trust_remote_code, ...).
        image_views: which views form the description (`["caption"]`, `["caption", "ocr"]`; `[]`:
            images are ignored, as for a text-only model); default `config.image_views`; also per call.
        description_cache: True (default, in-memory, 10,000 entries), False, a maximum number of
            entries, or a shared `DescriptionCache`; `description_cache_file` persists it (JSON lines).
        max_image_pixels, max_image_bytes, image_timeout: image loading limits (decompression
            bombs, file and URL size cap, wall-clock seconds for a whole URL download).
        on_error: `"raise"` (default) or `"record"`; also per call.
        quantize: `"int8"`: dynamic int8 of the classifier's encoder on CPU (`quantization.py`);
            `captioner_quantize="int8"` does the same to the captioner when it loads. CPU and
            float32 only: refused with a ValueError on a GPU or with dtype float16 / bfloat16.

    `batch_size` (default for lists, datasets and generators: `DEFAULT_BATCH_SIZE` = 16; a single
    post is a batch of one) batches the classifier and the VLM alike: inputs are taken `batch_size` at a
    time, the images among them that need a caption go through one `generate` call (each
    distinct image once; cached ones not at all), then the classifier runs on the batch.
    """

    _load_processor = False
    _load_image_processor = None  # only MISR checkpoints that read pixels ship one
    _load_feature_extractor = False
    _load_tokenizer = True

    def __init__(
        self,
        *args: Any,
        captioner: Any = None,
        captioner_revision: str | None = None,
        captioner_prompt: str | None = None,
        captioner_max_new_tokens: int | None = None,
        captioner_generate_kwargs: Mapping[str, Any] | None = None,
        captioner_load_kwargs: Mapping[str, Any] | None = None,
        image_views: Sequence[str] | None = None,
        view_separator: str | None = None,
        description_cache: bool | int | DescriptionCache | None = True,
        description_cache_file: str | None = None,
        max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
        max_image_bytes: int | None = DEFAULT_MAX_IMAGE_BYTES,
        image_timeout: float = DEFAULT_URL_TIMEOUT,
        on_error: str = "raise",
        quantize: str | None = None,
        captioner_quantize: str | None = None,
        **kwargs: Any,
    ):
        requested_dtype = kwargs.get("dtype", kwargs.get("torch_dtype"))  # Pipeline.__init__ drops it
        super().__init__(*args, **kwargs)
        if self._batch_size is not None:
            self._batch_size = _check_batch_size(self._batch_size)
        if self.tokenizer is None:
            raise ValueError(
                "The multimodal-sentiment pipeline needs the classifier's tokenizer (save it with the model)."
            )
        config = self.model.config
        # A compact checkpoint (selector + head only) loads its frozen encoder itself on its first forward.
        self.quantize = check_quantize(quantize)
        self.captioner_quantize = check_quantize(captioner_quantize, "captioner_quantize")
        for name, mode in (("quantize", self.quantize), ("captioner_quantize", self.captioner_quantize)):
            if mode is not None:
                check_quantizable(self.device, requested_dtype, name)
        if self.quantize is not None:
            quantize_classifier(self.model)
        if self.captioner_quantize is not None:
            check_captioner_quantizable(captioner if captioner is not None else getattr(config, "captioner", None))
        self.is_misr = getattr(config, "model_type", None) == MISR_MODEL_TYPE
        # A model trained on text alone (image_views=[]) reads one segment, never a description.
        self.reads_descriptions = self.is_misr or getattr(config, "image_views", None) != []
        # MISR with a vision encoder reads pixels; without one its visual modality is the description.
        self.uses_pixels = self.is_misr and getattr(config, "vision_config", None) is not None
        if self.uses_pixels and self.image_processor is None:
            raise ValueError(
                "This MISR checkpoint reads pixels (config.vision_config is set) but no image processor was "
                "found: save it next to the model (preprocessor_config.json) or pass image_processor=..."
            )
        self.captioner_spec = captioner if captioner is not None else getattr(config, "captioner", None)
        # A captioner passed here replaces the config's, so the config's revision no longer applies.
        self.captioner_revision = (
            captioner_revision
            if captioner is not None
            else captioner_revision or getattr(config, "captioner_revision", None)
        )
        self.captioner_dtype = None if requested_dtype in (None, "auto") else requested_dtype
        self.captioner_generate_kwargs = dict(captioner_generate_kwargs or {})
        self.captioner_load_kwargs = dict(captioner_load_kwargs or {})
        self.view_separator = view_separator if view_separator is not None else getattr(config, "view_separator", " . ")
        self.max_input_tokens = int(
            getattr(config, "max_input_tokens", None) or min(self.tokenizer.model_max_length, 512)
        )
        self.image_limits = ImageLimits(max_pixels=max_image_pixels, max_bytes=max_image_bytes, timeout=image_timeout)
        self.description_cache = _make_cache(description_cache, description_cache_file)
        self._defaults = _StageSettings(
            prompt=captioner_prompt if captioner_prompt is not None else getattr(config, "captioner_prompt", None),
            max_new_tokens=int(captioner_max_new_tokens or getattr(config, "captioner_max_new_tokens", None) or 40),
            views=_check_views(image_views if image_views is not None else getattr(config, "image_views", None)),
            on_error=_check_on_error(on_error),
        )
        self._describer: ImageDescriber | None = None
        self._describer_lock = threading.Lock()
        # Named by the caller (an error if it cannot load) or taken from the config (OCR fallback).
        self.captioner_explicit = captioner is not None
        self._captioner_problem: str | None = None
        self._captioner_checked = False
        self._captioner_check_lock = threading.Lock()
        self.emoji_as_words = bool(getattr(config, "emoji_as_words", False))

    # ------------------------------------------------------------ calling

    def __call__(self, inputs: Any = None, **kwargs: Any) -> Any:
        """Classify one post (returns a dict) or many (a list for a list; an iterator for a
        generator or dataset).

        ```python
        >>> classifier({"text": "so happy", "image": "beach.jpg"}, return_modalities=True)
        >>> classifier(text="so happy", image="beach.jpg")  # the same, as keywords
        >>> for result in classifier(dataset, batch_size=16, on_error="record"): ...
        ```

        Per-call options: `return_evidence`, `return_modalities`, `on_error`, `captioner_prompt`,
        `captioner_max_new_tokens`, `image_views`, `batch_size`.
        """
        direct = {key: kwargs.pop(key) for key in INPUT_KEYS if key in kwargs}
        if direct:
            if inputs is not None:
                raise TypeError("Pass one positional input or text=/image=/image_description= keywords, not both.")
            inputs = direct
        if inputs is None:
            raise MultimodalInputError("Nothing to classify: pass {'text': ..., 'image': ...} or a list of those.")
        if int(kwargs.get("num_workers") or 0) > 0:
            raise ValueError(
                "num_workers > 0 is not supported: images are described in this process, batch_size at a time "
                "(a worker process would lose the description cache and cannot use CUDA)."
            )
        settings = self._stage_settings(kwargs)
        if kwargs.get("batch_size") is not None:
            kwargs["batch_size"] = _check_batch_size(kwargs["batch_size"])
        if _is_single(inputs):
            prepared = next(self._prepare(iter([inputs]), 1, settings, single=True))
            return super().__call__(prepared, **kwargs)
        # Many posts run batched without being asked (DEFAULT_BATCH_SIZE); batch_size=1 turns it off.
        batch_size = kwargs["batch_size"] = kwargs.get("batch_size") or self._batch_size or DEFAULT_BATCH_SIZE
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                return []
            return list(super().__call__(self._prepare(iter(inputs), batch_size, settings), **kwargs))
        try:
            iterator = iter(inputs)
        except TypeError:
            raise MultimodalInputError(
                f"input must be a dict like {{'text': ..., 'image': ...}}, a list or an iterable of those; "
                f"got {type(inputs).__name__}"
            ) from None
        return super().__call__(self._prepare(iterator, batch_size, settings), **kwargs)

    def _sanitize_parameters(
        self, return_evidence: bool | None = None, return_modalities: bool | None = None, **unknown: Any
    ) -> tuple[dict, dict, dict]:
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {sorted(unknown)}. Per call it takes "
                "return_evidence, return_modalities, on_error, captioner_prompt, captioner_max_new_tokens, "
                "image_views, batch_size."
            )
        preprocess, forward, postprocess = {}, {}, {}
        if return_evidence is not None:
            preprocess["return_evidence"] = forward["return_evidence"] = postprocess["return_evidence"] = bool(
                return_evidence
            )
        if return_modalities is not None:
            forward["return_modalities"] = postprocess["return_modalities"] = bool(return_modalities)
        return preprocess, forward, postprocess

    def _stage_settings(self, kwargs: dict[str, Any]) -> _StageSettings:
        settings = self._defaults
        if "captioner_prompt" in kwargs:
            settings = replace(settings, prompt=kwargs.pop("captioner_prompt"))
        if "captioner_max_new_tokens" in kwargs:
            settings = replace(settings, max_new_tokens=int(kwargs.pop("captioner_max_new_tokens")))
        if "image_views" in kwargs:
            settings = replace(settings, views=_check_views(kwargs.pop("image_views")))
        if "on_error" in kwargs:
            settings = replace(settings, on_error=_check_on_error(kwargs.pop("on_error")))
        return settings

    # ------------------------------------------------------------ image-to-text stage

    @property
    def describer(self) -> ImageDescriber:
        """The image-to-text stage (views + cache), made on first use. Its captioner's weights
        load on the first image that is not in the cache."""
        with self._describer_lock:
            if self._describer is None:
                self._describer = ImageDescriber(
                    {CAPTION_VIEW: self._make_captioner, OCR_VIEW: OcrReader},
                    cache=self.description_cache,
                    separator=self.view_separator,
                )
            return self._describer

    def _make_captioner(self) -> ImageToText:
        if self.captioner_spec is None:
            raise ValueError(
                "This model's config names no captioner (config.captioner is None): pass "
                "pipeline(..., captioner='Salesforce/blip-image-captioning-base') or a callable, or give each "
                "input a precomputed 'image_description'."
            )
        captioner = build_captioner(
            self.captioner_spec,
            revision=self.captioner_revision,
            prompt=self._defaults.prompt,
            max_new_tokens=self._defaults.max_new_tokens,
            generate_kwargs=self.captioner_generate_kwargs,
            device=self.device,
            dtype=self.captioner_dtype,
            load_kwargs=self.captioner_load_kwargs,
        )
        return quantize_captioner_on_load(captioner) if self.captioner_quantize else captioner

    def _usable_views(self, settings: _StageSettings) -> _StageSettings:
        """The views this call can run: the caption view is swapped for OCR (with one warning) when the
        config's captioner cannot be loaded here; a captioner the caller named must load or it is an error."""
        if CAPTION_VIEW not in settings.views or self._check_captioner() is None:
            return settings
        views = tuple(view for view in settings.views if view != CAPTION_VIEW)
        return replace(settings, views=views if OCR_VIEW in views else (*views, OCR_VIEW))

    def _check_captioner(self) -> str | None:
        """Once per pipeline, in seconds: None when the captioner loads (it is loaded now), else why
        not (the config's captioner: a warning and OCR instead; the caller's: CaptionerUnavailableError)."""
        with self._captioner_check_lock:
            if self._captioner_checked:
                return self._captioner_problem
            spec, problem = self.captioner_spec, None
            if isinstance(spec, (str, os.PathLike)):
                problem, load_kwargs = captioner_source_problem(os.fspath(spec), self.captioner_revision)
                if problem is None:
                    for key, value in load_kwargs.items():
                        self.captioner_load_kwargs.setdefault(key, value)
                    try:
                        load = getattr(self.describer.view(CAPTION_VIEW), "load", None)
                        if callable(load):
                            load()
                    except Exception as err:  # noqa: BLE001 - missing files, missing packages, bad weights
                        with self._describer_lock:
                            if self._describer is not None:
                                self._describer._views.pop(CAPTION_VIEW, None)
                        first_line = (str(err).strip().splitlines() or [""])[0][:300]
                        problem = f"loading it failed ({type(err).__name__}: {first_line})"
            if problem is not None:
                ocr_ready = OcrReader.available()
                if self.captioner_explicit or not ocr_ready:
                    whose = "The captioner" if self.captioner_explicit else "The model config's captioner"
                    raise CaptionerUnavailableError(
                        f"{whose} {os.fspath(spec)!r} cannot be loaded: {problem}. Remedies: "
                        "image_views=['ocr'] (RapidOCR reads the words in images"
                        + ("" if ocr_ready else "; pip install rapidocr-onnxruntime")
                        + "), captioner='path/to/local/folder' (a saved image-text-to-text model), "
                        "captioner=<callable: list of PIL images -> list of str>, or precomputed "
                        "'image_description' inputs."
                    )
                warnings.warn(
                    f"The model config's captioner {os.fspath(spec)!r} cannot be loaded ({problem}): describing "
                    "images with OCR (RapidOCR) instead. Choose one with pipeline(..., captioner='<model id or "
                    "folder>' or a callable), or pass image_views=['ocr'] to use OCR without this warning.",
                    CaptionerFallbackWarning,
                    stacklevel=2,
                )
            self._captioner_problem, self._captioner_checked = problem, True
            return problem

    def _prepare(
        self, iterator: Iterator[Any], chunk_size: int, settings: _StageSettings, single: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Validate inputs and describe their images, `chunk_size` inputs at a time (lazily, so
        streams stay streams and only one chunk of decoded images is ever in memory)."""
        start = 0
        while True:
            chunk = list(itertools.islice(iterator, chunk_size))
            if not chunk:
                return
            yield from self._prepare_chunk(chunk, start, settings, single)
            start += len(chunk)

    def _prepare_chunk(
        self, items: list[Any], start: int, settings: _StageSettings, single: bool
    ) -> list[dict[str, Any]]:
        records = []
        for offset, item in enumerate(items):
            index = None if single else start + offset
            try:
                records.append(self._read_input(item, index))
            except MultimodalInputError as err:
                if settings.on_error == "raise":
                    raise
                records.append(_error_record(index, str(err)))
        pending = [r for r in records if r["_needs_description"]]
        if pending and not settings.views:
            # No image-to-text view (a text-only model, or image_views=[]): images are ignored.
            for record in pending:
                record["_needs_description"] = False
                if record["text"] is None:
                    message = f"{_where(record['index'])}: has only an image, but no image-to-text view is enabled"
                    if settings.on_error == "raise":
                        raise MultimodalInputError(message + " (image_views=[]): give it a text", record["index"])
                    record.update(_error_record(record["index"], message))
            pending = []
        if pending:
            self._describe(pending, self._usable_views(settings))
        for record in records:
            del record["_needs_description"], record["_hash"]
            if self.emoji_as_words:  # what the model reads (evidence words included); outputs keep the original
                record["text"], record["description"] = emoji_to_words(record["text"]), emoji_to_words(record["description"])
            if not self.uses_pixels:
                record["_image"] = None  # the description replaces the pixels
        return records

    def _describe(self, records: list[dict[str, Any]], settings: _StageSettings) -> None:
        try:
            results = self.describer.describe(
                [r["_image"] for r in records],
                settings.views,
                hashes=[r["_hash"] for r in records],
                prompt=settings.prompt,
                max_new_tokens=settings.max_new_tokens,
            )
        except Exception as err:
            if settings.on_error == "raise":
                raise
            if len(records) == 1:
                _mark_failed(records[0], err)
                return
            # Record mode: retry one by one so a single bad image does not cost the whole batch.
            for record in records:
                self._describe([record], settings)
            return
        for record, (description, used_views) in zip(records, results, strict=True):
            record["description"] = description
            record["image_description"] = description or ""
            record["description_views"] = used_views

    def _read_input(self, item: Any, index: int | None) -> dict[str, Any]:
        where = _where(index)
        if isinstance(item, str):
            item = {"text": item}
        elif isinstance(item, (Image.Image, bytes, bytearray, np.ndarray)):
            item = {"image": item}
        elif not isinstance(item, Mapping):
            raise MultimodalInputError(
                f"{where}: expected a dict like {{'text': ..., 'image': ...}}, got {type(item).__name__}", index
            )
        if not any(key in item for key in INPUT_KEYS):
            keys = sorted(map(str, item))[:8]
            raise MultimodalInputError(
                f"{where}: has none of the keys 'text', 'image', 'image_description' (its keys: {keys})", index
            )
        text, image, description = item.get("text"), item.get("image"), item.get("image_description")
        for name, value in (("text", text), ("image_description", description)):
            if value is not None and not isinstance(value, str):
                raise MultimodalInputError(
                    f"{where}: '{name}' must be a string or None, got {type(value).__name__}", index
                )
        if is_blank(text):
            text = None  # empty, whitespace or only invisible characters (zero-width...): a missing text
        if text is None and image is None and is_blank(description):
            raise MultimodalInputError(
                f"{where}: nothing to classify: no text, no image and no image_description "
                "(empty text, whitespace or only invisible characters such as zero-width spaces count as missing)",
                index,
            )
        record = {
            "index": index,
            "error": None,
            "text": text,
            "description": None,
            "image_description": None,
            "description_views": [],
            "_image": None,
            "_hash": None,
            "_needs_description": False,
        }
        if description is not None:
            record.update(
                # The model reads it as training did (compose_description collapses whitespace);
                # the output returns it exactly as given.
                description=normalize_whitespace(description) or None,
                image_description=description,
                description_views=[PRECOMPUTED_VIEW],
            )
        needs_description = description is None and image is not None and not self.uses_pixels
        if image is not None and (needs_description or self.uses_pixels):
            try:
                record["_image"] = load_image_input(image, self.image_limits)
            except (ImageInputError, TypeError) as err:
                raise MultimodalInputError(f"{where}: {err}", index) from err
            if needs_description:
                record["_hash"] = image_content_hash(record["_image"])
                record["_needs_description"] = True
        return record

    # ------------------------------------------------------------ classifier stage

    def preprocess(self, record: dict[str, Any], return_evidence: bool = False) -> dict[str, Any]:
        meta = {key: record[key] for key in ("index", "error", "text", "description", "image_description")}
        meta["description_views"] = list(record["description_views"])
        meta["has_visual"] = record["_image"] is not None if self.uses_pixels else record["description"] is not None
        if self.is_misr:
            inputs = self._misr_inputs([record["text"]], [record["description"]], [record.get("_image")])
        else:
            descriptions = [record["description"]] if self.reads_descriptions else None
            encoding = encode_text_pairs(
                self.tokenizer, [record["text"]], descriptions, self.max_input_tokens, return_tensors="pt"
            )
            if return_evidence:
                meta["token_info"] = _token_info(encoding, record["text"], record["description"])
            inputs = dict(encoding)
        inputs["meta"] = meta
        return inputs

    def _forward(
        self, model_inputs: dict[str, Any], return_evidence: bool = False, return_modalities: bool = False
    ) -> dict[str, Any]:
        metas = model_inputs.pop("meta")
        metas = [metas] if isinstance(metas, dict) else list(metas)  # batched: one meta per row
        selection = return_evidence and not self.is_misr
        outputs = self.model(**model_inputs, **({"output_selection": True} if selection else {}))
        result = {"logits": outputs.logits, "meta": metas}
        if selection:
            result["input_ids"] = model_inputs["input_ids"]
            result["selected_indices"] = outputs.selected_indices
            result["selected_weights"] = outputs.selected_weights
        if return_modalities:
            result["text_logits"], result["description_logits"] = self._unimodal_logits(model_inputs, metas)
        return result

    def postprocess(
        self, model_outputs: dict[str, Any], return_evidence: bool = False, return_modalities: bool = False
    ) -> dict[str, Any]:
        meta = model_outputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta
        if meta["error"] is not None:
            return _error_output(meta["index"], meta["error"])
        result = self._prediction(model_outputs["logits"][0])
        result["image_description"] = meta["image_description"]
        result["description_views"] = meta["description_views"]
        if return_evidence:
            result["evidence"] = self._evidence(model_outputs, meta)
        if return_modalities:
            text_only = self._prediction(model_outputs["text_logits"][0]) if meta["text"] else None
            description_only = self._prediction(model_outputs["description_logits"][0]) if meta["has_visual"] else None
            result["text_only"] = text_only
            result["description_only"] = description_only
            both = text_only is not None and description_only is not None
            result["agreement"] = text_only["label"] == description_only["label"] if both else None
        return result

    # ------------------------------------------------------------ helpers

    def _misr_inputs(
        self, texts: Sequence[str | None], descriptions: Sequence[str | None], images: Sequence[Any]
    ) -> dict[str, torch.Tensor]:
        """MISR reads each modality with its own encoder: the text alone, and either the pixels or
        the description alone (padding=True so several rows can be encoded at once)."""
        text = encode_text_pairs(self.tokenizer, texts, None, self.max_input_tokens, padding=True, return_tensors="pt")
        inputs = dict(text)
        if self.uses_pixels:
            # A post without image gets a blank (white) picture: the tensor shapes must stay the same.
            pictures = [image if image is not None else Image.new("RGB", (32, 32), "white") for image in images]
            inputs["pixel_values"] = self.image_processor(images=pictures, return_tensors="pt")["pixel_values"]
            # ...and has_visual=False, so MISR uses its learned "missing image" vector instead.
            inputs["has_visual"] = torch.tensor([image is not None for image in images])
        else:
            described = encode_text_pairs(
                self.tokenizer, descriptions, None, self.max_input_tokens, padding=True, return_tensors="pt"
            )
            inputs["description_input_ids"] = described["input_ids"]
            inputs["description_attention_mask"] = described["attention_mask"]
        return inputs

    def _unimodal_logits(
        self, model_inputs: dict[str, Any], metas: list[dict[str, Any]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits from the text alone and from the visual part alone. A removed part is encoded
        the way training encodes a missing one: an empty segment (ERA, MISR descriptions) or no
        visual input at all (MISR reads that as its learned "missing image")."""
        nothing = [None] * len(metas)
        texts = [meta["text"] for meta in metas]
        if not self.is_misr:
            descriptions = [meta["description"] for meta in metas]
            return self._run(
                encode_text_pairs(
                    self.tokenizer,
                    texts,
                    nothing if self.reads_descriptions else None,
                    self.max_input_tokens,
                    padding=True,
                    return_tensors="pt",
                )
            ), self._run(
                encode_text_pairs(
                    self.tokenizer, nothing, descriptions, self.max_input_tokens, padding=True, return_tensors="pt"
                )
            )
        visual_keys = ("description_input_ids", "description_attention_mask", "pixel_values", "has_visual")
        text_only = {key: value for key, value in model_inputs.items() if key not in visual_keys}
        empty_text = encode_text_pairs(
            self.tokenizer, nothing, None, self.max_input_tokens, padding=True, return_tensors="pt"
        )
        visual_only = {key: value for key, value in model_inputs.items() if key in visual_keys}
        visual_only.update(empty_text)
        return self._run(text_only), self._run(visual_only)

    def _run(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**{key: value.to(self.device) for key, value in inputs.items()}).logits

    def _prediction(self, logits: torch.Tensor) -> dict[str, Any]:
        config = self.model.config
        logits = logits.float().cpu()
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            probabilities = torch.sigmoid(logits)
        else:
            probabilities = torch.softmax(logits, dim=-1)
        best = int(probabilities.argmax())
        return {
            "label": config.id2label[best],
            "score": float(probabilities[best]),
            "scores": {config.id2label[i]: float(p) for i, p in enumerate(probabilities.tolist())},
        }

    def _evidence(self, outputs: dict[str, Any], meta: dict[str, Any]) -> list[dict[str, Any]] | None:
        if "selected_indices" not in outputs or outputs["selected_indices"] is None:
            return None  # a model without token selection (MISR) has no token evidence
        input_ids = outputs["input_ids"][0].tolist()
        info = meta.get("token_info") or {}
        sequence_ids, words = info.get("sequence_ids"), info.get("words")
        evidence = []
        for position, weight in zip(
            outputs["selected_indices"][0].tolist(), outputs["selected_weights"][0].tolist(), strict=True
        ):
            if position < 0:
                continue  # unused slot: the post had fewer than K selectable tokens
            source = sequence_ids[position] if sequence_ids and position < len(sequence_ids) else None
            evidence.append(
                {
                    "token": self.tokenizer.convert_ids_to_tokens(input_ids[position]),
                    "word": words[position] if words and position < len(words) else None,
                    "weight": float(weight),
                    "modality": _MODALITY_NAMES.get(source, "special"),
                    "position": int(position),
                }
            )
        return evidence


# ---------------------------------------------------------------- module helpers


def _where(index: int | None) -> str:
    return "input" if index is None else f"input {index}"


def _is_single(inputs: Any) -> bool:
    return isinstance(inputs, (Mapping, str, bytes, bytearray, Image.Image, np.ndarray))


def _check_views(views: Sequence[str] | None) -> tuple[str, ...]:
    if views is None:
        return (CAPTION_VIEW,)
    if isinstance(views, str):
        views = [views]
    views = tuple(views)
    unknown = [view for view in views if view not in (CAPTION_VIEW, OCR_VIEW)]
    if unknown:
        raise ValueError(
            f"image_views must be a list of {CAPTION_VIEW!r} and {OCR_VIEW!r} (empty: images are ignored); "
            f"got {list(views)}"
        )
    return views


def _check_batch_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"batch_size must be a positive integer (posts per batch), got {value!r}")
    return int(value)


def _check_on_error(mode: str) -> str:
    if mode not in ON_ERROR_MODES:
        raise ValueError(f"on_error must be one of {ON_ERROR_MODES}, got {mode!r}")
    return mode


def _make_cache(spec: bool | int | DescriptionCache | None, path: str | None) -> DescriptionCache | None:
    if isinstance(spec, DescriptionCache):
        if path is not None:
            raise ValueError("Give description_cache_file to a new cache only, not with a DescriptionCache object.")
        return spec
    if spec is False or spec == 0:
        if path is not None:
            raise ValueError("description_cache_file needs the cache enabled (description_cache=True or a size).")
        return None
    if spec is None or spec is True:
        return DescriptionCache(path=path)
    if isinstance(spec, int):
        return DescriptionCache(max_entries=spec, path=path)
    raise TypeError(f"description_cache must be True, False, a size or a DescriptionCache; got {type(spec).__name__}")


def _error_record(index: int | None, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "error": message,
        "text": None,
        "description": None,
        "image_description": None,
        "description_views": [],
        "_image": None,
        "_hash": None,
        "_needs_description": False,
    }


def _mark_failed(record: dict[str, Any], err: Exception) -> None:
    record.update(_error_record(record["index"], f"{_where(record['index'])}: describing its image failed: {err}"))


def _error_output(index: int | None, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "error": message,
        "label": None,
        "score": None,
        "scores": None,
        "image_description": None,
        "description_views": [],
    }


def _token_info(encoding: Any, text: str | None, description: str | None) -> dict[str, Any]:
    """Which part (text / description) and which whole word each token comes from, read from the
    fast tokenizer's alignment; without a fast tokenizer the evidence has no modality."""
    encodings = getattr(encoding, "encodings", None)
    if not encodings:
        return {"sequence_ids": None, "words": None}
    aligned = encodings[0]
    sequence_ids, word_ids, offsets = aligned.sequence_ids, aligned.word_ids, aligned.offsets
    sources = {0: text or "", 1: description or ""}
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    for sequence, word, (begin, end) in zip(sequence_ids, word_ids, offsets, strict=True):
        if sequence is None or word is None:
            continue
        low, high = spans.get((sequence, word), (begin, end))
        spans[(sequence, word)] = (min(low, begin), max(high, end))
    words = [
        sources[sequence][slice(*spans[(sequence, word)])] if sequence is not None and word is not None else None
        for sequence, word in zip(sequence_ids, word_ids, strict=True)
    ]
    return {"sequence_ids": list(sequence_ids), "words": words}


__all__ = ["DEFAULT_BATCH_SIZE", "MultimodalInputError", "MultimodalSentimentPipeline", "MISR_MODEL_TYPE", "TASK"]
