"""Peak resident memory of the full pipeline: a BLIP-base-sized captioner + the MiniLM ERA.

A fresh Python process (so nothing else counts) loads the pipeline the way a user does,
`pipeline("multimodal-sentiment", model=<ERA folder>, trust_remote_code=True,
captioner=<BLIP folder>, batch_size=B)`, and classifies posts with images (the captioner loads
lazily, on the first image). It reports `resource.getrusage(RUSAGE_SELF).ru_maxrss` (peak RSS so
far) and the current RSS after each stage. The BLIP weights are random, saved in the real
architecture and size (default BlipConfig), so the memory is that of the real model.

    python benchmarks/bench_memory.py [--tiny] [--images N] [--batch-size B] [--new-tokens N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import (
    add_new_tokens_argument,
    build_blip,
    build_era,
    image_files,
    load_posts,
    make_parser,
    make_pipeline,
    parse,
    save_blip,
    save_era,
    write_result,
)


def _proc_status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def prepare(workdir: Path, tiny: bool) -> dict:
    """Build and save the ERA and captioner folders (in its own process: the measuring process
    must be started by a small parent, since Linux counts the parent's RSS at fork in ru_maxrss)."""
    era, tokenizer, encoder_described = build_era(tiny, workdir)
    blip, processor, captioner_described = build_blip(tiny)
    return {
        "era": str(save_era(era, tokenizer, workdir)),
        "captioner": str(save_blip(blip, processor, workdir)),
        "parameters": {
            "era": sum(p.numel() for p in era.parameters()),
            "captioner": sum(p.numel() for p in blip.parameters()),
        },
        "encoder_described": encoder_described,
        "captioner_described": captioner_described,
    }


def child(spec: dict) -> dict:
    """Runs in the fresh process: load, classify, report memory after each stage."""
    import resource

    def mark(stage: str) -> dict:
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        return {
            "stage": stage,
            "peak_rss_mib": peak_kib / 1024,
            "vm_hwm_mib": _proc_status_mib("VmHWM"),
            "current_rss_mib": _proc_status_mib("VmRSS"),
        }

    stages = [mark("python started")]
    import torch

    import multimodal_sentiment  # noqa: F401

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    stages.append(mark("torch, transformers, multimodal_sentiment imported"))
    pipe, construction = make_pipeline(
        Path(spec["era"]),
        batch_size=spec["batch_size"],
        captioner=spec["captioner"],
        captioner_max_new_tokens=spec["new_tokens"],
        captioner_generate_kwargs={"min_new_tokens": spec["new_tokens"], "do_sample": False, "num_beams": 1},
    )
    stages.append(mark("pipeline built (ERA loaded; captioner not yet)"))
    inputs = spec["inputs"]
    first = pipe(inputs[: spec["batch_size"]])
    stages.append(mark(f"first batch of {len(first)} posts with images (captioner loaded)"))
    rest = pipe(inputs[spec["batch_size"] :]) if len(inputs) > spec["batch_size"] else []
    outputs = first + rest
    assert all(out["description_views"] == ["caption"] for out in outputs)
    stages.append(mark(f"all {len(outputs)} posts classified"))
    return {"stages": stages, "construction": construction, "torch_threads": torch.get_num_threads()}


def _run_json(*arguments: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent)
    if done.returncode != 0:
        raise RuntimeError(f"{arguments[0]} subprocess failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=1)
    parser.add_argument("--images", type=int, default=None, help="posts with images (default 16; tiny 4)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 8 (tiny 2)")
    add_new_tokens_argument(parser)
    parser.add_argument("--prepare", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    # --threads must not import torch here: it goes to the measured process.
    args = parse(parser, argv, apply_threads=False)
    if args.prepare is not None:
        print(json.dumps(prepare(args.prepare, args.tiny)))
        return {}
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child.read_text()))))
        return {}
    n_images = args.images or (4 if args.tiny else 16)
    batch_size = args.batch_size or (2 if args.tiny else 8)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepared = _run_json("--prepare", str(workdir), *(["--tiny"] if args.tiny else []))
        files, image_source = image_files(n_images, workdir)
        posts, _ = load_posts(n_images)
        spec = {
            "era": prepared["era"],
            "captioner": prepared["captioner"],
            "batch_size": batch_size,
            "new_tokens": args.new_tokens,
            "threads": args.threads,
            "inputs": [{"text": p["text"], "image": str(f)} for p, f in zip(posts, files, strict=True)],
        }
        spec_file = workdir / "spec.json"
        spec_file.write_text(json.dumps(spec))
        launcher_rss = _proc_status_mib("VmRSS")
        report = _run_json("--child", str(spec_file))

    if args.threads:  # the machine record names the measured process's thread count
        import torch

        torch.set_num_threads(args.threads)
    stages = report["stages"]
    peak = stages[-1]["peak_rss_mib"]
    n_params = prepared["parameters"]
    weights_mib = {name: count * 4 / 2**20 for name, count in n_params.items()}
    imported = stages[1]["current_rss_mib"]
    notes = [
        f"Peak resident memory of the whole pipeline: {peak:,.0f} MiB ({peak / 1024:.2f} GiB); the process "
        f"with torch and transformers imported holds {imported:,.0f} MiB before any model loads.",
        f"fp32 weights: captioner {weights_mib['captioner']:,.0f} MiB ({n_params['captioner'] / 1e6:.0f}M parameters), "
        f"ERA {weights_mib['era']:,.0f} MiB ({n_params['era'] / 1e6:.1f}M parameters).",
        f"ru_maxrss on Linux starts from the launching process's RSS at fork ({launcher_rss:,.0f} MiB here, a "
        "process that imported no torch), hence the first row; VmHWM is the same process's own high-water mark.",
    ]
    return write_result(
        __file__,
        args,
        argv,
        title="Peak memory of the full pipeline (BLIP-base-sized captioner + MiniLM ERA)",
        headline=f"{peak:,.0f} MiB peak RSS",
        setup={
            "classifier": f"EraForSequenceClassification.from_encoder, {prepared['encoder_described']}, saved and reloaded",
            "captioner": prepared["captioner_described"] + ", saved and reloaded from a folder",
            "pipeline": report["construction"] + f", captioner=<BLIP folder>, batch_size={batch_size}",
            "posts": f"{n_images} posts with text and an image file; {image_source}",
            "new_tokens": args.new_tokens,
            "torch_threads_in_measured_process": report["torch_threads"],
            "measured_in": "a fresh subprocess, resource.getrusage(RUSAGE_SELF).ru_maxrss",
        },
        peak_rss_mib=peak,
        weights_mib=weights_mib,
        parameters=n_params,
        table={
            "columns": ["after", "ru_maxrss (MiB)", "VmHWM (MiB)", "current RSS (MiB)"],
            "rows": [[s["stage"], s["peak_rss_mib"], s["vm_hwm_mib"], s["current_rss_mib"]] for s in stages],
        },
        notes=notes,
    )


if __name__ == "__main__":
    main()
