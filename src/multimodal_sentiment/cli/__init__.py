"""The `multimodal-sentiment` command: dataset-scale work (caption, train, evaluate, report,
predict, export, push, demo).

Each subcommand lives in its own module as `main(argv: list[str] | None) -> int`, the one place
that parses its argv and turns the namespace into the typed arguments of the library functions
it calls. This package owns the command line: `COMMANDS` and the dispatcher `main` here, the
shared flag style and argument groups in `cli/args.py`. It only dispatches, so
`multimodal-sentiment --help` stays fast (nothing heavy is imported).
`python -m multimodal_sentiment.cli` (e.g. under `torchrun -m`) runs the same `main`.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "caption": ("multimodal_sentiment.inference.caption", "describe every image of a dataset with a VLM (resumable)"),
    "train": ("multimodal_sentiment.training.train", "fine-tune ERA or MISR with the HF Trainer"),
    "evaluate": ("multimodal_sentiment.evaluation.evaluate", "metrics, confusion matrix, t-SNE, retrieval"),
    "calibrate": ("multimodal_sentiment.evaluation.calibration", "fit calibrated scores (temperature, class offsets) on validation"),
    "report": ("multimodal_sentiment.evaluation.report", "results JSONs of many runs -> docs/results.md table"),
    "predict": ("multimodal_sentiment.inference.predict", "run the pipeline over a dataset or files"),
    "export": ("multimodal_sentiment.convert.export", "write a self-contained Hub-ready checkpoint folder"),
    "push": ("multimodal_sentiment.convert.push", "upload an exported folder to the Hub"),
    "demo": ("multimodal_sentiment.demo.run", "offline demo on generated example posts, with an HTML report"),
    "serve": ("multimodal_sentiment.serve.command", "web demo (Gradio) on 127.0.0.1, or --write-space for a Hub Space"),
}


def _usage() -> str:
    lines = ["usage: multimodal-sentiment <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "Run `multimodal-sentiment <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"multimodal-sentiment: unknown command {name!r}.\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)
