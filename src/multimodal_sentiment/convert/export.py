"""`multimodal-sentiment export SOURCE OUTPUT_DIR`: write a self-contained, Hub-ready checkpoint.

SOURCE is a Trainer checkpoint (`checkpoint-500/`), a saved model folder (`save_pretrained`), or a
plain PyTorch state dict (`.pt` / `.pth` / `.bin`, read with `torch.load(weights_only=True)`, or
`.safetensors`) together with `--config` and `--tokenizer`. OUTPUT_DIR receives exactly what a
user of the Hub needs and nothing else:

- `model.safetensors` (never a pickle file),
- `config.json` with `auto_map` and `custom_pipelines`,
- every remote-code `.py` file those name, with the siblings they import,
- the tokenizer files,
- `README.md`, the model card (`multimodal_sentiment.model_card`),
- `handler.py` and `requirements.txt` for Hugging Face Inference Endpoints (`endpoint.py`).

The export is atomic: everything is written into a hidden temporary sibling folder, checked, and
renamed to OUTPUT_DIR at the very end. A failure halfway removes the temporary folder and leaves
no OUTPUT_DIR (and an existing OUTPUT_DIR untouched, unless `--overwrite` and the export succeeded).

`--compact` (ERA trained with a frozen encoder or only its top layers, the `era-compact` and
`era-top-layer` training presets) stores the token selector, the classifier head and the trained
top layers (`encoder_trained_layers`, in float16), not the frozen rest of the encoder: the config
names the encoder (`encoder_name_or_path`, a Hub id) and `encoder_weights_in_checkpoint=False`,
and the pipeline / `load_encoder_weights()` fetch it at load time. The export first checks that
the frozen part is bit-identical to that pretrained encoder.

Models are built through `AutoConfig` / `AutoModelForSequenceClassification`, so any architecture
this package registers (ERA, MISR) exports the same way. The code files written are this
package's current ones (an old checkpoint gets today's code, checked to load its weights exactly);
a model_type the package does not know loads, with `--trust-remote-code`, with the source's own
code, which is then the code exported. A process killed outright (SIGKILL, power loss) can leave
the hidden `.OUTPUT_DIR.export-*` folder behind: delete it; OUTPUT_DIR itself is never half-written.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..cli.args import ArgumentParser
from ..modeling.checkpoint_code import save_with_code
from ..modeling.modeling_common import ensure_encoder_weights
from .endpoint import write_endpoint_files
from .keymap import KeyMappingError, map_state_dict, parse_key_map

STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
# Written beside the model by the training callback (training/callbacks.py).
TRAINING_RECORD_NAME = "training_record.json"


class ExportError(RuntimeError):
    """The export cannot proceed; the message says what is wrong and what to pass instead."""


# ---------------------------------------------------------------- sources


def describe_source(source: Path) -> str:
    """`"trainer-checkpoint"`, `"model-folder"` or `"state-dict"`; raise `ExportError` otherwise."""
    if source.is_file():
        if source.suffix in STATE_DICT_SUFFIXES:
            return "state-dict"
        raise ExportError(f"{source} is a file but not a state dict ({', '.join(STATE_DICT_SUFFIXES)}).")
    if not source.is_dir():
        raise ExportError(f"{source} does not exist.")
    if not (source / "config.json").is_file():
        checkpoints = sorted(source.glob("checkpoint-*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
        hint = f" It holds Trainer checkpoints: export one of them, e.g. {checkpoints[-1]}." if checkpoints else ""
        raise ExportError(f"{source} has no config.json, so it is not a saved model folder.{hint}")
    if not any((source / name).is_file() for name in WEIGHT_FILES):
        raise ExportError(f"{source} has a config.json but no weights ({', '.join(WEIGHT_FILES)}).")
    return "trainer-checkpoint" if (source / "trainer_state.json").is_file() else "model-folder"


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Read a plain state dict without unpickling arbitrary objects."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError / RuntimeError with long texts
        raise ExportError(
            f"Could not read {path} with torch.load(weights_only=True): {str(error).splitlines()[0]}. "
            "Export never unpickles arbitrary Python objects: re-save the weights with "
            "torch.save(model.state_dict(), path) or safetensors.torch.save_file."
        ) from None
    # Training scripts often wrap the weights: {"state_dict": ...} (Lightning), {"model": ...}.
    if isinstance(loaded, dict) and not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        for key in ("state_dict", "model_state_dict", "model", "module"):
            inner = loaded.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return dict(inner)
        raise ExportError(
            f"{path} holds a {type(loaded).__name__} with keys {list(loaded)[:8]} that is not a state dict "
            "(name -> tensor) and has no 'state_dict' / 'model_state_dict' / 'model' entry that is one."
        )
    if not isinstance(loaded, dict):
        raise ExportError(f"{path} holds a {type(loaded).__name__}, not a state dict (name -> tensor).")
    return dict(loaded)


def _load_config(config_path: str | Path | None, trust_remote_code: bool) -> Any:
    from transformers import AutoConfig

    if config_path is None:
        raise ExportError("A plain state dict carries no architecture: pass --config (a config.json or a model folder).")
    path = Path(config_path)
    if path.is_dir():
        return AutoConfig.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    if not path.is_file():
        raise ExportError(f"--config {path} does not exist.")
    data = json.loads(path.read_text(encoding="utf-8"))
    model_type = data.pop("model_type", None)
    if model_type is None:
        raise ExportError(f"--config {path} has no 'model_type' (e.g. 'era-multimodal-sentiment').")
    try:
        return AutoConfig.for_model(model_type, **data)
    except ValueError as error:
        raise ExportError(f"--config {path}: {error}") from None


def _load_from_folder(source: Path, trust_remote_code: bool, allow_missing: Sequence[str]) -> Any:
    from transformers import AutoModelForSequenceClassification

    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            str(source), trust_remote_code=trust_remote_code, output_loading_info=True
        )
    except ValueError as error:
        if "trust_remote_code" in str(error) or "Unrecognized" in str(error):
            raise ExportError(
                f"{source}: this package does not know its model_type, and its own code only runs with "
                f"--trust-remote-code (read the .py files in {source} first). Details: {error}"
            ) from None
        raise
    import fnmatch

    if getattr(model.config, "encoder_weights_in_checkpoint", True) is False:
        # A compact source: its encoder is not stored, it is the pretrained one the config names.
        ensure_encoder_weights(model)
        allow_missing = [*allow_missing, _encoder_prefix(model) + "*"]
    missing = [k for k in info.get("missing_keys", []) if not any(fnmatch.fnmatchcase(k, p) for p in allow_missing)]
    if missing:
        raise ExportError(
            f"{source}: {len(missing)} weights are missing from the checkpoint and would be random, e.g. {sorted(missing)[:5]}. "
            "Was it saved from another architecture? Accept on purpose with --allow-missing PATTERN."
        )
    _check_weights_equal(model, source)
    return model


def _check_weights_equal(model: Any, folder: Path) -> None:
    """The loaded model holds exactly the tensors stored in the folder's safetensors files.

    Remote code has been seen to re-initialise weights silently after loading "fine"; an export
    of such a model would publish noise, so compare instead of trusting.
    """
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return
    state = model.state_dict()
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                if key in state and not torch.equal(state[key].cpu(), handle.get_tensor(key).to(state[key].dtype)):
                    raise ExportError(
                        f"Weight {key!r} in the loaded model differs from {file.name}: the model code re-initialised it "
                        "after loading. Fix the model's _init_weights / post_init before exporting."
                    )


def _find_tokenizer(source: Path, tokenizer: str | None) -> str:
    if tokenizer:
        return tokenizer
    candidates = [source] if source.is_dir() else []
    candidates += [source.parent]  # a Trainer output_dir holds the tokenizer beside checkpoint-*/
    for folder in candidates:
        if any((folder / name).is_file() for name in TOKENIZER_FILES):
            return str(folder)
    raise ExportError(
        f"No tokenizer files next to {source}: pass --tokenizer (a folder or Hub id of the tokenizer the model was trained with)."
    )


def _load_image_processor(source: Path, explicit: str | None, config: Any) -> Any:
    """The image processor of a model that reads pixels (MISR with a vision encoder), else None."""
    from transformers import AutoImageProcessor

    if explicit:
        return AutoImageProcessor.from_pretrained(explicit)
    if source.is_dir() and (source / "preprocessor_config.json").is_file():
        return AutoImageProcessor.from_pretrained(str(source))
    if getattr(config, "vision_config", None) is not None:
        raise ExportError(
            "This model reads pixels (config.vision_config is set) but no image processor was found next to the source: "
            "pass --image-processor (the vision encoder's folder or Hub id), or the pipeline will not load."
        )
    return None


def _find_training_info(source: Path, explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    folders = [source, source.parent] if source.is_dir() else [source.parent]
    for folder in folders:
        if (folder / TRAINING_RECORD_NAME).is_file():
            return folder / TRAINING_RECORD_NAME
    return None


def _until_checkpoint(info: dict[str, Any] | None, source: Path) -> dict[str, Any] | None:
    """Keep only the evaluations a Trainer checkpoint had seen: the record beside it is the run's last."""
    state = source / "trainer_state.json"
    if not info or not isinstance(info.get("evaluations"), list) or not state.is_file():
        return info
    step = json.loads(state.read_text(encoding="utf-8")).get("global_step")
    if isinstance(step, int):
        info = dict(info, evaluations=[e for e in info["evaluations"] if not isinstance(e, dict) or e.get("step", 0) <= step])
    return info


# ---------------------------------------------------------------- code files


def check_code_files(folder: Path) -> list[str]:
    """Every module named in config.json (auto_map, custom_pipelines) and every sibling they import is there."""
    from transformers.dynamic_module_utils import get_relative_imports

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    names = [v for v in (config.get("auto_map") or {}).values() if isinstance(v, str)]
    names += [info["impl"] for info in (config.get("custom_pipelines") or {}).values() if isinstance(info, dict)]
    if not any(k in (config.get("auto_map") or {}) for k in ("AutoModelForSequenceClassification",)):
        raise ExportError("config.json has no auto_map['AutoModelForSequenceClassification']: the model cannot load as remote code.")
    todo = [name.rsplit(".", 1)[0] + ".py" for name in names]
    seen: set[str] = set()
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        if not (folder / file).is_file():
            raise ExportError(f"The exported folder lacks {file}, named in config.json or imported by another code file.")
        todo += [f"{name}.py" for name in get_relative_imports(str(folder / file))]
    return sorted(seen)


# ---------------------------------------------------------------- export


def export_checkpoint(
    source: str | Path,
    output_dir: str | Path,
    *,
    config: str | Path | None = None,
    tokenizer: str | None = None,
    image_processor: str | None = None,
    key_map: Sequence[tuple[str, str]] = (),
    drop: Sequence[str] = (),
    allow_missing: Sequence[str] = (),
    results: Sequence[str | Path] = (),
    baseline_results: Sequence[str | Path] = (),
    training_info: str | Path | None = None,
    repo_id: str | None = None,
    card_revision: str | None = None,
    license: str = "apache-2.0",
    datasets: Sequence[str] = (),
    language: str | None = None,
    captioner_license: str | None = None,
    trust_remote_code: bool = False,
    overwrite: bool = False,
    compact: bool = False,
    include_code: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Export SOURCE to OUTPUT_DIR (see the module docstring); returns OUTPUT_DIR.

    `include_code=False` writes a folder that runs only where this package is installed: no code
    files, no `auto_map` / `custom_pipelines`, no Inference Endpoints files (the embedded default).
    Raises `ExportError` (what is wrong, what to pass) and leaves no OUTPUT_DIR on any failure.
    """
    import multimodal_sentiment

    multimodal_sentiment.register()  # our configs, models and the pipeline task, in this process

    from ..model_card import load_results, load_trainer_log_history, load_training_info, write_model_card

    source, output = Path(source).expanduser().resolve(), Path(output_dir).expanduser().resolve()
    kind = describe_source(source)
    if output == source or source in output.parents:
        raise ExportError(f"OUTPUT_DIR {output} must not be the source or inside it.")
    if output.exists() and not overwrite:
        raise ExportError(f"{output} already exists: choose another OUTPUT_DIR or pass --overwrite.")
    if kind == "state-dict" and config is None:
        raise ExportError("A plain state dict carries no architecture: pass --config (a config.json or a model folder).")
    # Read the small inputs first: a typo in --results should fail before any model is built.
    runs = load_results(results)
    baseline_runs = load_results(baseline_results)
    info_path = _find_training_info(source, str(training_info) if training_info else None)
    info = _until_checkpoint(load_training_info(info_path), source)
    tokenizer_source = _find_tokenizer(source, tokenizer)

    log(f"export: reading {kind} {source}")
    model = _build_model(source, kind, config, key_map, drop, allow_missing, trust_remote_code, log)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_source)
    processor = _load_image_processor(source, image_processor, model.config)
    if hasattr(model.config, "special_token_ids") and not model.config.special_token_ids:
        # Never select CLS/SEP/PAD: a config written by hand for a state dict may not say which they are.
        model.config.special_token_ids = sorted(set(tok.all_special_ids))
    state = _make_compact(model, log) if compact else None

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.export-", dir=output.parent))
    try:
        _write_folder(staging, model, tok, state, include_code)
        if processor is not None:
            processor.save_pretrained(str(staging))
        write_model_card(
            staging,
            repo_id=repo_id,
            revision=card_revision,
            results=runs,
            baseline_results=baseline_runs,
            training_info=info,
            trainer_log_history=load_trainer_log_history(source) if source.is_dir() else [],
            license=license,
            datasets=datasets,
            language=language,
            captioner_license=captioner_license,
            package_version=multimodal_sentiment.__version__,
        )
        code = []
        if include_code:
            write_endpoint_files(staging)  # handler.py + requirements.txt for Inference Endpoints
            code = check_code_files(staging)
        _check_weights_equal(model, staging)
        _normalise_permissions(staging)
        _publish(staging, output, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"export: wrote {output} ({', '.join([*code, 'model.safetensors', 'tokenizer', 'README.md'])})")
    return output


def _build_model(
    source: Path,
    kind: str,
    config: str | Path | None,
    key_map: Sequence[tuple[str, str]],
    drop: Sequence[str],
    allow_missing: Sequence[str],
    trust_remote_code: bool,
    log: Callable[[str], None],
) -> Any:
    if kind != "state-dict":
        if config is not None:
            log("export: --config is ignored for a model folder (its config.json is used)")
        return _load_from_folder(source, trust_remote_code, allow_missing).eval()
    from transformers import AutoModelForSequenceClassification

    model_config = _load_config(config, trust_remote_code)
    model = AutoModelForSequenceClassification.from_config(model_config, trust_remote_code=trust_remote_code)
    try:
        mapped, report = map_state_dict(
            load_state_dict_file(source), model.state_dict(), key_map=key_map, drop=drop, allow_missing=allow_missing
        )
    except KeyMappingError as error:
        raise ExportError(f"{source}: {error}") from None
    model.load_state_dict(mapped, strict=False)
    log(f"export: key mapping: {report.summary()}")
    return model.eval()


def _encoder_prefix(model: Any) -> str:
    return f"{model.base_model_prefix}.encoder."


def _make_compact(model: Any, log: Callable[[str], None]) -> dict[str, torch.Tensor]:
    """Mark an ERA model compact and return the state dict to store: everything but the encoder's
    frozen part, which must equal the pretrained encoder the config names. The encoder layers that
    trained (`encoder_trained_layers`) are stored in float16 (rounded in the model too, so the
    written weights are exactly the exported model's)."""
    source = getattr(model.config, "encoder_name_or_path", None)
    if not hasattr(model.config, "encoder_weights_in_checkpoint") or not source:
        raise ExportError("--compact needs an ERA model whose config names its pretrained encoder (encoder_name_or_path).")
    from transformers import AutoModel

    from ..modeling.modeling_common import resolve_encoder_source, top_layer_prefixes, weights_fingerprint

    encoder = model.base_model.encoder
    trained = top_layer_prefixes(encoder, model.config.encoder_trained_layers or 0)
    pretrained = AutoModel.from_pretrained(resolve_encoder_source(source)).state_dict()
    encoder_state = encoder.state_dict()
    frozen = [k for k in encoder_state if not k.startswith(trained) and k in pretrained]
    changed = [k for k in frozen if not torch.equal(encoder_state[k], pretrained[k])]
    if changed:
        layers = model.config.encoder_trained_layers
        raise ExportError(
            f"--compact: the encoder differs from the pretrained {source} ({len(changed)} tensors, e.g. {changed[:3]}) "
            f"outside its trained top layers (encoder_trained_layers={layers}); only those can be stored. Train with "
            "--encoder_trained_layers N (presets era-compact, era-top-layer) or export in full."
        )
    with torch.no_grad():
        for name, parameter in encoder.named_parameters():
            if name.startswith(trained):
                parameter.copy_(parameter.half().float())
    model.config.encoder_weights_in_checkpoint = False
    model.config.encoder_fingerprint = weights_fingerprint(pretrained, frozen)
    prefix = _encoder_prefix(model)
    stored = tuple(prefix + p for p in trained)
    state = {
        k: (v.half() if k.startswith(stored) and v.is_floating_point() else v)
        for k, v in model.state_dict().items()
        if not k.startswith(prefix) or k.startswith(stored)
    }
    kept = f"its top {len(trained)} layers stored in float16" if trained else "left out"
    log(f"export: compact: encoder {source} {kept} (the rest equals the pretrained weights)")
    return state


def _write_folder(
    folder: Path, model: Any, tokenizer: Any, state: dict[str, Any] | None = None, include_code: bool = True
) -> None:
    save_with_code(model, folder, state_dict=state, include_code=include_code)
    tokenizer.save_pretrained(str(folder))
    pickles = [p.name for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    if pickles:
        raise ExportError(f"Refusing to export pickle files {pickles}: only safetensors weights are published.")
    if not (folder / "model.safetensors").is_file() and not (folder / "model.safetensors.index.json").is_file():
        raise ExportError(f"save_pretrained wrote no safetensors weights into {folder}.")


def _normalise_permissions(folder: Path) -> None:
    # mkdtemp creates the folder 0700 and transformers writes model.safetensors 0600: give the
    # published folder the usual umask-based modes so others (and servers) can read it.
    import os

    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _publish(staging: Path, output: Path, overwrite: bool) -> None:
    """Rename the finished folder into place; an old OUTPUT_DIR is replaced only now, and restored on failure."""
    backup = None
    if output.exists():
        if not overwrite:
            raise ExportError(f"{output} appeared while exporting: pass --overwrite to replace it.")
        backup = output.with_name(f".{output.name}.replaced-{uuid.uuid4().hex[:8]}")
        output.rename(backup)
    try:
        staging.rename(output)
    except BaseException:
        if backup is not None:
            backup.rename(output)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="multimodal-sentiment export",
        description=(
            "Write a self-contained, Hub-ready checkpoint folder (model.safetensors, config.json with auto_map and "
            "custom_pipelines, remote-code files, tokenizer, README.md model card) from a Trainer checkpoint, a "
            "saved model folder, or a plain state dict. Atomic: a failure leaves no OUTPUT_DIR."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  multimodal-sentiment export runs/era/checkpoint-500 exported/era --results results/test.json\n"
            "  multimodal-sentiment export model.pt exported/era --config config.json --tokenizer FacebookAI/roberta-base \\\n"
            "      --key_map net.backbone.=era.encoder.\n"
            "Key mapping rules for plain state dicts: see multimodal_sentiment/convert/keymap.py."
        ),
    )
    parser.add_argument("source", help="Trainer checkpoint, saved model folder, or state dict (.pt/.pth/.bin/.safetensors)")
    parser.add_argument("output_dir", help="folder to create (must not exist unless --overwrite)")
    parser.add_argument("--config", help="config.json (or folder) describing a plain state dict's architecture")
    parser.add_argument("--tokenizer", help="tokenizer folder or Hub id (default: the one saved with the source)")
    parser.add_argument(
        "--image-processor", help="image processor folder or Hub id, for models that read pixels (default: the source's)"
    )
    parser.add_argument("--key-map", action="append", default=[], metavar="OLD=NEW", help="rename a key prefix (repeatable)")
    parser.add_argument("--drop", action="append", default=[], metavar="PATTERN", help="drop state-dict keys (fnmatch)")
    parser.add_argument(
        "--allow-missing", action="append", default=[], metavar="PATTERN", help="model weights that may stay at their initial values"
    )
    parser.add_argument("--results", action="append", default=[], metavar="JSON", help="evaluation results (repeatable: seeds)")
    parser.add_argument(
        "--baseline-results", action="append", default=[], metavar="JSON",
        help="evaluation results of a baseline (e.g. text-only, same encoder and recipe; repeatable: seeds): "
        "the card shows this model minus it, seed by seed",
    )
    parser.add_argument("--training-info", metavar="JSON", help="training record JSON (default: training_record.json beside the source or its parent)")
    parser.add_argument("--repo-id", help="Hub id the card's usage code names (org/name)")
    parser.add_argument("--card-revision", help="revision the card's usage code pins (the tag you will push with, or a sha)")
    parser.add_argument("--license", default="apache-2.0", help="licence id of the weights (check the encoder's and data's terms)")
    parser.add_argument("--dataset", action="append", default=[], help="training dataset name or Hub id (repeatable)")
    parser.add_argument("--language", help="language code(s) of the training data, e.g. en")
    parser.add_argument("--captioner-license", help="licence of the configured captioner, when not known to the card generator")
    parser.add_argument("--trust-remote-code", action="store_true", help="run the source folder's own .py files to load it")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT_DIR if it exists (only after a successful export)")
    parser.add_argument(
        "--compact", action="store_true", help="ERA with a frozen encoder or only its top layers trained: store selector, head and those layers "
        "(the frozen rest is fetched at load)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..model_card import ResultsFileError

    try:
        export_checkpoint(
            args.source,
            args.output_dir,
            config=args.config,
            tokenizer=args.tokenizer,
            image_processor=args.image_processor,
            key_map=parse_key_map(args.key_map),
            drop=args.drop,
            allow_missing=args.allow_missing,
            results=args.results,
            baseline_results=args.baseline_results,
            training_info=args.training_info,
            repo_id=args.repo_id,
            card_revision=args.card_revision,
            license=args.license,
            datasets=args.dataset,
            language=args.language,
            captioner_license=args.captioner_license,
            trust_remote_code=args.trust_remote_code,
            overwrite=args.overwrite,
            compact=args.compact,
        )
    except (ExportError, KeyMappingError, ResultsFileError, FileNotFoundError) as error:
        print(f"multimodal-sentiment export: {error}", file=sys.stderr)
        return 1
    return 0


__all__ = ["ExportError", "export_checkpoint", "describe_source", "load_state_dict_file", "check_code_files", "main"]
