"""Default batching: a list of text posts without batch_size vs batch_size=1, on the embedded default.

The pipeline batches lists, datasets and generators by itself (DEFAULT_BATCH_SIZE, 16) and feeds a
list's posts to the model shortest first (results in input order), so a batch pads little. All
cases run side by side in every round, on the same 64 text-only posts (MVSA-Multiple test tweets
when ../shared/data is present):
  default                     classifier(posts)
  batch_size=1                classifier(posts, batch_size=1)
  generator (input order)     list(classifier(post for post in posts)): batched, but a stream is not
                              reordered, so this is what the length sort buys
With --also-default-threads, the first two also run at torch's default thread count in the same
rounds (the goal stays on --threads). Wall-clock and CPU seconds are both recorded: on a machine
shared with other jobs the CPU-time ratio does not count waiting for a core.
Goal (issue 14): the default at least 4x the posts/s of batch_size=1.

    python benchmarks/bench_default_batching.py [--tiny] [--repeats N] [--posts N] [--threads 1] [--also-default-threads]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import (
    build_era,
    goal,
    interleaved,
    load_posts,
    make_parser,
    paired_ratio,
    parse,
    save_era,
    stats,
    torch_profile,
    write_result,
)

TARGET = 4.0
DEFAULT = "default (no batch_size)"
SINGLE = "batch_size=1"
STREAM = "generator (input order)"


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=5)
    parser.add_argument("--posts", type=int, default=None, help="posts per round (default 64; tiny 16)")
    parser.add_argument(
        "--also-default-threads",
        action="store_true",
        help="also time the default and batch_size=1 at torch's default thread count, in the same rounds",
    )
    args = parse(parser, argv, apply_threads=False)
    n_posts = args.posts or (16 if args.tiny else 64)

    import torch
    from transformers import pipeline

    import multimodal_sentiment
    from multimodal_sentiment.modeling.pipeline_multimodal_sentiment import DEFAULT_BATCH_SIZE

    torch_default_threads = torch.get_num_threads()
    threads = args.threads or torch_default_threads
    torch.set_num_threads(threads)

    posts, workload = load_posts(n_posts)
    texts = [post["text"] for post in posts]
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:
            model, tokenizer, described = build_era(True, Path(tmp))
            folder = save_era(model, tokenizer, Path(tmp))
        else:
            folder, described = multimodal_sentiment.DEFAULT_MODEL_ID, "the embedded default (era-minilm-mvsa)"
        classifier = pipeline("multimodal-sentiment", model=str(folder), trust_remote_code=True, device="cpu")

    def at(n_threads: int, call):
        def run():
            torch.set_num_threads(n_threads)
            return call()

        return run

    def default():
        return classifier(texts)

    def one_at_a_time():
        return classifier(texts, batch_size=1)

    def stream():
        return list(classifier(text for text in texts))

    # Tokens through the model (padding included) per case: what batching and the length sort cost.
    fed = {"rows": 0, "tokens": 0}

    def count(_module, _args, kwargs):
        fed["rows"] += int(kwargs["input_ids"].shape[0])
        fed["tokens"] += int(kwargs["input_ids"].numel())

    hook = classifier.model.register_forward_pre_hook(count, with_kwargs=True)
    tokens = {}
    outputs = {}
    for name, call in ((DEFAULT, default), (SINGLE, one_at_a_time), (STREAM, stream)):
        fed.update(rows=0, tokens=0)
        outputs[name] = call()
        tokens[name] = fed["tokens"]
    hook.remove()
    batched, single = outputs[DEFAULT], outputs[SINGLE]
    same = sum(a["label"] == b["label"] for a, b in zip(batched, single, strict=True)) / n_posts
    largest = max(
        abs(a["scores"][k] - b["scores"][k]) for a, b in zip(batched, single, strict=True) for k in a["scores"]
    )

    cases = {DEFAULT: at(threads, default), SINGLE: at(threads, one_at_a_time), STREAM: at(threads, stream)}
    other = torch_default_threads if args.also_default_threads and torch_default_threads != threads else None
    if other:
        cases[f"{DEFAULT}, {other} threads"] = at(other, default)
        cases[f"{SINGLE}, {other} threads"] = at(other, one_at_a_time)
    cpu: dict[str, list[float]] = {}
    times = interleaved(cases, repeats=args.repeats, warmup=args.warmup, cpu_times=cpu)
    torch.set_num_threads(threads)
    ratio = paired_ratio(times[SINGLE], times[DEFAULT])  # = default posts/s / single posts/s
    cpu_ratio = paired_ratio(cpu[SINGLE], cpu[DEFAULT])
    sort_gain = paired_ratio(times[STREAM], times[DEFAULT])
    sort_gain_cpu = paired_ratio(cpu[STREAM], cpu[DEFAULT])
    notes = [
        f"CPU time (this process, all threads) instead of wall clock: {cpu_ratio['median']:.2f}x (range "
        f"{cpu_ratio['min']:.2f} to {cpu_ratio['max']:.2f}); waiting for a core on the shared machine is not counted.",
        f"Length sort: the default is {sort_gain['median']:.2f}x the posts/s of the same batches in input order "
        f"(range {sort_gain['min']:.2f} to {sort_gain['max']:.2f}; CPU time {sort_gain_cpu['median']:.2f}x, range "
        f"{sort_gain_cpu['min']:.2f} to {sort_gain_cpu['max']:.2f}); tokens through the model, padding included: "
        f"{tokens[DEFAULT]:,} sorted, {tokens[STREAM]:,} in input order, {tokens[SINGLE]:,} one at a time (no padding).",
    ]
    if other:
        wall_other = paired_ratio(times[f"{SINGLE}, {other} threads"], times[f"{DEFAULT}, {other} threads"])
        cpu_other = paired_ratio(cpu[f"{SINGLE}, {other} threads"], cpu[f"{DEFAULT}, {other} threads"])
        notes.append(
            f"At torch's default {other} threads: {wall_other['median']:.2f}x wall clock (range {wall_other['min']:.2f} "
            f"to {wall_other['max']:.2f}), {cpu_other['median']:.2f}x CPU time; the other jobs on these cores "
            "stall a multi-threaded run, so its wall-clock ratios swing more."
        )
    notes.append(
        f"Predictions agree: {same:.1%} same labels, largest probability difference {largest:.1e} "
        "(padding per batch vs per post)."
    )
    profile = None
    if not args.tiny:
        profile = {DEFAULT: torch_profile(default, top=8), SINGLE: torch_profile(one_at_a_time, top=8)}
        # What batching saves per operator: matrix products get cheaper per token, element-wise ops do not.
        batched_ms = {row["name"]: row["self_cpu_ms"] for row in profile[DEFAULT]}
        savings = [
            f"{row['name']} {row['self_cpu_ms']:.0f} -> {batched_ms[row['name']]:.0f} ms"
            for row in profile[SINGLE]
            if row["name"] in batched_ms and row["name"].startswith("aten::")
        ]
        notes.append("Self CPU per operator, batch_size=1 -> default (one profiled call each): " + "; ".join(savings))
    return write_result(
        __file__,
        args,
        argv,
        title="Default batching: a list without batch_size vs batch_size=1",
        setup={
            "model": described,
            "posts_per_round": n_posts,
            "default_batch_size": DEFAULT_BATCH_SIZE,
            "inputs": "text-only posts (plain strings)",
            "workload": workload,
            "torch_threads": threads,
            "torch_default_threads": torch_default_threads,
        },
        goal=goal("posts/s without batch_size / with batch_size=1", ratio["median"], ">=", TARGET, "x"),
        ratio=ratio,
        cpu_ratio=cpu_ratio,
        agreement={"same_label_fraction": same, "max_abs_probability_difference": largest},
        tokens_through_model=tokens,
        table={
            "columns": ["case", "median wall (s)", "posts/s (median)", "median CPU (s)"],
            "rows": [
                [name, stats(times[name])["median"], n_posts / stats(times[name])["median"], stats(cpu[name])["median"]]
                for name in cases
            ],
        },
        notes=notes,
        times=times,
        cpu_times=cpu,
        profile=profile,
        profile_kind="torch.profiler, one call on the 64 posts, top operators by self CPU time",
    )


if __name__ == "__main__":
    main()
