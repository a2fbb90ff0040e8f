"""Quiet by default: the recommended call, `pipeline("multimodal-sentiment", trust_remote_code=True)`,
prints neither transformers' "No model was supplied ... not recommended" warning (using the
embedded default is the intended use) nor its "Loading weights" progress bars.

Both come back at transformers' INFO verbosity or lower
(`transformers.logging.set_verbosity_info()`, `TRANSFORMERS_VERBOSITY=info`, or `--verbose` on
the command line): only the warning about *our* default model and only the weight-loading bars
are held back, and only while the verbosity is WARNING or quieter (transformers' default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

LOADING_BAR_DESCRIPTIONS = ("Loading weights",)
_installed = False


def verbose_enabled() -> bool:
    """Whether transformers' verbosity is INFO or lower (then nothing is held back)."""
    from transformers.utils import logging as hf_logging

    return hf_logging.get_verbosity() <= logging.INFO


class _DefaultModelNoticeFilter(logging.Filter):
    """Drops transformers' "No model was supplied, defaulted to <our default>" record."""

    def __init__(self, default_model: str):
        super().__init__()
        self.prefix = f"No model was supplied, defaulted to {default_model} "

    def filter(self, record: logging.LogRecord) -> bool:
        if verbose_enabled():
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to judge
            return True
        return not message.startswith(self.prefix)


def _quiet_loading_bars(previous: Callable[..., Any] | None) -> Callable[..., Any]:
    def hook(factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("desc") in LOADING_BAR_DESCRIPTIONS and not verbose_enabled():
            kwargs = {**kwargs, "disable": True}
        return previous(factory, args, kwargs) if previous is not None else factory(*args, **kwargs)

    hook.multimodal_sentiment_quiet = True  # type: ignore[attr-defined]
    return hook


def install(default_model: str) -> None:
    """Hold back the default-model notice and the weight-loading bars (idempotent)."""
    global _installed
    if _installed:
        return
    from transformers.utils import logging as hf_logging

    logging.getLogger("transformers.pipelines").addFilter(_DefaultModelNoticeFilter(default_model))
    previous = getattr(hf_logging, "_tqdm_hook", None)
    if hasattr(hf_logging, "set_tqdm_hook") and not getattr(previous, "multimodal_sentiment_quiet", False):
        hf_logging.set_tqdm_hook(_quiet_loading_bars(previous))
    _installed = True


def set_verbose(verbose: bool) -> None:
    """`--verbose` on the command line: transformers at INFO (notices and loading bars shown)."""
    if verbose:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_info()
        hf_logging.enable_progress_bar()


__all__ = ["install", "set_verbose", "verbose_enabled"]
