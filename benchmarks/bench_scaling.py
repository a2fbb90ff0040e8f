"""Scaling: ERA inference throughput (the MiniLM ERA classifier, forward only) against batch size
and sequence length, with a PNG plot.

Every (batch, length) point of the grid is timed once per round, all points in the same rounds,
so machine load affects them alike. Inputs are exactly `length` tokens (no padding).

    python benchmarks/bench_scaling.py [--tiny] [--repeats N] [--batch-sizes 1 8 64] [--seq-lens 32 512]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import build_era, interleaved, make_parser, parse, stats, write_result

BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64]
SEQ_LENS = [32, 128, 512]


def synthetic_batch(tokenizer, batch_size: int, seq_len: int, seed: int):
    """[CLS] random words [SEP] random words [SEP]: a (text, description) pair of exactly seq_len tokens."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    specials = set(tokenizer.all_special_ids)
    low = max(specials) + 1 if max(specials) < 1000 else 1000
    ids = torch.randint(low, tokenizer.vocab_size, (batch_size, seq_len), generator=generator)
    first_len = (seq_len - 3) // 2 + 1
    ids[:, 0] = tokenizer.cls_token_id
    ids[:, first_len] = tokenizer.sep_token_id
    ids[:, -1] = tokenizer.sep_token_id
    token_type_ids = torch.zeros_like(ids)
    token_type_ids[:, first_len + 1 :] = 1
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": token_type_ids}


def _panel(axis, points: list[dict], x: str, y: str, group: str, label: str, ylabel: str, title: str) -> None:
    """One line per value of `group`, `y` against `x` on a log2 axis."""
    xs = sorted({p[x] for p in points})
    for value in sorted({p[group] for p in points}):
        row = sorted((p for p in points if p[group] == value), key=lambda p: p[x])
        axis.plot([p[x] for p in row], [p[y] for p in row], marker="o", label=label.format(value))
    axis.set_xscale("log", base=2)
    axis.set_xticks(xs, [str(v) for v in xs])
    axis.set_xlabel(x.replace("_", " ").replace("seq len", "sequence length (tokens)"))
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.legend(fontsize=8)
    axis.grid(True, which="both", alpha=0.3)


def plot(points: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _panel(
        left,
        points,
        "batch_size",
        "samples_per_s",
        "seq_len",
        "{} tokens",
        "posts / s (median)",
        "throughput vs batch size",
    )
    left.set_yscale("log")
    _panel(
        right,
        points,
        "seq_len",
        "tokens_per_s",
        "batch_size",
        "batch {}",
        "tokens / s (median)",
        "throughput vs sequence length",
    )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None, help=f"default {BATCH_SIZES}")
    parser.add_argument("--seq-lens", type=int, nargs="+", default=None, help=f"default {SEQ_LENS}")
    args = parse(parser, argv)
    batch_sizes = args.batch_sizes or ([1, 4] if args.tiny else BATCH_SIZES)
    seq_lens = args.seq_lens or ([16, 32] if args.tiny else SEQ_LENS)

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, encoder_described = build_era(args.tiny, Path(tmp), max_input_tokens=max(seq_lens))

    cases = {}
    for batch_size in batch_sizes:
        for seq_len in seq_lens:
            batch = synthetic_batch(tokenizer, batch_size, seq_len, seed=batch_size * 1000 + seq_len)

            def run(batch=batch):
                with torch.inference_mode():
                    model(**batch)

            cases[f"b{batch_size}_l{seq_len}"] = run
    times = interleaved(cases, repeats=args.repeats, warmup=args.warmup)

    points = []
    for batch_size in batch_sizes:
        for seq_len in seq_lens:
            s = stats(times[f"b{batch_size}_l{seq_len}"])
            points.append(
                {
                    "batch_size": batch_size,
                    "seq_len": seq_len,
                    "median_s": s["median"],
                    "min_s": s["min"],
                    "max_s": s["max"],
                    "samples_per_s": batch_size / s["median"],
                    "tokens_per_s": batch_size * seq_len / s["median"],
                }
            )
    best = max(points, key=lambda p: p["tokens_per_s"])
    single = {p["seq_len"]: p["samples_per_s"] for p in points if p["batch_size"] == min(batch_sizes)}
    speedup = [
        {
            "seq_len": p["seq_len"],
            "batch_size": p["batch_size"],
            "speedup_vs_smallest_batch": p["samples_per_s"] / single[p["seq_len"]],
        }
        for p in points
        if p["batch_size"] == max(batch_sizes)
    ]

    notes = [
        f"Highest throughput: {best['tokens_per_s']:,.0f} tokens/s at batch {best['batch_size']}, {best['seq_len']} tokens."
    ]
    for seq_len in seq_lens:
        row = [p for p in points if p["seq_len"] == seq_len]
        top = max(p["samples_per_s"] for p in row)
        enough = min(p["batch_size"] for p in row if p["samples_per_s"] >= 0.9 * top)
        notes.append(
            f"{seq_len} tokens: batch {enough} already reaches 90% of the best posts/s ({top:,.1f} posts/s); "
            f"batch {max(batch_sizes)} gives {row[-1]['samples_per_s'] / row[0]['samples_per_s']:.2f}x batch "
            f"{min(batch_sizes)}."
        )

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "scaling.png"
    plot(points, png, f"ERA inference, {encoder_described}; torch threads {torch.get_num_threads()}")

    return write_result(
        __file__,
        args,
        argv,
        title="Scaling: ERA inference throughput vs batch size and sequence length",
        setup={
            "model": f"EraForSequenceClassification.from_encoder, {encoder_described}, top-k {model.config.token_top_k}",
            "mode": "eval, torch.inference_mode, forward only (no tokenization)",
            "inputs": "random vocabulary ids as a (text, description) pair of exactly seq_len tokens",
            "batch_sizes": batch_sizes,
            "seq_lens": seq_lens,
        },
        plot=png.name,
        headline=f"posts/s at batch {max(batch_sizes)} vs {min(batch_sizes)}: "
        + ", ".join(f"{s['speedup_vs_smallest_batch']:.2f}x at {s['seq_len']} tokens" for s in speedup),
        best_point=best,
        largest_batch_speedup=speedup,
        notes=notes,
        table={
            "columns": ["batch", "tokens", "median (s)", "posts/s", "tokens/s"],
            "rows": [
                [p["batch_size"], p["seq_len"], p["median_s"], p["samples_per_s"], p["tokens_per_s"]] for p in points
            ],
        },
        times=times,
    )


if __name__ == "__main__":
    main()
