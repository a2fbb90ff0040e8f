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
TYPE_CHECKING) so that `save_pretrained` copies it; how the model reads a post comes from its
config (`input_spec.py`).

The pipeline has transformers' four-method shape (`_sanitize_parameters`, `preprocess`,
`_forward`, `postprocess`) plus the image-to-text stage that `__call__` runs a chunk of inputs at
a time. Its parts live beside it: reading inputs in `post_inputs.py`, the result record in
`pipeline_outputs.py`, model inputs in `input_spec.py`.
"""

from __future__ import annotations

import itertools
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from transformers import Pipeline

from .checkpoint_code import TASK
from .image_inputs import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_URL_TIMEOUT, ImageLimits
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
from .input_spec import InputSpec
from .pipeline_outputs import PostResult, evidence, prediction, token_info
from .post_inputs import (
    INPUT_KEYS,
    MultimodalInputError,
    Post,
    check_batch_size,
    check_on_error,
    check_views,
    is_single,
    read_post,
    where,
)
from .quantization import (
    check_captioner_quantizable,
    check_quantizable,
    check_quantize,
    quantize_captioner_on_load,
    quantize_classifier,
)
from .text_pairs import emoji_to_words

# Lists, datasets and generators are classified (and their images described) this many at a time
# unless the pipeline or the call sets batch_size; a single post is always a batch of one.
DEFAULT_BATCH_SIZE = 16


@dataclass(frozen=True)
class DescribeOptions:
    """Options of the image-to-text stage, which runs in `__call__` before `preprocess` (images are
    described a chunk at a time): the pipeline's defaults, each overridable per call."""

    captioner_prompt: str | None
    captioner_max_new_tokens: int
    image_views: tuple[str, ...]
    on_error: str


# Every per-call option, named once: the stages that read it ("describe": `DescribeOptions`) and
# how its value is checked. `_sanitize_parameters` is the only reader.
CALL_OPTIONS: dict[str, tuple[tuple[str, ...], Callable[[Any], Any]]] = {
    "return_evidence": (("preprocess", "forward", "postprocess"), bool),
    "return_modalities": (("forward", "postprocess"), bool),
    "on_error": (("describe",), check_on_error),
    "captioner_prompt": (("describe",), lambda prompt: prompt),
    "captioner_max_new_tokens": (("describe",), int),
    "image_views": (("describe",), check_views),
}


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
            self._batch_size = check_batch_size(self._batch_size)
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
        # How this model reads a post (a text pair, separate sequences, or text and pixels): input_spec.py.
        self.input_spec = InputSpec.from_config(config, self.tokenizer)
        if self.input_spec.reads_pixels and self.image_processor is None:
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
        self.image_limits = ImageLimits(max_pixels=max_image_pixels, max_bytes=max_image_bytes, timeout=image_timeout)
        self.description_cache = _make_cache(description_cache, description_cache_file)
        self._defaults = DescribeOptions(
            captioner_prompt=captioner_prompt
            if captioner_prompt is not None
            else getattr(config, "captioner_prompt", None),
            captioner_max_new_tokens=int(
                captioner_max_new_tokens or getattr(config, "captioner_max_new_tokens", None) or 40
            ),
            image_views=check_views(image_views if image_views is not None else getattr(config, "image_views", None)),
            on_error=check_on_error(on_error),
        )
        self._describer: ImageDescriber | None = None
        self._describer_lock = threading.Lock()
        # Named by the caller (an error if it cannot load) or taken from the config (OCR fallback).
        self.captioner_explicit = captioner is not None
        self._captioner_problem: str | None = None
        self._captioner_checked = False
        self._captioner_check_lock = threading.Lock()

    # ------------------------------------------------------------ calling

    def __call__(
        self, inputs: Any = None, *, batch_size: int | None = None, num_workers: int | None = None, **kwargs: Any
    ) -> Any:
        """Classify one post (returns a dict) or many (a list for a list; an iterator for a
        generator or dataset).

        ```python
        >>> classifier({"text": "so happy", "image": "beach.jpg"}, return_modalities=True)
        >>> classifier(text="so happy", image="beach.jpg")  # the same, as keywords
        >>> for result in classifier(dataset, batch_size=16, on_error="record"): ...
        ```

        Per-call options: `CALL_OPTIONS` (`return_evidence`, `return_modalities`, `on_error`,
        `captioner_prompt`, `captioner_max_new_tokens`, `image_views`) and `batch_size`.
        """
        direct = {key: kwargs.pop(key) for key in INPUT_KEYS if key in kwargs}
        if direct:
            if inputs is not None:
                raise TypeError("Pass one positional input or text=/image=/image_description= keywords, not both.")
            inputs = direct
        if inputs is None:
            raise MultimodalInputError("Nothing to classify: pass {'text': ..., 'image': ...} or a list of those.")
        if int(num_workers or 0) > 0:
            raise ValueError(
                "num_workers > 0 is not supported: images are described in this process, batch_size at a time "
                "(a worker process would lose the description cache and cannot use CUDA)."
            )
        # The image-to-text options are used here, before preprocess; the rest go on to the stages.
        describe = self._sanitize_parameters(**kwargs)[0].pop("describe", {})
        options = replace(self._defaults, **describe)
        kwargs = {key: value for key, value in kwargs.items() if key not in describe}
        if num_workers is not None:
            kwargs["num_workers"] = num_workers
        if batch_size is not None:
            kwargs["batch_size"] = batch_size = check_batch_size(batch_size)
        if is_single(inputs):
            prepared = next(self._prepare(iter([inputs]), 1, options, single=True))
            return super().__call__(prepared, **kwargs)
        # Many posts run batched without being asked (DEFAULT_BATCH_SIZE); batch_size=1 turns it off.
        batch_size = kwargs["batch_size"] = batch_size or self._batch_size or DEFAULT_BATCH_SIZE
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                return []
            return list(super().__call__(self._prepare(iter(inputs), batch_size, options), **kwargs))
        try:
            iterator = iter(inputs)
        except TypeError:
            raise MultimodalInputError(
                f"input must be a dict like {{'text': ..., 'image': ...}}, a list or an iterable of those; "
                f"got {type(inputs).__name__}"
            ) from None
        return super().__call__(self._prepare(iterator, batch_size, options), **kwargs)

    def _sanitize_parameters(self, **options: Any) -> tuple[dict, dict, dict]:
        """Check the per-call options and route each to the stages that read it (`CALL_OPTIONS`);
        the image-to-text ones come back under preprocess's "describe" key, for `__call__`."""
        unknown = sorted(set(options) - set(CALL_OPTIONS))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {unknown}. Per call it takes "
                f"{', '.join(CALL_OPTIONS)}, batch_size."
            )
        stages: dict[str, dict[str, Any]] = {"preprocess": {}, "forward": {}, "postprocess": {}, "describe": {}}
        for name, value in options.items():
            targets, check = CALL_OPTIONS[name]
            for stage in targets:
                stages[stage][name] = check(value)
        if stages["describe"]:
            stages["preprocess"]["describe"] = stages["describe"]
        return stages["preprocess"], stages["forward"], stages["postprocess"]

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
            prompt=self._defaults.captioner_prompt,
            max_new_tokens=self._defaults.captioner_max_new_tokens,
            generate_kwargs=self.captioner_generate_kwargs,
            device=self.device,
            dtype=self.captioner_dtype,
            load_kwargs=self.captioner_load_kwargs,
        )
        return quantize_captioner_on_load(captioner) if self.captioner_quantize else captioner

    def _usable_views(self, options: DescribeOptions) -> DescribeOptions:
        """The views this call can run: the caption view is swapped for OCR (with one warning) when the
        config's captioner cannot be loaded here; a captioner the caller named must load or it is an error."""
        if CAPTION_VIEW not in options.image_views or self._check_captioner() is None:
            return options
        views = tuple(view for view in options.image_views if view != CAPTION_VIEW)
        return replace(options, image_views=views if OCR_VIEW in views else (*views, OCR_VIEW))

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
        self, iterator: Iterator[Any], chunk_size: int, options: DescribeOptions, single: bool = False
    ) -> Iterator[Post]:
        """Validate inputs and describe their images, `chunk_size` inputs at a time (lazily, so
        streams stay streams and only one chunk of decoded images is ever in memory)."""
        start = 0
        while True:
            chunk = list(itertools.islice(iterator, chunk_size))
            if not chunk:
                return
            yield from self._prepare_chunk(chunk, start, options, single)
            start += len(chunk)

    def _prepare_chunk(self, items: list[Any], start: int, options: DescribeOptions, single: bool) -> list[Post]:
        posts = []
        for offset, item in enumerate(items):
            index = None if single else start + offset
            try:
                posts.append(read_post(item, index, self.image_limits, self.input_spec.reads_pixels))
            except MultimodalInputError as err:
                if options.on_error == "raise":
                    raise
                posts.append(Post(index, error=str(err)))
        pending = [post for post in posts if post.needs_description]
        if pending and not options.image_views:
            # No image-to-text view (a text-only model, or image_views=[]): images are ignored.
            for post in pending:
                post.needs_description = False
                if post.text is None:
                    message = f"{where(post.index)}: has only an image, but no image-to-text view is enabled"
                    if options.on_error == "raise":
                        raise MultimodalInputError(message + " (image_views=[]): give it a text", post.index)
                    post.fail(message)
            pending = []
        if pending:
            self._describe(pending, self._usable_views(options))
        for post in posts:
            post.needs_description, post.image_hash = False, None
            if self.input_spec.emoji_as_words:  # what the model reads (evidence words too); outputs keep the original
                post.text, post.description = emoji_to_words(post.text), emoji_to_words(post.description)
            if not self.input_spec.reads_pixels:
                post.image = None  # the description replaces the pixels
        return posts

    def _describe(self, posts: list[Post], options: DescribeOptions) -> None:
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
                self._describe([post], options)
            return
        for post, (description, used_views) in zip(posts, results, strict=True):
            post.description = description
            post.image_description = description or ""
            post.description_views = used_views

    # ------------------------------------------------------------ classifier stage

    def preprocess(self, post: Post, return_evidence: bool = False) -> dict[str, Any]:
        spec = self.input_spec
        encoding = spec.encode(
            self.tokenizer,
            [post.text],
            [post.description],
            images=[post.image],
            image_processor=self.image_processor,
            return_tensors="pt",
        )
        meta = {
            "post": post,
            "has_visual": post.image is not None if spec.reads_pixels else post.description is not None,
        }
        if return_evidence and spec.mode == "pair":
            meta["token_info"] = token_info(encoding, post.text, post.description)
        return {**encoding, "meta": meta}

    def _forward(
        self, model_inputs: dict[str, Any], return_evidence: bool = False, return_modalities: bool = False
    ) -> dict[str, Any]:
        metas = model_inputs.pop("meta")
        metas = [metas] if isinstance(metas, dict) else list(metas)  # batched: one meta per row
        selection = return_evidence and self.input_spec.mode == "pair"  # only ERA (a pair reader) selects tokens
        outputs = self.model(**model_inputs, **({"output_selection": True} if selection else {}))
        result = {"logits": outputs.logits, "meta": metas}
        if selection:
            result["input_ids"] = model_inputs["input_ids"]
            result["selected_indices"] = outputs.selected_indices
            result["selected_weights"] = outputs.selected_weights
        if return_modalities:
            posts = [meta["post"] for meta in metas]
            text_only, visual_only = self.input_spec.unimodal_inputs(
                self.tokenizer, [post.text for post in posts], [post.description for post in posts], model_inputs
            )
            result["text_logits"], result["description_logits"] = self._run(text_only), self._run(visual_only)
        return result

    def postprocess(
        self, model_outputs: dict[str, Any], return_evidence: bool = False, return_modalities: bool = False
    ) -> dict[str, Any]:
        meta = model_outputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta
        post: Post = meta["post"]
        if post.error is not None:
            return PostResult.failed(post.index, post.error).to_dict()
        config = self.model.config
        result = PostResult(
            **prediction(model_outputs["logits"][0], config),
            image_description=post.image_description,
            description_views=post.description_views,
        )
        if return_evidence:
            result.evidence = evidence(model_outputs, meta.get("token_info"), self.tokenizer)
        if return_modalities:
            result.text_only = prediction(model_outputs["text_logits"][0], config) if post.text else None
            result.description_only = (
                prediction(model_outputs["description_logits"][0], config) if meta["has_visual"] else None
            )
        return result.to_dict()

    def _run(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**{key: value.to(self.device) for key, value in inputs.items()}).logits


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


__all__ = ["DEFAULT_BATCH_SIZE", "MultimodalInputError", "MultimodalSentimentPipeline", "TASK"]
