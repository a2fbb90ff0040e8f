"""Model card generator: metadata and text come from the checkpoint's config, its code files,
evaluation results JSON files and an optional training-info JSON, never from hand-typed numbers.

Built on huggingface_hub's `ModelCard` / `ModelCardData` / `EvalResult`; the text is the Jinja
template `template.md` next to this file (shipped as package data). Imports only the standard
library and huggingface_hub, so writing a card never loads a model.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..modeling.checkpoint_code import TASK
from ..seed_pairs import mean_std, seed_differences

TEMPLATE_PATH = Path(__file__).with_name("template.md")
UNPINNED_REVISION = "<commit sha or tag>"

# Metric keys of the `multimodal-sentiment evaluate` results JSON -> (model-index type, config, pretty name).
METRICS: dict[str, tuple[str, str | None, str]] = {
    "accuracy": ("accuracy", None, "Accuracy"),
    "f1_weighted": ("f1", "weighted", "F1 (weighted)"),
    "f1_macro": ("f1", "macro", "F1 (macro)"),
    "precision_weighted": ("precision", "weighted", "Precision (weighted)"),
    "recall_weighted": ("recall", "weighted", "Recall (weighted)"),
}
REQUIRED_RESULT_KEYS = ("dataset", "split", "metrics")

# Licences of captioners we name by default, from their model cards. Anything else: the card
# links to the captioner's own model card instead of guessing (override with captioner_license).
KNOWN_CAPTIONER_LICENSES = {
    "Salesforce/blip-image-captioning-base": "bsd-3-clause",
    "Salesforce/blip-image-captioning-large": "bsd-3-clause",
}

FAMILIES: dict[str, dict[str, str]] = {
    "era": {
        "name": "ERA (Explicit Representation Alignment)",
        "summary": (
            "A vision-language model first translates the image into words; ONE text encoder then reads the post "
            "text and that description together as a tokenizer pair, so both modalities live in the same space "
            "before they are fused. A small scoring network picks the Top-K most affect-relevant tokens, which are "
            "mean-pooled (weighted by a gate of their scores) and classified. In training, a batch uniformity "
            "penalty keeps the pooled representations from collapsing."
        ),
        "paper": "Wang et al., *Explicit Representation Alignment for Multimodal Sentiment Analysis*, arXiv 2606.09148 (2026)",
    },
    "misr": {
        "name": "MISR (Multimodal Invariant Sentiment Representation)",
        "summary": (
            "The post text and the image (pixels through a vision encoder, or the image description through a text "
            "encoder) are encoded separately; each modality and their joint representation are mapped to Gaussian "
            "latents (KL to N(0, I)), and several environments (joint, text-only, visual-only) are scored by ONE "
            "shared classifier under an invariance penalty (IRMv1 or V-REx). Predictions come from the joint "
            "environment."
        ),
        "paper": "Zhu et al., *Multimodal Invariant Sentiment Representation Learning*, Findings of ACL 2025, pp. 14743-14755",
    },
}

# Config fields worth showing in the card, when the config has them (ERA and MISR differ).
ARCHITECTURE_FIELDS = (
    "token_top_k",
    "token_gate",
    "uniformity_weight",
    "uniformity_type",
    "latent_size",
    "kl_weight",
    "environments",
    "invariance_type",
    "invariance_weight",
    "share_text_encoder",
    "max_input_tokens",
    "image_views",
)

# Training-record keys a public card leaves out: example posts belong to their authors (and some
# datasets forbid redistribution), and checkpoint paths are local to the training machine.
NOT_IN_CARD = ("label_examples", "examples", "best_model_checkpoint", "output_dir", "resumed_from_step")

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


class ResultsFileError(ValueError):
    """An evaluation results JSON is missing a key or has a wrong value; the message names the file."""


# ---------------------------------------------------------------- inputs


def load_results(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read and check `multimodal-sentiment evaluate` results JSON files (one run each)."""
    runs = []
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultsFileError(f"Results file {path} does not exist (write it with `multimodal-sentiment evaluate`).") from None
        except json.JSONDecodeError as error:
            raise ResultsFileError(f"Results file {path} is not valid JSON: {error}.") from None
        runs.append(check_result(data, source=str(path)))
    return runs


def check_result(data: Any, source: str = "results") -> dict[str, Any]:
    """Validate one results dict; raise `ResultsFileError` naming what is wrong and where."""
    if not isinstance(data, Mapping):
        raise ResultsFileError(f"{source}: expected a JSON object, got {type(data).__name__}.")
    missing = [key for key in REQUIRED_RESULT_KEYS if key not in data]
    if missing:
        raise ResultsFileError(
            f"{source}: missing {missing}. Expected the JSON written by `multimodal-sentiment evaluate` "
            '({"dataset": ..., "split": ..., "metrics": {"accuracy": ..., ...}, ...}).'
        )
    metrics = data["metrics"]
    if not isinstance(metrics, Mapping) or "accuracy" not in metrics:
        raise ResultsFileError(f"{source}: `metrics` must be an object with at least `accuracy`.")
    for key, value in metrics.items():
        if key == "per_class":
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ResultsFileError(f"{source}: metric {key!r} must be a finite number, got {value!r}.")
    return dict(data)


def load_training_info(path: str | Path | None) -> dict[str, Any] | None:
    """Read the training-info JSON the training callback writes beside the model (any keys)."""
    if path is None:
        return None
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"Training-info file {path} is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise ValueError(f"Training-info file {path} must hold a JSON object, got {type(data).__name__}.")
    return data


def load_trainer_log_history(folder: str | Path) -> list[dict[str, Any]]:
    """The Trainer's `log_history` from `trainer_state.json` in a checkpoint folder (empty if none)."""
    path = Path(folder) / "trainer_state.json"
    if not path.is_file():
        return []
    try:
        return list(json.loads(path.read_text(encoding="utf-8")).get("log_history") or [])
    except (json.JSONDecodeError, AttributeError):
        return []


# ---------------------------------------------------------------- helpers


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-markdown table of dict rows (missing cells left blank)."""
    if not rows:
        return ""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(str(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping) and all(not isinstance(v, (dict, list)) for v in value.values()):
        value = ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    elif isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _model_family(model_type: str) -> str | None:
    lowered = model_type.lower()
    return next((family for family in FAMILIES if lowered.startswith(family)), None)


def _hub_ids(config: Mapping[str, Any]) -> list[str]:
    """Hub ids of the pretrained encoders (config fields `*name_or_path`), for `base_model`."""
    ids = []
    for key, value in config.items():
        if key.endswith("name_or_path") and key != "_name_or_path" and isinstance(value, str):
            if HUB_ID.match(value) and not Path(value).exists():
                ids.append(value)
    return list(dict.fromkeys(ids))


def describe_code_files(paths: Iterable[str | Path]) -> list[dict[str, str]]:
    """File name and the first line of its module docstring, for the remote-code section."""
    described = []
    for path in sorted(Path(p) for p in paths):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        except (OSError, SyntaxError):
            doc = ""
        first = " ".join(doc.strip().split("\n\n")[0].split()) if doc else "(no module docstring)"
        described.append({"file": f"`{path.name}`", "what it does": first})
    return described


def _run_label(run: Mapping[str, Any], weights_seed: Any = None) -> str:
    """`seed N`, marked when several seeds are listed and this is the one whose weights the card ships."""
    if run.get("seed") is None:
        return "run"
    return f"seed {run['seed']}" + (" (these weights)" if weights_seed is not None and run["seed"] == weights_seed else "")


def _metric_keys(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = [k for k in METRICS if any(k in r["metrics"] for r in runs)]
    extra = sorted({k for r in runs for k in r["metrics"] if k not in METRICS and k != "per_class"})
    return keys + extra


def _group_runs(runs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault((str(run["dataset"]), str(run["split"])), []).append(run)
    return groups


def eval_results_from_runs(runs: Sequence[Mapping[str, Any]]) -> list[EvalResult]:
    """One `EvalResult` per metric per run: every model-index number is copied from a results file."""
    results = []
    for (dataset, split), group in _group_runs(runs).items():
        several = len(group) > 1
        for run in group:
            for key in _metric_keys([run]):
                metric_type, metric_config, pretty = METRICS.get(key, (key, None, key))
                results.append(
                    EvalResult(
                        task_type="text-classification",
                        task_name="Multimodal sentiment analysis",
                        dataset_type=dataset,
                        dataset_name=dataset,
                        dataset_split=split,
                        metric_type=metric_type,
                        metric_config=metric_config,
                        metric_name=f"{pretty} ({_run_label(run)})" if several else pretty,
                        metric_value=run["metrics"][key],
                        metric_args={"seed": run["seed"]} if run.get("seed") is not None else None,
                    )
                )
    return results


def results_sections(runs: Sequence[Mapping[str, Any]], weights_seed: Any = None) -> list[dict[str, Any]]:
    """Per (dataset, split): a table of the runs, mean/std over runs, per-class table, provenance.
    With several seeds, the row of `weights_seed` (the exported run's) is marked "(these weights)"."""
    sections = []
    for (dataset, split), group in _group_runs(runs).items():
        keys = _metric_keys(group)
        marked = weights_seed if len(group) > 1 else None
        rows = []
        for run in group:
            row = {"run": _run_label(run, marked), "examples": run.get("num_examples", "")}
            row.update({METRICS.get(k, (k, None, k))[2]: f"{100 * run['metrics'][k]:.2f}" for k in keys if k in run["metrics"]})
            rows.append(row)
        if len(group) > 1:
            summary = {"run": f"mean ± std ({len(group)} runs)", "examples": ""}
            for key in keys:
                values = [100 * r["metrics"][key] for r in group if key in r["metrics"]]
                if len(values) > 1:
                    summary[METRICS.get(key, (key, None, key))[2]] = mean_std(values)
            rows.append(summary)
        per_class = _per_class_table(group[0]["metrics"].get("per_class")) if len(group) == 1 else ""
        provenance = [
            {
                "run": _run_label(run, marked),
                "model": run.get("model", ""),
                "command": f"`{run['command']}`" if run.get("command") else "",
                "date": run.get("date", ""),
                "machine": run.get("machine", ""),
            }
            for run in group
        ]
        sections.append(
            {
                "dataset": dataset,
                "split": split,
                "num_runs": len(group),
                "table": markdown_table(rows),
                "per_class": per_class,
                "provenance": markdown_table(provenance),
                "view_coverage": coverage_table(group[0].get("view_coverage")) if len(group) == 1 else "",
                "calibration": calibration_table(group, marked),
                "versions": group[0].get("versions") or {},
            }
        )
    return sections


BASELINE_METRICS = ("accuracy", "f1_weighted", "f1_macro")


def baseline_sections(runs: Sequence[Mapping[str, Any]], baselines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (dataset, split): the baseline's runs, their mean, and this model minus the baseline seed
    by seed over the seeds both have (points), so a reader sees what this model adds over it.
    Raises `ResultsFileError` for baseline results of a dataset/split this card has no results for."""
    ours = _group_runs(runs)
    sections = []
    for (dataset, split), group in _group_runs(baselines).items():
        if (dataset, split) not in ours:
            raise ResultsFileError(
                f"Baseline results are for {dataset}, split {split!r}, but this model has no results there: "
                "pass this model's results of the same dataset and split with --results."
            )
        names = sorted({str(run.get("preset") or run.get("model") or "baseline") for run in group})
        rows = []
        for run in sorted(group, key=lambda r: (r.get("seed") is None, r.get("seed") or 0)):
            row = {"run": f"baseline, {_run_label(run)}"}
            row.update({METRICS[k][2]: f"{100 * run['metrics'][k]:.2f}" for k in BASELINE_METRICS if k in run["metrics"]})
            rows.append(row)
        if len(group) > 1:
            summary = {"run": f"baseline, mean ± std ({len(group)} runs)"}
            for key in BASELINE_METRICS:
                values = [100 * r["metrics"][key] for r in group if key in r["metrics"]]
                if len(values) > 1:
                    summary[METRICS[key][2]] = mean_std(values)
            rows.append(summary)
        differences = {key: seed_differences(ours[(dataset, split)], group, key) for key in BASELINE_METRICS}
        seeds = sorted({seed for by_seed in differences.values() for seed in by_seed})
        if seeds:
            difference = {"run": f"this model minus the baseline, seed by seed (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; points)"}
            for key, by_seed in differences.items():
                values = list(by_seed.values())
                if values:
                    difference[METRICS[key][2]] = mean_std(values, signed=True)
            rows.append(difference)
        sections.append(
            {
                "dataset": dataset,
                "split": split,
                "names": names,
                "table": markdown_table(rows),
                "commands": [f"{_run_label(run)}: `{run['command']}`" for run in group if run.get("command")],
            }
        )
    return sections


def calibration_table(runs: Sequence[Mapping[str, Any]], weights_seed: Any = None) -> str:
    """Temperature, class offsets and ECE before/after of the calibrated runs ("" if none)."""
    rows = [
        {
            "run": _run_label(run, weights_seed),
            "temperature": str(run["calibration"]["logit_temperature"]),
            "class offsets": str(run["calibration"].get("class_logit_bias") or "none"),
            "ECE before": f"{run['calibration']['ece_before']:.4f}",
            "ECE after": f"{run['calibration']['ece_after']:.4f}",
        }
        for run in runs
        if isinstance(run.get("calibration"), Mapping)
    ]
    return markdown_table(rows) if rows else ""


def _per_class_table(per_class: Any) -> str:
    if not isinstance(per_class, Mapping) or not per_class:
        return ""
    rows = []
    for label, values in per_class.items():
        if isinstance(values, Mapping):
            rows.append({"label": label, **{k: v for k, v in values.items() if not isinstance(v, (dict, list))}})
        elif isinstance(values, (int, float)):
            rows.append({"label": label, "value": values})
    return markdown_table(rows)


def training_sections(info: Mapping[str, Any] | None, log_history: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Render whatever the training-info JSON holds; nothing in it is required.

    The keys `training_record.json` (training/callbacks.py) writes get their own section
    (`hyperparameters`, `evaluations` per epoch, `train_set` statistics, `versions`,
    `view_coverage`, `dataset`); any other key is listed as it is. Without per-epoch evaluation
    in `info`, the Trainer's `trainer_state.json` log history is used.
    """
    info = dict(info or {})
    hyperparameters = info.pop("hyperparameters", None) or {}
    history = info.pop("evaluations", None)
    train_set = info.pop("train_set", None)
    versions = info.pop("versions", None) or {}
    coverage = info.pop("view_coverage", None)
    dataset = info.pop("dataset", None)
    for key in NOT_IN_CARD:
        info.pop(key, None)
    if isinstance(train_set, Mapping):
        train_set = {k: v for k, v in train_set.items() if k not in NOT_IN_CARD}
    if not history and log_history:
        history = [
            {k: v for k, v in entry.items() if k in ("epoch", "step") or k.startswith("eval_")}
            for entry in log_history
            if any(k.startswith("eval_") for k in entry)
        ]
        history_source = "the Trainer's `trainer_state.json`"
    else:
        history_source = "the training record"
    history_rows = [h for h in history or [] if isinstance(h, Mapping)]
    if isinstance(history, Mapping):  # {"1": {...}, "2": {...}} keyed by epoch
        history_rows = [{"epoch": k, **v} for k, v in history.items() if isinstance(v, Mapping)]
    return {
        "hyperparameters": hyperparameters if isinstance(hyperparameters, Mapping) else {"value": hyperparameters},
        "eval_history": markdown_table(history_rows),
        "eval_history_source": history_source,
        "train_set": _flat_items(train_set),
        "train_versions": versions if isinstance(versions, Mapping) else {},
        "train_dataset": dataset,
        "view_coverage": coverage_table(coverage),
        "view_coverage_note": coverage_note(coverage),
        "other": _flat_items(info),
    }


def coverage_table(coverage: Any) -> str:
    """The `view_coverage` record of `train` / `evaluate` as a table: per split, the rows that
    carry each image-to-text view (count and share)."""
    if not isinstance(coverage, Mapping) or not isinstance(coverage.get("splits"), Mapping):
        return ""
    rows = []
    for split, entry in coverage["splits"].items():
        counts, shares = entry.get("with") or {}, entry.get("share") or {}
        row = {"split": split, "rows": entry.get("rows", "")}
        row.update({view: f"{count} ({100 * float(shares.get(view, 0.0)):.1f}%)" for view, count in counts.items()})
        rows.append(row)
    return markdown_table(rows)


def coverage_note(coverage: Any) -> str:
    """What the model reads, the required share, and whether low coverage was accepted."""
    if not isinstance(coverage, Mapping):
        return ""
    views = list(coverage.get("required_views") or [])
    if not views:
        return "The model reads the post text only."
    share = 100 * float(coverage.get("min_share", 0))
    note = f"The model reads {', '.join(views)}; each had to cover at least {share:.0f}% of every split's rows"
    accepted = coverage.get("allow_low_coverage")
    return note + (" (lower coverage was accepted with `--allow_low_coverage`)." if accepted else ".")


def _flat_items(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [("value", _cell(value))]
    return [(str(k), _cell(v)) for k, v in value.items()]


# ---------------------------------------------------------------- card


def build_model_card(
    config: Mapping[str, Any],
    *,
    repo_id: str | None = None,
    revision: str | None = None,
    results: Sequence[Mapping[str, Any]] = (),
    baseline_results: Sequence[Mapping[str, Any]] = (),
    training_info: Mapping[str, Any] | None = None,
    trainer_log_history: Sequence[Mapping[str, Any]] = (),
    code_files: Iterable[str | Path] = (),
    license: str = "apache-2.0",
    datasets: Sequence[str] = (),
    language: str | list[str] | None = None,
    captioner_license: str | None = None,
    package_version: str | None = None,
    template_path: str | Path = TEMPLATE_PATH,
) -> ModelCard:
    """Render the model card of a checkpoint.

    Args:
        config: the checkpoint's config as a dict (`config.json` or `config.to_dict()`).
        repo_id: Hub id the card documents (`org/name`); a placeholder is shown when unknown.
        revision: the pinned revision shown in the usage code (a tag or commit sha).
        results: checked results dicts (`load_results`); several runs of one dataset/split give
            mean and std in the text. None: the card says the model has not been evaluated.
        baseline_results: checked results dicts of a baseline (e.g. text-only on the same encoder
            and recipe) on the same datasets and splits: the card shows them and this model minus
            the baseline, seed by seed.
        training_info / trainer_log_history: optional training details (any keys).
        code_files: the remote-code `.py` files shipped with the checkpoint.
        license, datasets, language: card metadata; captioner_license overrides the known table.
    """
    model_type = str(config.get("model_type", "unknown"))
    family = _model_family(model_type)
    if results:
        _check_results_match(model_type, results)
    name = repo_id.split("/")[-1] if repo_id else f"{family or model_type}-multimodal-sentiment"
    training = training_sections(training_info, trainer_log_history)
    datasets = list(dict.fromkeys([*datasets, *(str(r["dataset"]) for r in results), *_as_list(training["train_dataset"])]))
    captioner = config.get("captioner")
    base_models = _hub_ids(config)

    card_data = ModelCardData(
        license=license,
        language=language,
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=[TASK, "custom_code", "sentiment-analysis", "multimodal", *( [family] if family else [])],
        base_model=base_models or None,
        datasets=datasets or None,
        metrics=["accuracy", "f1"] if results else None,
        model_name=name if results else None,  # only model-index needs it
        eval_results=eval_results_from_runs(results) or None,
    )
    id2label = config.get("id2label") or {}
    encoder = config.get("encoder_config") or {}
    card = ModelCard.from_template(
        card_data,
        template_path=str(template_path),
        title=name,
        repo_id=repo_id or "<your-org>/<model-name>",
        has_repo_id=bool(repo_id),
        pinned_revision=revision or UNPINNED_REVISION,
        is_pinned=bool(revision),
        task=TASK,
        model_type=model_type,
        family=FAMILIES.get(family or "", {}),
        base_models=base_models,
        encoder_type=encoder.get("model_type") if isinstance(encoder, Mapping) else None,
        encoder_hidden=encoder.get("hidden_size") if isinstance(encoder, Mapping) else None,
        encoder_layers=encoder.get("num_hidden_layers") if isinstance(encoder, Mapping) else None,
        vision_type=(config.get("vision_config") or {}).get("model_type") if isinstance(config.get("vision_config"), Mapping) else None,
        architecture=[(k, config[k]) for k in ARCHITECTURE_FIELDS if k in config],
        labels=[id2label[k] for k in sorted(id2label, key=lambda x: int(x))],
        captioner=captioner,
        captioner_revision=config.get("captioner_revision"),
        captioner_prompt=config.get("captioner_prompt"),
        captioner_license=captioner_license or KNOWN_CAPTIONER_LICENSES.get(str(captioner)),
        captioner_is_hub_id=bool(captioner and HUB_ID.match(str(captioner))),
        code_files=markdown_table(describe_code_files(code_files)),
        has_custom_pipeline=bool(config.get("custom_pipelines")),
        compact=config.get("encoder_weights_in_checkpoint") is False,
        encoder_source=config.get("encoder_name_or_path"),
        encoder_trained_layers=config.get("encoder_trained_layers") or 0,
        encoder_fingerprint=config.get("encoder_fingerprint"),
        evaluated=bool(results),
        results_sections=results_sections(results, weights_seed=training["hyperparameters"].get("seed")),
        baseline_sections=baseline_sections(results, baseline_results),
        training=training,
        dataset_list=datasets,
        package_version=package_version,
    )
    return card


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _check_results_match(model_type: str, runs: Sequence[Mapping[str, Any]]) -> None:
    # A results file of another model would put its numbers on this card: refuse clearly.
    for run in runs:
        other = str(run.get("model_type") or "")
        if other and other.lower() not in model_type.lower() and model_type.lower() not in other.lower():
            raise ResultsFileError(
                f"A results file is for model_type {other!r} but this checkpoint is {model_type!r} "
                f"(model {run.get('model', '?')!r}). Pass the results of this model."
            )


def write_model_card(folder: str | Path, **kwargs: Any) -> Path:
    """Write README.md into a checkpoint folder from its config.json and `.py` files.

    Keyword arguments are those of `build_model_card` (except `config` and `code_files`).
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{folder} has no config.json: write the model there first (save_pretrained / export).")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    card = build_model_card(config, code_files=sorted(folder.glob("*.py")), **kwargs)
    path = folder / "README.md"
    card.save(path)
    return path


__all__ = [
    "TEMPLATE_PATH",
    "ResultsFileError",
    "build_model_card",
    "write_model_card",
    "load_results",
    "check_result",
    "load_training_info",
    "load_trainer_log_history",
    "eval_results_from_runs",
    "markdown_table",
]
