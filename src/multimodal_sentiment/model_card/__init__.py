"""Model cards for exported checkpoints: metadata and numbers come from files, never typed by hand.

`write_model_card(folder, results=load_results([...]))` writes README.md into a checkpoint folder;
the text is `template.md` (package data), rendered by huggingface_hub's `ModelCard.from_template`.
"""

from .card import (
    TEMPLATE_PATH,
    ResultsFileError,
    build_model_card,
    check_result,
    eval_results_from_runs,
    load_results,
    load_trainer_log_history,
    load_training_info,
    write_model_card,
)

__all__ = [
    "TEMPLATE_PATH",
    "ResultsFileError",
    "build_model_card",
    "check_result",
    "eval_results_from_runs",
    "load_results",
    "load_trainer_log_history",
    "load_training_info",
    "write_model_card",
]
