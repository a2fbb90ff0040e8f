"""Description cache: what a repeated image costs in the pipeline, against the first (cold) time.

The full multimodal-sentiment pipeline (MiniLM ERA + a BLIP-base-sized captioner with random
weights and a fixed number of new tokens) classifies {"text", "image": <file path>} posts one at a
time. Each round takes an image the pipeline has never seen (cold: decode, hash, VLM caption,
classifier) and then the same post again (warm: decode, hash, cache hit, classifier).
The image stage (reading and describing the post: the pipeline's `_prepare_chunk`) is timed inside the
calls; the goal is on it: a repeated image costs at most 1% of a cold one. End-to-end call times
(which include the text classifier, paid for every post either way) are reported beside it.

    python benchmarks/bench_cache.py [--tiny] [--repeats N] [--new-tokens N]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import (
    ProjectCaptioner,
    StageTimer,
    add_new_tokens_argument,
    build_blip,
    build_era,
    goal,
    image_files,
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

TARGET_PCT = 1.0


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=8)
    add_new_tokens_argument(parser)
    args = parse(parser, argv)
    rounds = args.repeats

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        era, tokenizer, encoder_described = build_era(args.tiny, workdir)
        folder = save_era(era, tokenizer, workdir)
        blip, processor, captioner_described = build_blip(args.tiny)
        vlm = ProjectCaptioner(blip, processor, args.new_tokens)
        pipe, construction = make_pipeline(
            folder,
            batch_size=1,
            captioner=vlm.vlm,
            captioner_max_new_tokens=args.new_tokens,
            captioner_generate_kwargs={"min_new_tokens": args.new_tokens, "do_sample": False, "num_beams": 1},
        )
        files, image_source = image_files(rounds + args.warmup, workdir)
        posts, _ = load_posts(rounds + args.warmup)
        inputs = [{"text": post["text"], "image": str(path)} for post, path in zip(posts, files, strict=True)]

        stage = StageTimer(pipe, ["_prepare_chunk"])
        times = {"cold call": [], "warm call": [], "cold image stage": [], "warm image stage": []}
        for index, item in enumerate(inputs):
            for kind in ("cold", "warm"):
                stage.reset()
                start = time.perf_counter()
                out = pipe(item)
                elapsed = time.perf_counter() - start
                assert out["description_views"] == ["caption"], out
                if index >= args.warmup:  # the first image(s) warm the models up
                    times[f"{kind} call"].append(elapsed)
                    times[f"{kind} image stage"].append(sum(stage.totals.values()))
        stage.restore()
        cache = pipe.describe_stage.cache
        cache_counts = {"hits": cache.hits, "misses": cache.misses, "entries": len(cache)}
        stage_ratio = paired_ratio(times["warm image stage"], times["cold image stage"])
        call_ratio = paired_ratio(times["warm call"], times["cold call"])
        result_goal = goal(
            "repeated image, % of a cold image's cost (image stage)", 100 * stage_ratio["median"], "<=", TARGET_PCT, "%"
        )
        profile = None if result_goal["met"] else {"warm call": python_profile(lambda: pipe(inputs[-1]), top=20)}

    cold_stage, warm_stage = stats(times["cold image stage"])["median"], stats(times["warm image stage"])["median"]
    notes = [
        f"A repeated image costs {stage_ratio['median']:.2%} of a cold one in the image stage "
        f"({warm_stage * 1000:.1f} ms vs {cold_stage:.2f} s: decoding and hashing the file, then a cache hit).",
        f"End to end, a post with a repeated image costs {call_ratio['median']:.1%} of one with a new image; "
        "the rest of a warm call is the text classifier, which every post pays.",
        f"Cache counters after the run: {cache_counts['hits']} hits, {cache_counts['misses']} misses.",
    ]
    return write_result(
        __file__,
        args,
        argv,
        title="Description cache: repeated image vs cold image",
        setup={
            "classifier": f"EraForSequenceClassification.from_encoder, {encoder_described}",
            "captioner": captioner_described,
            "captioner_code": vlm.described,
            "new_tokens": args.new_tokens,
            "pipeline": construction + ", batch_size=1, default in-memory description cache",
            "inputs": f"one post per call, image given as a file path; {image_source}",
            "pairing": "each round: a never-seen image (cold), then the same post again (warm)",
        },
        goal=result_goal,
        ratio=stage_ratio,
        end_to_end_ratio=call_ratio,
        cache_counters=cache_counts,
        table={
            "columns": ["measure", "cold (median s)", "warm (median s)", "warm / cold (median of pairs)"],
            "rows": [
                ["image stage (read + describe)", cold_stage, warm_stage, stage_ratio["median"]],
                [
                    "whole pipeline call",
                    stats(times["cold call"])["median"],
                    stats(times["warm call"])["median"],
                    call_ratio["median"],
                ],
            ],
        },
        notes=notes,
        times=times,
        profile=profile,
        profile_kind="cProfile, one warm pipeline call, top functions by cumulative time",
    )


if __name__ == "__main__":
    main()
