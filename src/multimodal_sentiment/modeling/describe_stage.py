"""The multimodal-sentiment pipeline's image-to-text stage: which captioner (the caller's or the
config's), loaded lazily and once, the OCR fallback when the config's captioner cannot load here,
the description cache, and describing the images of a chunk of posts in one batch.

The pipeline (`pipeline_multimodal_sentiment.py`) runs this stage in `__call__`, `batch_size`
inputs at a time, before `preprocess`: every distinct image of the chunk goes through one
`generate` call (cached ones not at all).

Hub-bound: travels with every checkpoint (imported by the pipeline file); imports only the
standard library and its siblings.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

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
from .post_inputs import Post, where
from .quantization import quantize_captioner_on_load
from .text_pairs import DEFAULT_VIEW_SEPARATOR


@dataclass(frozen=True)
class DescribeOptions:
    """Options of the image-to-text stage: the pipeline's defaults, each overridable per call
    (the field names are the per-call option names)."""

    captioner_prompt: str | None
    captioner_max_new_tokens: int
    image_views: tuple[str, ...]
    on_error: str


class DescribeStage:
    """Describes images for the pipeline. `captioner` is a model id or folder, a loaded
    image-text-to-text pipeline or a callable (see `image_to_text.build_captioner`); `explicit`:
    the caller named it (it must load), else it came from the model config (OCR fallback)."""

    def __init__(
        self,
        captioner: Any,
        *,
        explicit: bool,
        revision: str | None,
        defaults: DescribeOptions,
        generate_kwargs: Mapping[str, Any] | None = None,
        load_kwargs: Mapping[str, Any] | None = None,
        device: Any = None,
        dtype: Any = None,
        quantize: str | None = None,
        cache: DescriptionCache | None = None,
        separator: str = DEFAULT_VIEW_SEPARATOR,
    ):
        self.captioner, self.explicit, self.revision, self.defaults = captioner, explicit, revision, defaults
        self.generate_kwargs = dict(generate_kwargs or {})
        self.load_kwargs = dict(load_kwargs or {})
        self.device, self.dtype, self.quantize = device, dtype, quantize
        self.cache, self.separator = cache, separator
        self._describer: ImageDescriber | None = None
        self._describer_lock = threading.Lock()
        self._captioner_problem: str | None = None
        self._captioner_checked = False
        self._captioner_check_lock = threading.Lock()

    @property
    def describer(self) -> ImageDescriber:
        """The views + cache, made on first use. The captioner's weights load on the first image
        that is not in the cache."""
        with self._describer_lock:
            if self._describer is None:
                self._describer = ImageDescriber(
                    {CAPTION_VIEW: self._make_captioner, OCR_VIEW: OcrReader},
                    cache=self.cache,
                    separator=self.separator,
                )
            return self._describer

    def _make_captioner(self) -> ImageToText:
        if self.captioner is None:
            raise ValueError(
                "This model's config names no captioner (config.captioner is None): pass "
                "pipeline(..., captioner='Salesforce/blip-image-captioning-base') or a callable, or give each "
                "input a precomputed 'image_description'."
            )
        captioner = build_captioner(
            self.captioner,
            revision=self.revision,
            prompt=self.defaults.captioner_prompt,
            max_new_tokens=self.defaults.captioner_max_new_tokens,
            generate_kwargs=self.generate_kwargs,
            device=self.device,
            dtype=self.dtype,
            load_kwargs=self.load_kwargs,
        )
        return quantize_captioner_on_load(captioner) if self.quantize else captioner

    def usable_views(self, options: DescribeOptions) -> DescribeOptions:
        """The views this call can run: the caption view is swapped for OCR (with one warning) when the
        config's captioner cannot be loaded here; a captioner the caller named must load or it is an error."""
        if CAPTION_VIEW not in options.image_views or self.check_captioner() is None:
            return options
        views = tuple(view for view in options.image_views if view != CAPTION_VIEW)
        return replace(options, image_views=views if OCR_VIEW in views else (*views, OCR_VIEW))

    def check_captioner(self) -> str | None:
        """Once per stage, in seconds: None when the captioner loads (it is loaded now), else why
        not (the config's captioner: a warning and OCR instead; the caller's: CaptionerUnavailableError)."""
        with self._captioner_check_lock:
            if self._captioner_checked:
                return self._captioner_problem
            spec, problem = self.captioner, None
            if isinstance(spec, (str, os.PathLike)):
                problem, load_kwargs = captioner_source_problem(os.fspath(spec), self.revision)
                if problem is None:
                    for key, value in load_kwargs.items():
                        self.load_kwargs.setdefault(key, value)
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
                if self.explicit or not ocr_ready:
                    whose = "The captioner" if self.explicit else "The model config's captioner"
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

    def describe(self, posts: list[Post], options: DescribeOptions) -> None:
        """Fill `description`, `image_description` and `description_views` of posts whose image needs
        describing, in one batch; under `on_error="record"` a failed image fails only its post."""
        try:
            results = self.describer.describe(
                [post.image for post in posts],
                options.image_views,
                hashes=[post.image_hash for post in posts],
                prompt=options.captioner_prompt,
                max_new_tokens=options.captioner_max_new_tokens,
            )
        except Exception as err:
            if options.on_error == "raise":
                raise
            if len(posts) == 1:
                posts[0].fail(f"{where(posts[0].index)}: describing its image failed: {err}")
                return
            # Record mode: retry one by one so a single bad image does not cost the whole batch.
            for post in posts:
                self.describe([post], options)
            return
        for post, (description, used_views) in zip(posts, results, strict=True):
            post.description = description
            post.image_description = description or ""
            post.description_views = used_views


def make_cache(spec: bool | int | DescriptionCache | None, path: str | None) -> DescriptionCache | None:
    """The pipeline's `description_cache` argument as a cache (None: no cache)."""
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


__all__ = ["DescribeOptions", "DescribeStage", "make_cache"]
