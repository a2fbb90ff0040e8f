"""Render BENCHMARKS.md from the JSON results in benchmarks/results/ (no figure typed by hand).

python benchmarks/report.py [--results-dir benchmarks/results] [--output BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

HAND_MEASURED = "<!-- Hand-measured below: kept by benchmarks/report.py. -->"
# Section order; a result file not listed here is rendered after these.
ORDER = ["pipeline_overhead", "default_batching", "vlm_batching", "cache", "training_step", "scaling", "memory"]
MACHINE_FIELDS = [
    ("cpu_model", "CPU"),
    ("logical_cores", "logical cores"),
    ("usable_cores", "cores usable by the process"),
    ("torch_threads", "torch threads"),
    ("memory_gib", "memory (GiB)"),
    ("gpu", "GPU"),
    ("os", "OS"),
    ("python", "Python"),
    ("torch", "torch"),
    ("transformers", "transformers"),
]


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        if magnitude >= 1:
            return f"{value:.2f}"
        if magnitude >= 0.01:
            return f"{value:.3f}"
        return f"{value:.2e}"
    if value is None:
        return "-"
    return str(value).replace("|", "\\|")


def table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return lines + [""]


def goal_text(goal: dict[str, Any]) -> str:
    unit = goal.get("unit", "")
    verdict = "**met**" if goal["met"] else "**MISSED**"
    return (
        f"{goal['metric']} = **{fmt(goal['value'])}{unit}** (goal {goal['op']} {fmt(goal['target'])}{unit}): {verdict}"
    )


def profile_block(record: dict[str, Any]) -> list[str]:
    lines = []
    for name, rows in (record.get("profile") or {}).items():
        if not rows:
            continue
        lines.append(f"{record.get('profile_kind', 'profile')}, {name}:")
        lines.append("")
        columns = list(rows[0])
        lines += table(columns, [[row[c] for c in columns] for row in rows])
    return lines


def section(record: dict[str, Any], output_dir: Path, results_dir: Path) -> list[str]:
    lines = [f"## {record.get('title', record['benchmark'])}", ""]
    if record.get("tiny"):
        lines += ["> **Smoke-test run (`--tiny`): tiny random models, not a measurement.**", ""]
    lines += [
        f"- command: `{record['command']}`",
        f"- date (UTC): {record['date']}; machine: {record['machine']['cpu_model']}, "
        f"{record['machine']['usable_cores']} cores, torch threads {record['machine']['torch_threads']}, "
        f"load average (1, 5, 15 min) at start {record['machine'].get('load_average_at_start')}, at end "
        f"{record['machine'].get('load_average_at_end')}; "
        f"commit {record['machine'].get('git_commit')}{' + uncommitted changes' if record['machine'].get('git_dirty') else ''}",
    ]
    if record.get("times"):
        lines.append(
            f"- timed rounds: {record['repeats']} (after {record['warmup']} warm-up); cases interleaved within each round"
        )
    for key, value in (record.get("setup") or {}).items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(fmt(v) for v in value)
        lines.append(f"- {key.replace('_', ' ')}: {fmt(value)}")
    lines.append("")
    goal = record.get("goal")
    if goal:
        lines += [goal_text(goal), ""]
        ratio = record.get("ratio")
        if ratio:
            lines += [
                f"Median of {ratio['n']} per-round paired ratios; range {fmt(ratio['min'])} to {fmt(ratio['max'])}, "
                f"interquartile {fmt(ratio['q1'])} to {fmt(ratio['q3'])}; ratio of the medians {fmt(ratio['ratio_of_medians'])}.",
                "",
            ]
    if record.get("table"):
        lines += table(record["table"]["columns"], record["table"]["rows"])
    if record.get("breakdown"):
        lines += [record["breakdown"].get("title", "Where the time goes:"), ""]
        lines += table(record["breakdown"]["columns"], record["breakdown"]["rows"])
    for note in record.get("notes") or []:
        lines.append(f"- {note}")
    if record.get("notes"):
        lines.append("")
    if record.get("plot"):
        png = results_dir / record["plot"]
        rel = Path(os.path.relpath(png, output_dir)).as_posix()
        lines += [f"![{record.get('title', 'plot')}]({rel})", ""]
    profile = profile_block(record)
    if profile:
        if goal and not goal["met"]:
            lines += ["Profile that explains the miss:", ""] + profile
        else:
            lines += ["<details><summary>Profile</summary>", ""] + profile + ["</details>", ""]
    return lines


def render(results_dir: Path, output: Path) -> str:
    records = {}
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        records[record.get("benchmark", path.stem)] = record
    names = [n for n in ORDER if n in records] + sorted(n for n in records if n not in ORDER)
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python benchmarks/report.py` from benchmarks/results/*.json. Do not edit by hand. -->",
        "",
        "Every figure below comes from a JSON file in `benchmarks/results/`, written by the command shown with it. "
        "Timings that are compared were measured side by side in one run: each round runs every case once, in an "
        "order that rotates between rounds, and a ratio is the median of the per-round ratios, so load from other "
        "processes on a shared machine affects both sides of a ratio alike. Absolute times are machine-specific; "
        "compare ratios.",
        "",
    ]
    if not records:
        return "\n".join(lines + ["No results yet: run the benchmarks in `benchmarks/`.", ""])
    summary = []
    for name in names:
        r = records[name]
        g = r.get("goal")
        summary.append(
            [
                r.get("title", name),
                f"{g['metric']} {g['op']} {fmt(g['target'])}{g.get('unit', '')}" if g else "(measurement)",
                f"{fmt(g['value'])}{g.get('unit', '')}" if g else fmt(r.get("headline", "see section")),
                ("met" if g["met"] else "MISSED") if g else "-",
                r["date"][:10] + (" (tiny)" if r.get("tiny") else ""),
            ]
        )
    lines += ["## Summary", ""]
    lines += table(["benchmark", "goal", "measured", "verdict", "date"], summary)
    same_machine = [k for k, _ in MACHINE_FIELDS if k != "torch_threads"]
    machines = {json.dumps({k: records[n]["machine"].get(k) for k in same_machine}, sort_keys=True) for n in names}
    first = records[names[0]]["machine"]
    lines += ["## Machine", ""]
    if len(machines) > 1:
        lines += ["Not every result comes from the same machine: see each section's line.", ""]
    lines += table(["", ""], [[label, first.get(key)] for key, label in MACHINE_FIELDS])
    lines += [
        "The machine is shared with other jobs; each section gives the load average when it started. "
        "Ratios are paired per round for this reason.",
        "",
    ]
    threads = sorted({records[n]["machine"]["torch_threads"] for n in names})
    cores = first.get("usable_cores") or first.get("logical_cores")
    if cores and max(threads) < cores:
        lines += [
            f"The runs used {', '.join(map(str, threads))} torch thread(s) on {cores} cores (`--threads`): with "
            "other jobs on the same cores, a multi-threaded run stalls whenever one of its threads is descheduled, "
            "and its per-round ratios swing far more than a single-threaded run's. Ratios, not absolute times, are "
            "the result; on an idle machine run the commands without `--threads`.",
            "",
        ]
    lines += ["## Reproduce", "", "From the repository root, with the `offline` extra installed:", "", "```bash"]
    lines += [records[name]["command"] for name in names]
    lines += ["python benchmarks/report.py  # renders this file from benchmarks/results/*.json", "```", ""]
    for name in names:
        lines += section(records[name], output.parent.resolve(), results_dir.resolve())
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    # A hand-measured tail (after HAND_MEASURED) is kept as it is.
    old = args.output.read_text() if args.output.is_file() else ""
    tail = old[old.index(HAND_MEASURED) :] if HAND_MEASURED in old else ""
    args.output.write_text(render(args.results_dir, args.output).rstrip("\n") + ("\n\n" + tail if tail else "\n"))
    print(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    main()
