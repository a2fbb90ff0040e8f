"""What a model's pooled vectors show: cross-modal retrieval precision@k, the silhouette of the
labels, and a t-SNE map (the paper's claims that same-sentiment posts of both modalities
cluster together and can be retrieved across modalities)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

# Output fields that hold a model's post representation, in order of preference.
REPRESENTATION_FIELDS = ("pooled_output", "joint_mean")


@torch.inference_mode()
def run_model(
    model: Any, dataset: Any, collator: Any, batch_size: int = 64, desc: str = "Predicting"
) -> tuple[np.ndarray, np.ndarray]:
    """Logits and pooled representations of every row of a tokenized dataset, in order.

    The representation is the output's `pooled_output` / `joint_mean` when the model returns
    one; otherwise what enters its `classifier` module (the vector the head classifies).
    """
    model.eval()
    device = next(model.parameters()).device
    accepts = inspect.signature(model.forward).parameters
    captured: list[torch.Tensor] = []
    classifier = getattr(model, "classifier", None)
    hook = (
        classifier.register_forward_hook(lambda module, args, output: captured.append(args[0]))
        if classifier is not None
        else None
    )
    columns = [c for c in dataset.column_names if c != "label"]
    loader = DataLoader(dataset.select_columns(columns), batch_size=batch_size, collate_fn=collator)
    logits, pooled = [], []
    try:
        for batch in tqdm(loader, desc=desc):
            batch = {k: v.to(device) for k, v in batch.items() if k in accepts}
            captured.clear()
            output = model(**batch, **({"output_selection": True} if "output_selection" in accepts else {}))
            vector = next(
                (getattr(output, f) for f in REPRESENTATION_FIELDS if getattr(output, f, None) is not None), None
            )
            if vector is None:
                if not captured:
                    raise ValueError(
                        f"{type(model).__name__} exposes no pooled representation (no {REPRESENTATION_FIELDS}, no `classifier`)."
                    )
                vector = captured[0]
            logits.append(output.logits.float().cpu())
            pooled.append(vector.float().cpu())
    finally:
        if hook is not None:
            hook.remove()
    return torch.cat(logits).numpy(), torch.cat(pooled).numpy()


def retrieval_precision_at_k(
    queries: np.ndarray, query_labels: Sequence[int], keys: np.ndarray, key_labels: Sequence[int], ks: Sequence[int]
) -> dict[str, float]:
    """Mean fraction of each query's k nearest keys (cosine) that share the query's label.

    k larger than the number of keys is capped. Ties keep key order (stable sort).
    """
    queries = queries / np.clip(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12, None)
    keys = keys / np.clip(np.linalg.norm(keys, axis=1, keepdims=True), 1e-12, None)
    order = np.argsort(-(queries @ keys.T), axis=1, kind="stable")
    query_labels, key_labels = np.asarray(query_labels), np.asarray(key_labels)
    result = {}
    for k in ks:
        top = order[:, : min(k, keys.shape[0])]
        result[f"p@{k}"] = float((key_labels[top] == query_labels[:, None]).mean())
    return result


def silhouette_by_label(vectors: np.ndarray, labels: Sequence[int]) -> float | None:
    """Silhouette score of the labels in representation space (cosine); None when undefined."""
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels)
    if not 2 <= len(set(labels.tolist())) < len(labels):
        return None
    return float(silhouette_score(vectors, labels, metric="cosine"))


def plot_tsne(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, float | None]],
    label_names: Sequence[str],
    path: str | Path,
    seed: int = 0,
    max_points: int = 2000,
    max_iter: int = 1000,
) -> Path:
    """One t-SNE panel per model (title, vectors, labels, silhouette), coloured by label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    for axis, (title, vectors, labels, silhouette) in zip(axes[0], panels, strict=True):
        keep = np.sort(rng.permutation(len(vectors))[:max_points])
        points = vectors[keep]
        perplexity = float(min(30, max(2, (len(points) - 1) // 3)))
        coords = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=max_iter
        ).fit_transform(points)
        for label_id, name in enumerate(label_names):
            mask = np.asarray(labels)[keep] == label_id
            axis.scatter(coords[mask, 0], coords[mask, 1], s=6, alpha=0.7, label=name)
        score = "n/a" if silhouette is None else f"{silhouette:.3f}"
        axis.set_title(f"{title}\nsilhouette by label (cosine): {score}", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.legend(markerscale=2, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
