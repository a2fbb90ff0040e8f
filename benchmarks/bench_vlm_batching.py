"""VLM batching: images/s of a BLIP-base-sized captioner at batch 1 vs batch 8.

BlipForConditionalGeneration built from transformers' default BlipConfig (the architecture and
size of Salesforce/blip-image-captioning-base) with random weights, and a fixed number of new
tokens (min_new_tokens = max_new_tokens, greedy), so the arithmetic is that of the trained model.
Each round captions the same images once at each batch size. Goal: batch 8 >= 2x batch 1.
A module timer splits the time between the vision encoder and the text decoder.

    python benchmarks/bench_vlm_batching.py [--tiny] [--repeats N] [--images N] [--new-tokens N]
"""

from __future__ import annotations

from common import (
    ModuleTimer,
    ProjectCaptioner,
    add_new_tokens_argument,
    build_blip,
    goal,
    interleaved,
    load_images,
    make_parser,
    paired_ratio,
    parse,
    stats,
    torch_profile,
    write_result,
)

TARGET = 2.0


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=4)
    parser.add_argument("--images", type=int, default=None, help="images per batch size per round (default 8)")
    add_new_tokens_argument(parser)
    parser.add_argument("--batch-sizes", type=int, nargs=2, default=[1, 8], metavar=("SMALL", "LARGE"))
    args = parse(parser, argv)
    n_images = args.images or 8
    small, large = args.batch_sizes

    model, processor, captioner_described = build_blip(args.tiny)
    images, image_source = load_images(n_images)
    backend = ProjectCaptioner(model, processor, args.new_tokens)
    timer = ModuleTimer({"vision encoder": model.vision_model, "text decoder": model.text_decoder})
    parts: dict[str, list[dict[str, float]]] = {}

    def caption_all(batch_size: int, name: str):
        def run():
            timer.reset()
            for start in range(0, n_images, batch_size):
                captions = backend.describe(images[start : start + batch_size])
                assert len(captions) == len(images[start : start + batch_size])
            parts.setdefault(name, []).append(dict(timer.totals))

        return run

    cases = {
        f"batch {small}": caption_all(small, f"batch {small}"),
        f"batch {large}": caption_all(large, f"batch {large}"),
    }
    # Warm-up: one batch at each size (a full pass would double the run time).
    for _ in range(args.warmup):
        backend.describe(images[:small])
        backend.describe(images[:large])
    times = interleaved(cases, repeats=args.repeats, warmup=0)
    parts = {name: rows[-args.repeats :] for name, rows in parts.items()}

    small_ips = [n_images / t for t in times[f"batch {small}"]]
    large_ips = [n_images / t for t in times[f"batch {large}"]]
    speedup = paired_ratio(large_ips, small_ips)
    result_goal = goal(f"images/s at batch {large} / batch {small}", speedup["median"], ">=", TARGET, "x")

    breakdown_rows = []
    breakdown = {}
    for name in cases:
        per_image = {part: stats([r[part] / n_images for r in parts[name]])["median"] for part in timer.totals}
        total = stats(times[name])["median"] / n_images
        per_image["other (pre-processing, generate loop, decoding)"] = max(total - sum(per_image.values()), 0.0)
        breakdown[name] = {"total_s_per_image": total, **{k: v for k, v in per_image.items()}}
        for part, seconds in per_image.items():
            breakdown_rows.append([name, part, seconds, f"{seconds / total:.0%}"])
    ratios = {
        part: breakdown[f"batch {small}"][part] / breakdown[f"batch {large}"][part]
        for part in breakdown[f"batch {small}"]
        if breakdown[f"batch {large}"][part] > 0
    }
    vision = model.config.vision_config
    patches = (vision.image_size // vision.patch_size) ** 2 + 1
    b_small, b_large = breakdown[f"batch {small}"], breakdown[f"batch {large}"]
    # Upper bound if everything but the vision encoder batched perfectly (1/large of its batch-1 cost).
    bound = b_small["total_s_per_image"] / (
        b_large["vision encoder"] + (b_small["total_s_per_image"] - b_small["vision encoder"]) / large
    )
    notes = [
        f"Per-image cost falls {ratios['total_s_per_image']:.2f}x from batch {small} to batch {large} (medians): "
        f"the vision encoder's per-image cost changes {ratios['vision encoder']:.2f}x, the text decoder's "
        f"{ratios['text decoder']:.2f}x.",
        f"The vision encoder takes {b_small['vision encoder'] / b_small['total_s_per_image']:.0%} of the time at "
        f"batch {small} and {b_large['vision encoder'] / b_large['total_s_per_image']:.0%} at batch {large}.",
        f"With the vision encoder's measured batch-{large} cost and everything else batching perfectly, the "
        f"speedup could reach at most {bound:.2f}x.",
    ]
    if ratios["vision encoder"] < 1.25:  # the encoder did not get cheaper per image with batching
        notes.append(
            f"Why: the vision encoder reads {patches} patch tokens per image ({vision.image_size} px, "
            f"{vision.patch_size} px patches) through {vision.num_hidden_layers} layers of width {vision.hidden_size}: its "
            "matrix products are already large at batch 1, so a batch only repeats the same arithmetic per image. "
            "Batching pays where work is small per image: the text decoder's one-token steps."
        )

    profile = None
    if not result_goal["met"]:
        profile = {
            f"batch {small}": torch_profile(lambda: backend.describe(images[:small])),
            f"batch {large}": torch_profile(lambda: backend.describe(images[:large])),
        }

    return write_result(
        __file__,
        args,
        argv,
        title=f"VLM batching: BLIP-base-sized captioner, batch {small} vs batch {large}",
        setup={
            "captioner": captioner_described,
            "code_path": backend.described,
            "new_tokens": args.new_tokens,
            "decoding": "greedy, min_new_tokens = max_new_tokens",
            "images_per_round": n_images,
            "images": image_source,
        },
        goal=result_goal,
        ratio=speedup,
        table={
            "columns": ["batch size", "median s / image", "images/s (median)", "min images/s", "max images/s"],
            "rows": [
                [small, 1 / stats(small_ips)["median"], stats(small_ips)["median"], min(small_ips), max(small_ips)],
                [large, 1 / stats(large_ips)["median"], stats(large_ips)["median"], min(large_ips), max(large_ips)],
            ],
        },
        breakdown={
            "columns": ["case", "part", "s / image (median)", "share"],
            "rows": breakdown_rows,
            "per_part_speedup": ratios,
        },
        notes=notes,
        times=times,
        profile=profile,
        profile_kind="torch.profiler, one batch, top operators by self CPU time",
    )


if __name__ == "__main__":
    main()
