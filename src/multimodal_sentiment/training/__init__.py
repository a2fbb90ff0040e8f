"""Fine-tuning with the Hugging Face Trainer: `multimodal-sentiment train` (see `train.py`)."""

from .arguments import PRESETS, DataArguments, ModelArguments, RunArguments, apply_preset, default_encoder
from .callbacks import TrainingRecordCallback, dataset_statistics

__all__ = [
    "PRESETS",
    "DataArguments",
    "ModelArguments",
    "RunArguments",
    "TrainingRecordCallback",
    "apply_preset",
    "dataset_statistics",
    "default_encoder",
]
