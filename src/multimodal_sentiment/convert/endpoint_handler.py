"""Inference Endpoints custom handler of a multimodal-sentiment checkpoint.

`multimodal-sentiment export` copies this file into every exported folder as `handler.py`, with a
`requirements.txt`; Hugging Face Inference Endpoints then serve the repository with it
(https://huggingface.co/docs/inference-endpoints/guides/custom_handler). It needs only torch,
transformers and pillow: the model, its pipeline and their code come from the checkpoint itself
(`trust_remote_code`), never from the `multimodal-sentiment` package.

Request body (JSON):

    {"inputs": {"text": "Finished my first marathon!", "image": "<base64 or data URI or URL>"},
     "parameters": {"return_evidence": true, "return_modalities": true}}

`inputs` is one post (a dict with `text`, `image` and/or `image_description`, or a plain string
for a text-only post) or a list of posts; `parameters` are the pipeline's per-call options
(`return_evidence`, `return_modalities`, `on_error`, `batch_size`, `captioner_prompt`,
`captioner_max_new_tokens`, `image_views`). The response is the pipeline's output: one dict per
post (`label`, `score`, `scores`, `image_description`, ...), a list for a list.

Environment variables (set them on the endpoint): `MULTIMODAL_SENTIMENT_DEVICE` (default: cuda
when available, else cpu), `MULTIMODAL_SENTIMENT_QUANTIZE=int8` and
`MULTIMODAL_SENTIMENT_QUANTIZE_CAPTIONER=int8` (CPU endpoints: dynamic int8),
`MULTIMODAL_SENTIMENT_CAPTIONER` (another image-to-text model id than the config's).
"""

from __future__ import annotations

import os
from typing import Any

TASK = "multimodal-sentiment"


class EndpointHandler:
    """`EndpointHandler(path)(data)`: the checkpoint's multimodal-sentiment pipeline behind an endpoint."""

    def __init__(self, path: str = "") -> None:
        import torch
        from transformers import pipeline

        device = os.environ.get("MULTIMODAL_SENTIMENT_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
        options: dict[str, Any] = {}
        for variable, option in (
            ("MULTIMODAL_SENTIMENT_QUANTIZE", "quantize"),
            ("MULTIMODAL_SENTIMENT_QUANTIZE_CAPTIONER", "captioner_quantize"),
            ("MULTIMODAL_SENTIMENT_CAPTIONER", "captioner"),
        ):
            if os.environ.get(variable):
                options[option] = os.environ[variable]
        self.pipeline = pipeline(TASK, model=path or ".", trust_remote_code=True, device=device, **options)

    def __call__(self, data: dict[str, Any]) -> Any:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError(
                'The request body must be {"inputs": <post or list of posts>, "parameters": {...}}; '
                f"got {type(data).__name__} with keys {sorted(data) if isinstance(data, dict) else None}"
            )
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError(f'"parameters" must be an object of pipeline options, got {type(parameters).__name__}')
        return self.pipeline(data["inputs"], **parameters)
