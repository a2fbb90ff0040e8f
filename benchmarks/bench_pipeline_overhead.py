"""Pipeline overhead: the multimodal-sentiment pipeline with precomputed image descriptions vs
the bare model forward on the same batches.

The model is the real MiniLM ERA (`EraForSequenceClassification.from_encoder` on the MiniLM
folder). Three cases run side by side in every round, over the same posts in the same batches:
  bare forward     model(**batch) on batches tokenized beforehand (padded to the batch's longest)
  tokenize+forward encode_text_pairs per batch, then model(**batch)
  pipeline         pipe(posts, batch_size=B) with {"text", "image_description"} dicts
Goal: pipeline throughput >= 0.85 x bare forward throughput.

    python benchmarks/bench_pipeline_overhead.py [--tiny] [--repeats N] [--posts N] [--batch-size B]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import (
    StageTimer,
    build_era,
    goal,
    interleaved,
    load_posts,
    make_parser,
    make_pipeline,
    paired_ratio,
    parse,
    python_profile,
    save_era,
    stats,
    write_result,
)

TARGET = 0.85


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=20)
    parser.add_argument("--posts", type=int, default=None, help="posts per round (default 64; tiny 16)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 16 (tiny 4)")
    args = parse(parser, argv)
    n_posts = args.posts or (16 if args.tiny else 64)
    batch_size = args.batch_size or (4 if args.tiny else 16)

    import torch

    from multimodal_sentiment.modeling.text_pairs import encode_text_pairs

    posts, workload = load_posts(n_posts)
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, encoder_described = build_era(args.tiny, Path(tmp))
        folder = save_era(model, tokenizer, Path(tmp))
        pipe, construction = make_pipeline(folder, batch_size=batch_size)
    model = pipe.model.eval()  # the pipeline's own model object: same weights, same code
    max_length = pipe.input_spec.max_length

    def tokenize(chunk):
        encoding = encode_text_pairs(
            tokenizer,
            [p["text"] for p in chunk],
            [p["image_description"] for p in chunk],
            max_length,
            padding=True,
            return_tensors="pt",
        )
        return dict(encoding)

    chunks = [posts[i : i + batch_size] for i in range(0, n_posts, batch_size)]
    batches = [tokenize(chunk) for chunk in chunks]
    mean_tokens = sum(int(b["attention_mask"].sum()) for b in batches) / n_posts

    def bare():
        with torch.inference_mode():
            return [model(**batch).logits for batch in batches]

    def tokenize_forward():
        with torch.inference_mode():
            return [model(**tokenize(chunk)).logits for chunk in chunks]

    def run_pipeline():
        return pipe(posts, batch_size=batch_size)

    # Same predictions both ways (a benchmark of a wrong pipeline would be worthless).
    bare_probs = torch.cat(bare()).softmax(-1)
    pipe_probs = torch.tensor(
        [[out["scores"][model.config.id2label[i]] for i in range(len(out["scores"]))] for out in run_pipeline()]
    )
    agreement = {
        "same_label_fraction": float((bare_probs.argmax(-1) == pipe_probs.argmax(-1)).float().mean()),
        "max_abs_probability_difference": float((bare_probs - pipe_probs).abs().max()),
    }

    cases = {"bare forward": bare, "tokenize+forward": tokenize_forward, "pipeline": run_pipeline}
    times = interleaved(cases, repeats=args.repeats, warmup=args.warmup)
    ratio = paired_ratio(times["bare forward"], times["pipeline"])  # = pipeline throughput / bare throughput
    vs_tokenized = paired_ratio(times["tokenize+forward"], times["pipeline"])
    result_goal = goal("pipeline throughput / bare forward throughput", ratio["median"], ">=", TARGET, "x")

    # Where the pipeline's time goes: one more (untimed) call with its stages wrapped.
    stages = StageTimer(pipe, ["_prepare_chunk", "preprocess", "_forward", "postprocess"])
    forward = StageTimer(model, ["forward"])
    timer_start = time.perf_counter()
    run_pipeline()
    total = time.perf_counter() - timer_start
    stages.restore()
    forward.restore()
    parts = {
        "model forward": forward.totals["forward"],
        "_forward around the model": stages.totals["_forward"] - forward.totals["forward"],
        "preprocess (tokenize one post)": stages.totals["preprocess"],
        "_prepare_chunk (read and validate posts)": stages.totals["_prepare_chunk"],
        "postprocess (softmax, labels)": stages.totals["postprocess"],
    }
    parts["other (DataLoader, pad collate, iterators)"] = max(total - sum(parts.values()), 0.0)
    breakdown_rows = [[name, seconds * 1000 / n_posts, f"{seconds / total:.1%}"] for name, seconds in parts.items()]
    profile = None if result_goal["met"] else {"pipeline call": python_profile(run_pipeline, top=20)}
    notes = [
        f"The pipeline spends {parts['model forward'] / total:.1%} of a call in the model forward; "
        f"the bare forward loop is {stats(times['bare forward'])['median'] / stats(times['pipeline'])['median']:.1%} "
        "of the pipeline's median time.",
        f"Predictions agree: {agreement['same_label_fraction']:.1%} same labels, largest probability "
        f"difference {agreement['max_abs_probability_difference']:.1e} (padding per batch vs per post).",
    ]

    return write_result(
        __file__,
        args,
        argv,
        title="Pipeline overhead: precomputed descriptions vs bare model forward",
        setup={
            "model": f"EraForSequenceClassification.from_encoder, {encoder_described}",
            "pipeline": construction,
            "posts_per_round": n_posts,
            "batch_size": batch_size,
            "mean_tokens_per_post": round(mean_tokens, 1),
            "max_input_tokens": max_length,
            "workload": workload,
            "bare_forward": "torch.inference_mode, batches tokenized beforehand with encode_text_pairs (padding=True)",
        },
        goal=result_goal,
        ratio=ratio,
        pipeline_vs_tokenize_forward=vs_tokenized,
        agreement=agreement,
        table={
            "columns": ["case", "median (s)", "posts/s (median)", "throughput vs bare forward"],
            "rows": [
                [
                    name,
                    stats(times[name])["median"],
                    n_posts / stats(times[name])["median"],
                    paired_ratio(times["bare forward"], times[name])["median"],
                ]
                for name in cases
            ],
        },
        breakdown={"columns": ["pipeline stage", "ms / post", "share"], "rows": breakdown_rows},
        notes=notes,
        times=times,
        profile=profile,
        profile_kind="cProfile, one pipeline call, top functions by cumulative time",
    )


if __name__ == "__main__":
    main()
