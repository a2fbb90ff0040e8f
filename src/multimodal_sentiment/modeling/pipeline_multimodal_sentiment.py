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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch
from transformers import Pipeline

from .checkpoint_code import TASK
from .describe_stage import DescribeOptions, DescribeStage, make_cache
from .image_inputs import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_URL_TIMEOUT, ImageLimits
from .image_to_text import DescriptionCache, ImageDescriber
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
    quantize_classifier,
)
from .text_pairs import emoji_to_words

# Lists, datasets and generators are classified (and their images described) this many at a time
# unless the pipeline or the call sets batch_size; a single post is always a batch of one.
DEFAULT_BATCH_SIZE = 16
# A list's posts are classified shortest first (by token count), this many at a time, and returned
# in input order: each batch then pads its posts to similar lengths (on tweets at batch 16, a fifth
# fewer tokens through the model than in input order). The window bounds the posts held at once.
LENGTH_SORT_WINDOW = 1024


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
    distinct image once; cached ones not at all), then the classifier runs on the batch. A list's
    posts go to the classifier shortest first (`LENGTH_SORT_WINDOW` at a time, results in input
    order), so a batch pads little; streams keep their order. 16 is near the fastest on a CPU for
    tweet-length posts (sorted batches of 12 to 24 cost within 5% of each other); on a GPU pass a
    larger one.
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
        self.image_limits = ImageLimits(max_pixels=max_image_pixels, max_bytes=max_image_bytes, timeout=image_timeout)
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
        self.describe_stage = DescribeStage(
            captioner if captioner is not None else getattr(config, "captioner", None),
            explicit=captioner is not None,  # the caller's must load; the config's may fall back to OCR
            # A captioner passed here replaces the config's, so the config's revision no longer applies.
            revision=captioner_revision
            if captioner is not None
            else captioner_revision or getattr(config, "captioner_revision", None),
            defaults=self._defaults,
            generate_kwargs=captioner_generate_kwargs,
            load_kwargs=captioner_load_kwargs,
            device=self.device,
            dtype=None if requested_dtype in (None, "auto") else requested_dtype,
            quantize=self.captioner_quantize,
            cache=make_cache(description_cache, description_cache_file),
            separator=view_separator if view_separator is not None else self.input_spec.view_separator,
        )

    @property
    def describer(self) -> ImageDescriber:
        """The image-to-text views and cache (`DescribeStage.describer`), made on first use."""
        return self.describe_stage.describer

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
            posts = self._prepare(iter(inputs), batch_size, options)
            if batch_size == 1 or self.input_spec.reads_pixels:  # nothing to pad / keep decoded images few
                return list(super().__call__(posts, **kwargs))
            positions: list[int] = []
            outputs = list(super().__call__(self._shortest_first(posts, positions), **kwargs))
            results: list[Any] = [None] * len(inputs)
            for position, output in zip(positions, outputs, strict=True):
                results[position] = output
            return results
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
            self.describe_stage.describe(pending, self.describe_stage.usable_views(options))
        for post in posts:
            post.needs_description, post.image_hash = False, None
            if self.input_spec.emoji_as_words:  # what the model reads (evidence words too); outputs keep the original
                post.text, post.description = emoji_to_words(post.text), emoji_to_words(post.description)
            if not self.input_spec.reads_pixels:
                post.image = None  # the description replaces the pixels
        return posts

    def _shortest_first(self, posts: Iterator[Post], positions: list[int]) -> Iterator[Post]:
        """`posts` reordered by token count within windows of `LENGTH_SORT_WINDOW` (stable: equal
        lengths keep their order); each one's input position (`Post.index`) is appended to
        `positions` as it is yielded, so the outputs, which come in this order, can be put back."""
        while True:
            window = list(itertools.islice(posts, LENGTH_SORT_WINDOW))
            if not window:
                return
            # One tokenizer call per window (about 1% of a batch's forward): preprocess tokenizes again.
            encoded = self.input_spec.encode(
                self.tokenizer, [post.text for post in window], [post.description for post in window]
            )
            counts = [len(ids) for ids in encoded["input_ids"]]
            for offset, count in enumerate(map(len, encoded.get("description_input_ids", []))):
                counts[offset] += count  # a "separate" model pads the description on its own too
            for offset in sorted(range(len(window)), key=counts.__getitem__):
                positions.append(window[offset].index)
                yield window[offset]

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


__all__ = ["DEFAULT_BATCH_SIZE", "MultimodalInputError", "MultimodalSentimentPipeline", "TASK"]
