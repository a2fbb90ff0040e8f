"""Mutation check of the core behaviours: does the suite notice a plausible bug?

Each mutation below is a small, plausible bug in one behaviour the project depends on (token
selection, uniformity, losses, invariance penalties, label codes, cache keys, export safety,
pipeline error indexing). For each one the script copies the tree to a temporary folder (the
working tree is never edited), applies the mutation there, runs the test files that guard that
behaviour against the copy (`PYTHONPATH=<copy>/src`), and reports the mutant as

- killed: a test failed (what we want),
- survived: every selected test passed (a missing or weak test: write one from the behaviour),
- stale: the code to mutate is no longer in the file (update the list below).

It is not part of `make test` or CI (33 mutants, 15-40 s each: about 13 minutes on two loaded
cores; the last run killed all 33). Run it after
changing a core behaviour or its tests; every mutant must be killed:

    flock /tmp/heavy.lock nice -n 5 .venv/bin/python tests/mutation/run_mutations.py
    .venv/bin/python tests/mutation/run_mutations.py --list            # the mutations
    .venv/bin/python tests/mutation/run_mutations.py --only cache-key  # names containing "cache-key"
    .venv/bin/python tests/mutation/run_mutations.py --ref HEAD        # the committed tree instead

Exit status: 0 when every selected mutant is killed, 1 when one survived or is stale, 2 when
the unmutated copy already fails its tests (fix that first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "src/multimodal_sentiment"
# Top-level entries never copied: environments, caches, training runs.
SKIP_NAMES = {".venv", ".git", "runs", ".pytest_cache", ".ruff_cache", "__pycache__", "build", "dist"}
PYTEST_ARGS = ["-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", "--no-header", "-rfE", "--tb=no"]


@dataclass(frozen=True)
class Mutation:
    name: str  # "<behaviour>/<bug>"
    file: str  # relative to src/multimodal_sentiment
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # test files, relative to tests/
    select: str | None = None  # pytest -k expression, None = the whole files
    why: str = ""


MUTATIONS: tuple[Mutation, ...] = (
    # ---------------------------------------------------------------- token selection
    Mutation(
        "token-selection/special-tokens-selectable",
        "modeling/token_selection.py",
        "mask = mask & ~torch.isin(input_ids, specials)",
        "mask = mask",
        ("test_era_model.py",),
        "selectable or output_selection or roberta",
        "CLS/SEP may be pooled",
    ),
    Mutation(
        "token-selection/lowest-scores",
        "modeling/token_selection.py",
        "top_scores, top_idx = scores.topk(k, dim=-1)",
        "top_scores, top_idx = scores.topk(k, dim=-1, largest=False)",
        ("test_era_model.py", "test_era_by_hand.py"),
        "topk or gate",
        "the K worst tokens are pooled",
    ),
    Mutation(
        "token-selection/k-not-capped",
        "modeling/token_selection.py",
        "chosen = rank < n_valid.unsqueeze(-1)",
        "chosen = rank < k",
        ("test_era_model.py", "test_era_by_hand.py"),
        "topk or k_larger or gate",
        "padding is pooled when a post has fewer than K tokens",
    ),
    Mutation(
        "token-selection/sigmoid-gate-not-divided-by-k",
        "modeling/token_selection.py",
        "weights = torch.sigmoid(safe_scores) * chosen / chosen.sum(-1, keepdim=True).clamp(min=1)",
        "weights = torch.sigmoid(safe_scores) * chosen",
        ("test_era_by_hand.py", "test_era_model.py"),
        "gate",
    ),
    Mutation(
        "token-selection/no-empty-row-fallback",
        "modeling/token_selection.py",
        "return torch.where(empty_rows, attention_mask.bool(), mask)",
        "return mask",
        ("test_era_model.py",),
        "selectable",
        "a post of special tokens only pools nothing",
    ),
    Mutation(
        "token-selection/plain-mean-over-padding",
        "modeling/token_selection.py",
        "weights_full = selectable.to(hidden_states.dtype) / n_valid.clamp(min=1).unsqueeze(-1)",
        "weights_full = selectable.to(hidden_states.dtype) / seq_len",
        ("test_era_model.py",),
        "top_k_zero",
    ),
    # ---------------------------------------------------------------- uniformity
    Mutation(
        "uniformity/on-logits",
        "modeling/modeling_era.py",
        "out.pooled_output, self.config.uniformity_type",
        "logits, self.config.uniformity_type",
        ("test_era_by_hand.py", "test_era_model.py"),
        "uniformity or loss",
    ),
    Mutation(
        "uniformity/diagonal-included",
        "modeling/token_selection.py",
        "return (z @ z.T)[off_diagonal].mean()",
        "return (z @ z.T).mean()",
        ("test_era_model.py",),
        "uniformity",
    ),
    Mutation(
        "uniformity/gaussian-without-log-n",
        "modeling/token_selection.py",
        "torch.logsumexp(-temperature * sq_dist, dim=0) - torch.log(torch.tensor(float(sq_dist.numel())))",
        "torch.logsumexp(-temperature * sq_dist, dim=0)",
        ("test_era_model.py", "test_era_by_hand.py"),
        "gaussian",
    ),
    Mutation(
        "uniformity/also-in-eval",
        "modeling/modeling_era.py",
        "if self.training and self.config.uniformity_weight > 0 and logits.size(0) >= 2:",
        "if self.config.uniformity_weight > 0 and logits.size(0) >= 2:",
        ("test_era_model.py",),
        "loss",
    ),
    Mutation(
        "uniformity/weight-ignored",
        "modeling/modeling_era.py",
        "loss = loss + self.config.uniformity_weight * uniformity",
        "loss = loss + uniformity",
        ("test_era_by_hand.py",),
        "uniformity",
    ),
    # ---------------------------------------------------------------- losses
    Mutation(
        "loss/class-weights-ignored",
        "modeling/modeling_era.py",
        "loss = nn.functional.cross_entropy(logits.float(), labels, weight=weight)",
        "loss = nn.functional.cross_entropy(logits.float(), labels, weight=None)",
        ("test_era_by_hand.py",),
        "class_weights",
    ),
    Mutation(
        "loss/balanced-weights-inverted",
        "training/train.py",
        "return [len(labels) / (num_labels * counts[i]) for i in range(num_labels)]",
        "return [num_labels * counts[i] / len(labels) for i in range(num_labels)]",
        ("test_era_by_hand.py",),
        "balanced",
    ),
    Mutation(
        "loss/kl-without-half",
        "modeling/invariance.py",
        "per_row = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)",
        "per_row = (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)",
        ("test_misr_model.py",),
        "kl or loss_is_ce",
    ),
    Mutation(
        "loss/misr-env-loss-joint-ignored",
        "modeling/modeling_misr.py",
        'ce = stacked.mean() if self.config.env_loss == "mean" else risks["joint"]',
        "ce = stacked.mean()",
        ("test_misr_model.py",),
        "loss_is_ce",
    ),
    Mutation(
        "loss/misr-visual-risk-counts-posts-without-image",
        "modeling/modeling_misr.py",
        "logits, env_labels = logits[out.visual_present], labels[out.visual_present]",
        "pass",
        ("test_misr_model.py",),
        "missing or visual",
    ),
    # ---------------------------------------------------------------- invariance penalties
    Mutation(
        "invariance/irm-not-squared",
        "modeling/invariance.py",
        "return risk, grad.pow(2)",
        "return risk, grad.abs()",
        ("test_misr_model.py",),
        "irm or loss_is_ce",
    ),
    Mutation(
        "invariance/rex-sum-not-mean",
        "modeling/invariance.py",
        "return (risks - risks.mean()).pow(2).mean()",
        "return (risks - risks.mean()).pow(2).sum()",
        ("test_misr_model.py",),
        "rex or loss_is_ce",
    ),
    Mutation(
        "invariance/irm-summed-over-environments",
        "modeling/modeling_misr.py",
        "penalty = torch.stack(irm_terms).mean() if use_irm else rex_penalty(stacked)",
        "penalty = torch.stack(irm_terms).sum() if use_irm else rex_penalty(stacked)",
        ("test_misr_model.py",),
        "loss_is_ce",
    ),
    Mutation(
        "invariance/penalty-weight-ignored",
        "modeling/modeling_misr.py",
        "loss = loss + self.config.invariance_weight * penalty",
        "loss = loss + penalty",
        ("test_misr_model.py",),
        "loss_is_ce or invariance_weight",
    ),
    # ---------------------------------------------------------------- label codes
    Mutation(
        "label-codes/mvsa-split-code-reversed",
        "data/mvsa.py",
        'MVSA_SPLIT_CODES = {0: "positive", 1: "neutral", 2: "negative"}',
        'MVSA_SPLIT_CODES = {0: "negative", 1: "neutral", 2: "positive"}',
        ("test_data_loaders.py",),
        "mvsa",
    ),
    Mutation(
        "label-codes/mvsa-pairlist-read-with-the-split-code",
        "data/mvsa.py",
        'MVSA_PAIRLIST_CODES = {0: "neutral", 1: "positive", 2: "negative"}',
        'MVSA_PAIRLIST_CODES = {0: "positive", 1: "neutral", 2: "negative"}',
        ("test_data_loaders.py",),
        "mvsa",
    ),
    Mutation(
        "label-codes/tombert-code-reversed",
        "data/twitter.py",
        'TOMBERT_CODES = {0: "negative", 1: "neutral", 2: "positive"}',
        'TOMBERT_CODES = {0: "positive", 1: "neutral", 2: "negative"}',
        ("test_data_loaders.py",),
        "twitter",
    ),
    # ---------------------------------------------------------------- description cache keys
    Mutation(
        "cache-key/no-revision",
        "modeling/image_to_text.py",
        '            "revision": self.revision,\n',
        "",
        ("test_description_cache_keys.py",),
    ),
    Mutation(
        "cache-key/no-generation-settings",
        "modeling/image_to_text.py",
        '            "generation": {"max_new_tokens": max_new_tokens or self.max_new_tokens, **self.generate_kwargs},\n',
        "",
        ("test_description_cache_keys.py",),
    ),
    Mutation(
        "cache-key/no-generate-kwargs",
        "modeling/image_to_text.py",
        '"generation": {"max_new_tokens": max_new_tokens or self.max_new_tokens, **self.generate_kwargs},',
        '"generation": {"max_new_tokens": max_new_tokens or self.max_new_tokens},',
        ("test_description_cache_keys.py",),
    ),
    Mutation(
        "cache-key/no-prompt",
        "modeling/image_to_text.py",
        '            "prompt": self.prompt if prompt is None else prompt,\n',
        "",
        ("test_description_cache_keys.py",),
    ),
    Mutation(
        "cache-key/no-image-hash",
        "modeling/image_to_text.py",
        'payload = json.dumps({"image": image_hash, **identity}, sort_keys=True, default=str)',
        "payload = json.dumps(dict(identity), sort_keys=True, default=str)",
        ("test_description_cache_keys.py",),
    ),
    # ---------------------------------------------------------------- export safety
    Mutation(
        "export/pickle-guard-removed",
        "convert/export.py",
        '    if pickles:\n        raise ExportError(f"Refusing to export pickle files',
        '    if False:\n        raise ExportError(f"Refusing to export pickle files',
        ("test_export_safety.py",),
    ),
    Mutation(
        "export/unpickles-state-dicts",
        "convert/export.py",
        'loaded = torch.load(path, map_location="cpu", weights_only=True)',
        'loaded = torch.load(path, map_location="cpu", weights_only=False)',
        ("test_export_safety.py",),
    ),
    Mutation(
        "export/push-pickle-guard-removed",
        "convert/push.py",
        "    if pickles:\n        raise PushError(",
        "    if False:\n        raise PushError(",
        ("test_hub_roundtrip.py",),
        "refuses",
    ),
    # ---------------------------------------------------------------- pipeline
    Mutation(
        "pipeline/error-index-within-the-chunk",
        "modeling/pipeline_multimodal_sentiment.py",
        "index = None if single else start + offset",
        "index = None if single else offset",
        ("test_pipeline.py",),
        "bad_input_matrix",
    ),
    Mutation(
        "pipeline/scores-under-permuted-labels",
        "modeling/pipeline_outputs.py",
        '"scores": {config.id2label[i]: float(p) for i, p in enumerate(probabilities.tolist())},',
        '"scores": {config.id2label[len(config.id2label) - 1 - i]: float(p) for i, p in enumerate(probabilities.tolist())},',
        ("test_pipeline_text_only.py",),
    ),
)


@dataclass
class Outcome:
    name: str
    status: str  # killed / survived / stale / error
    seconds: float
    detail: str = ""
    tests: list[str] = field(default_factory=list)


def copy_tree(destination: Path, ref: str | None) -> Path:
    """The working tree (or commit `ref`) without environments and caches, under `destination`."""
    root = destination / "tree"
    if ref:
        root.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", ref], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
        return root

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_NAMES or n.endswith(".egg-info")}

    shutil.copytree(REPO_ROOT, root, ignore=ignore, symlinks=True)
    return root


def environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no stale bytecode between a mutant and its restore
    env.pop("CI", None)  # the copy has no ../shared/data; the CI skip policy is not what is tested here
    return env


def check_copy_is_imported(root: Path) -> None:
    code = "import multimodal_sentiment, sys; sys.stdout.write(multimodal_sentiment.__file__)"
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=environment(root), capture_output=True, text=True, check=True
    ).stdout
    if not Path(found).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"run_mutations: the copy imports multimodal_sentiment from {found}, not from {root}/src")


def pytest_command(tests: tuple[str, ...], select: str | None) -> list[str]:
    command = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *(f"tests/{t}" for t in tests)]
    return command + (["-k", select] if select else [])


def run_pytest(root: Path, command: list[str], timeout: float) -> tuple[int | None, str]:
    try:
        result = subprocess.run(
            command, cwd=root, env=environment(root), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return result.returncode, result.stdout + result.stderr


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0]
    summary = [line for line in output.splitlines() if line.strip()]
    return summary[-1] if summary else ""


def baseline(root: Path, mutations: list[Mutation], timeout: float) -> None:
    """The unmutated copy must pass every selection the mutants use (else 'killed' means nothing)."""
    files = sorted({t for m in mutations for t in m.tests})
    terms = sorted({f"({m.select})" if m.select else Path(t).stem for m in mutations for t in m.tests})
    command = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *(f"tests/{f}" for f in files), "-k", " or ".join(terms)]
    started = time.monotonic()
    code, output = run_pytest(root, command, timeout * 3)
    if code != 0:
        print(output[-6000:])
        raise SystemExit(2)
    print(f"baseline: the unmutated copy passes ({time.monotonic() - started:.0f} s): {first_failure(output)}")


def run_mutation(root: Path, mutation: Mutation, timeout: float) -> Outcome:
    path = root / PACKAGE / mutation.file
    original = path.read_text(encoding="utf-8")
    count = original.count(mutation.old)
    if count != 1:
        return Outcome(mutation.name, "stale", 0.0, f"the code to mutate occurs {count} times in {mutation.file}")
    path.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
    started = time.monotonic()
    try:
        code, output = run_pytest(root, pytest_command(mutation.tests, mutation.select), timeout)
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.monotonic() - started
    if code is None:
        return Outcome(mutation.name, "killed", seconds, "timed out (counted as killed)", list(mutation.tests))
    if code == 0:
        return Outcome(mutation.name, "survived", seconds, first_failure(output), list(mutation.tests))
    if code == 5:
        return Outcome(mutation.name, "error", seconds, "no test selected: fix the selection", list(mutation.tests))
    return Outcome(mutation.name, "killed", seconds, first_failure(output), list(mutation.tests))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--only", action="append", default=[], help="run mutations whose name contains this")
    parser.add_argument("--ref", help="mutate this commit (git archive) instead of the working tree")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant (default 600)")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)

    selected = [m for m in MUTATIONS if not args.only or any(o in m.name for o in args.only)]
    if args.list:
        for m in MUTATIONS:
            where = f"{m.file}; tests: {', '.join(m.tests)}" + (f" -k {m.select!r}" if m.select else "")
            print(f"{m.name:55s} {where}")
        print(f"{len(MUTATIONS)} mutations")
        return 0
    if not selected:
        parser.error(f"no mutation name contains {args.only}")

    workdir = Path(tempfile.mkdtemp(prefix="ms-mutations-"))
    try:
        root = copy_tree(workdir, args.ref)
        check_copy_is_imported(root)
        print(f"mutating a copy of {'commit ' + args.ref if args.ref else 'the working tree'} in {root}")
        if not args.no_baseline:
            baseline(root, selected, args.timeout)
        outcomes = []
        for number, mutation in enumerate(selected, start=1):
            outcome = run_mutation(root, mutation, args.timeout)
            outcomes.append(outcome)
            print(f"[{number:2d}/{len(selected)}] {outcome.status:8s} {mutation.name:55s} {outcome.seconds:5.0f} s  {outcome.detail}")
            sys.stdout.flush()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    counts = {s: sum(o.status == s for o in outcomes) for s in ("killed", "survived", "stale", "error")}
    print(
        f"{len(outcomes)} mutants: {counts['killed']} killed, {counts['survived']} survived, "
        f"{counts['stale']} stale, {counts['error']} errors"
    )
    for outcome in outcomes:
        if outcome.status != "killed":
            print(f"  {outcome.status}: {outcome.name} ({outcome.detail})")
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=2) + "\n")
    return 0 if counts["killed"] == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
