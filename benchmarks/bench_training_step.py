"""Training step cost: ERA (Top-K gated token selection + uniformity penalty) vs a plain
mean-pooled classifier with the same encoder, batch and sequence length.

One step = forward + backward + AdamW step + zero_grad, in train mode (dropout on).
Goal: ERA step time <= 1.10 x the plain step.

    python benchmarks/bench_training_step.py [--tiny] [--repeats N] [--batch-size B] [--seq-len L]
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
    stats,
    torch_profile,
    write_result,
)

TARGET = 1.10


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], default_repeats=15)
    parser.add_argument("--batch-size", type=int, default=None, help="default 16 (tiny: 4)")
    parser.add_argument("--seq-len", type=int, default=None, help="default 128 (tiny: 32)")
    args = parse(parser, argv)
    batch_size = args.batch_size or (4 if args.tiny else 16)
    seq_len = args.seq_len or (32 if args.tiny else 128)

    import torch
    from torch import nn
    from transformers import AutoModel

    from multimodal_sentiment.modeling.text_pairs import encode_text_pairs

    with tempfile.TemporaryDirectory() as tmp:
        era, tokenizer, encoder_described = build_era(args.tiny, Path(tmp), max_input_tokens=seq_len)
        encoder_folder = era.config.encoder_name_or_path
        plain_encoder = AutoModel.from_pretrained(encoder_folder)

    class MeanPoolClassifier(nn.Module):
        """Baseline: masked mean of all token states -> dropout -> linear head, cross-entropy."""

        def __init__(self, encoder: nn.Module, num_labels: int, dropout: float):
            super().__init__()
            self.encoder = encoder
            self.encoder.pooler = None  # unused, as in ERA
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

        def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            logits = self.classifier(self.dropout(pooled))
            return nn.functional.cross_entropy(logits, labels)

    torch.manual_seed(0)
    plain = MeanPoolClassifier(plain_encoder, era.config.num_labels, era.config.classifier_dropout)

    posts, workload = load_posts(batch_size)
    batch = encode_text_pairs(
        tokenizer,
        [p["text"] for p in posts],
        [p["image_description"] for p in posts],
        max_length=seq_len,
        padding="max_length",
        return_tensors="pt",
    )
    batch = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    labels = torch.arange(batch_size) % era.config.num_labels

    era.train()
    plain.train()
    era_opt = torch.optim.AdamW(era.parameters(), lr=5e-5)
    plain_opt = torch.optim.AdamW(plain.parameters(), lr=5e-5)

    def era_step():
        loss = era(**batch, labels=labels).loss
        loss.backward()
        era_opt.step()
        era_opt.zero_grad(set_to_none=True)

    def plain_step():
        loss = plain(**batch, labels=labels)
        loss.backward()
        plain_opt.step()
        plain_opt.zero_grad(set_to_none=True)

    times = interleaved({"era": era_step, "plain": plain_step}, repeats=args.repeats, warmup=args.warmup)
    ratio = paired_ratio(times["era"], times["plain"])
    result_goal = goal("ERA step / plain mean-pooled step", ratio["median"], "<=", TARGET, "x")
    profile = {"era_step": torch_profile(era_step), "plain_step": torch_profile(plain_step)}

    return write_result(
        __file__,
        args,
        argv,
        title="Training step: ERA vs plain mean-pooled classifier",
        setup={
            "encoder": encoder_described,
            "batch_size": batch_size,
            "seq_len": seq_len,
            "padding": "max_length (both models see identical tensors)",
            "era": {
                "token_top_k": era.config.token_top_k,
                "token_gate": era.config.token_gate,
                "uniformity_weight": era.config.uniformity_weight,
                "uniformity_type": era.config.uniformity_type,
            },
            "optimizer": "AdamW lr 5e-5 (both)",
            "workload": workload,
        },
        goal=result_goal,
        ratio=ratio,
        table={
            "columns": ["model", "median step (s)", "min (s)", "max (s)", "samples/s (median)"],
            "rows": [
                [name, s["median"], s["min"], s["max"], batch_size / s["median"]]
                for name, s in ((n, stats(times[n])) for n in ("era", "plain"))
            ],
        },
        times=times,
        profile=profile,
        profile_kind="torch.profiler, one step, top operators by self CPU time",
    )


if __name__ == "__main__":
    main()
