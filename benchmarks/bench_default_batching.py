"""Default batching: a list of text posts without batch_size vs batch_size=1, on the embedded default.

The pipeline batches lists, datasets and generators by itself (DEFAULT_BATCH_SIZE, 16); before
that, a list without batch_size ran one post at a time. Both cases run side by side in every
round, on the same 64 text-only posts (MVSA-Multiple test tweets when ../shared/data is present):
  default         classifier(posts)
  batch_size=1    classifier(posts, batch_size=1)
Goal (issue 14): the default at least 4x the posts/s of batch_size=1.

    python benchmarks/bench_default_batching.py [--tiny] [--repeats N] [--posts N]
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
    write_result,
)

TARGET = 4.0


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=5)
    parser.add_argument("--posts", type=int, default=None, help="posts per round (default 64; tiny 16)")
    args = parse(parser, argv)
    n_posts = args.posts or (16 if args.tiny else 64)

    from transformers import pipeline

    import multimodal_sentiment
    from multimodal_sentiment.modeling.pipeline_multimodal_sentiment import DEFAULT_BATCH_SIZE

    posts, workload = load_posts(n_posts)
    texts = [post["text"] for post in posts]
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:
            model, tokenizer, described = build_era(True, Path(tmp))
            folder = save_era(model, tokenizer, Path(tmp))
        else:
            folder, described = multimodal_sentiment.DEFAULT_MODEL_ID, "the embedded default (era-minilm-mvsa)"
        classifier = pipeline("multimodal-sentiment", model=str(folder), trust_remote_code=True, device="cpu")

    def default():
        return classifier(texts)

    def one_at_a_time():
        return classifier(texts, batch_size=1)

    batched, single = default(), one_at_a_time()
    same = sum(a["label"] == b["label"] for a, b in zip(batched, single, strict=True)) / n_posts
    largest = max(
        abs(a["scores"][k] - b["scores"][k]) for a, b in zip(batched, single, strict=True) for k in a["scores"]
    )
    cases = {"default (no batch_size)": default, "batch_size=1": one_at_a_time}
    times = interleaved(cases, repeats=args.repeats, warmup=args.warmup)
    ratio = paired_ratio(times["batch_size=1"], times["default (no batch_size)"])  # = default posts/s / single posts/s
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
        },
        goal=goal("posts/s without batch_size / with batch_size=1", ratio["median"], ">=", TARGET, "x"),
        ratio=ratio,
        agreement={"same_label_fraction": same, "max_abs_probability_difference": largest},
        table={
            "columns": ["case", "median (s)", "posts/s (median)"],
            "rows": [[name, stats(times[name])["median"], n_posts / stats(times[name])["median"]] for name in cases],
        },
        notes=[
            f"Predictions agree: {same:.1%} same labels, largest probability difference {largest:.1e} "
            "(padding per batch vs per post)."
        ],
        times=times,
    )


if __name__ == "__main__":
    main()
