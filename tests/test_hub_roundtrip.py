"""Publish and download through a local Hub API server (tests/hub_server.py): `push` then
`pipeline(..., revision=branch | tag | sha)`, and a `Trainer(push_to_hub=True)` run followed by
our export + card + push. Hub clients run in subprocesses: HF_ENDPOINT must be set before
huggingface_hub is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from export_helpers import PAIRS, assert_predicts_like, isolated_predict_code, reference_logits
from hub_server import HubServer
from huggingface_hub import ModelCard

from multimodal_sentiment import EraForSequenceClassification, cli
from multimodal_sentiment.convert import export_checkpoint

TOKEN = "hf_test_token"
LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubServer(tmp_path_factory.mktemp("hub"), token=TOKEN) as server:
        yield server


def _run_with_package(code: str, hub: HubServer, tmp_path, timeout: int = 300) -> dict:
    """Run `code` in a fresh interpreter that has this package, against the test Hub; return its last JSON line."""
    env = {
        **os.environ,
        **hub.env(),
        "HF_HOME": str(tmp_path / "push-hf"),
        "HF_MODULES_CACHE": str(tmp_path / "push-modules"),
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def _download_runs(hub: HubServer, run_without_package, refs: list[tuple[str, str | None]]) -> list[dict]:
    """Load each (repo, revision) with trust_remote_code only, in one package-free interpreter."""
    code = "".join(isolated_predict_code(repo, revision=revision) for repo, revision in refs)
    result = run_without_package(code, extra_env=hub.env())
    return [json.loads(line) for line in result.stdout.strip().splitlines()[-len(refs) :]]


def _readme_at(hub: HubServer, repo_id: str, revision: str) -> ModelCard:
    repo = hub.repo(repo_id)
    commit = repo.commits[repo.resolve(revision)]
    return ModelCard(hub.store.blob_path(commit.tree["README.md"]).read_text())


_PUSH = """
    import contextlib, io, json
    from multimodal_sentiment import cli
    runs = []
    for argv in {calls!r}:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
        runs.append({{"code": code, "out": out.getvalue(), "err": err.getvalue()}})
    print(json.dumps(runs))
"""


def _sha(run: dict) -> str:
    assert run["code"] == 0, run["err"]
    return next(line.split()[-1] for line in run["out"].splitlines() if line.startswith("commit: "))


@pytest.mark.slow
def test_push_then_download_by_branch_tag_and_sha(
    hub, tiny_era_dir, tiny_era, tokenizer, tmp_path, run_without_package
):
    first = export_checkpoint(tiny_era_dir, tmp_path / "first", repo_id="org/era-tiny", card_revision="v1.0")
    # A second, different model for the `dev` branch, so each revision must resolve to its own files.
    other = EraForSequenceClassification.from_pretrained(tiny_era_dir).eval()
    with torch.no_grad():
        other.classifier.bias += torch.tensor([1.0, -1.0, 0.5])
    other.save_pretrained(tmp_path / "other-src")
    tokenizer.save_pretrained(tmp_path / "other-src")
    second = export_checkpoint(tmp_path / "other-src", tmp_path / "second")

    calls = [
        ["push", str(first), "org/era-tiny", "--token", "hf_wrong"],
        ["push", str(first), "org/era-tiny", "--tag", "v1.0", "--private", "--commit-message", "First release"],
        ["push", str(second), "org/era-tiny", "--revision", "dev"],
        ["push", str(first), "org/era-tiny", "--tag", "v1.0"],  # unchanged folder, tag already taken
    ]
    bad_token, main_push, dev_push, retag = _run_with_package(_PUSH.format(calls=calls), hub, tmp_path)
    assert bad_token["code"] == 1 and "hf auth login" in bad_token["err"]
    assert retag["code"] == 1 and "already exists" in retag["err"] and "hf repos tag create" in retag["err"]
    sha_main, sha_dev = _sha(main_push), _sha(dev_push)
    assert f'revision="{sha_main}"' in main_push["out"] and "trust_remote_code=True" in main_push["out"]
    assert sha_main != sha_dev

    repo = hub.repo("org/era-tiny")
    assert repo.private and repo.tags == {"v1.0": sha_main}
    assert repo.branches == {"main": sha_main, "dev": sha_dev}
    assert set(repo.commits[sha_main].tree) == {p.name for p in first.iterdir()} | {".gitattributes"}
    assert hub.http.validated_yaml >= 2 and hub.unknown == []
    card = _readme_at(hub, "org/era-tiny", "v1.0")
    assert "custom_code" in card.data.tags and card.data.pipeline_tag == "text-classification"

    first_logits = reference_logits(tiny_era, tokenizer)
    dev_logits = reference_logits(other, tokenizer)
    refs = [
        ("org/era-tiny", None),
        ("org/era-tiny", "v1.0"),
        ("org/era-tiny", sha_main),
        ("org/era-tiny", "dev"),
        ("org/era-tiny", sha_dev),
    ]
    found = _download_runs(hub, run_without_package, refs)
    for run, expected in zip(found, [first_logits] * 3 + [dev_logits] * 2, strict=True):
        assert_predicts_like(run, expected, LABELS)
    assert found[0]["outputs"] == found[1]["outputs"] == found[2]["outputs"]
    assert found[3]["outputs"] != found[0]["outputs"]
    assert hub.unknown == []


@pytest.mark.slow
def test_trainer_push_to_hub_then_our_card(hub, tiny_era_dir, tmp_path, run_without_package):
    code = f"""
    import json, torch
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments
    from multimodal_sentiment import EraForSequenceClassification, cli
    source, out, pairs = {str(tiny_era_dir)!r}, {str(tmp_path / "run")!r}, {PAIRS!r}
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = EraForSequenceClassification.from_pretrained(source)
    rows = [dict(tokenizer(t, d, truncation=True), labels=i % 3) for i, (t, d) in enumerate(pairs * 2)]
    args = TrainingArguments(output_dir=out, max_steps=2, per_device_train_batch_size=2, learning_rate=1e-3,
                             push_to_hub=True, hub_model_id="org/era-trained", hub_strategy="end", save_strategy="no",
                             report_to=[], use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer),
                      processing_class=tokenizer)
    trainer.train()
    trainer_sha = trainer.push_to_hub(commit_message="End of training").oid
    # Our two commands: export (card from files) and push.
    assert cli.main(["export", out, out + "-export", "--repo-id", "org/era-trained", "--card-revision", "v1"]) == 0
    assert cli.main(["push", out + "-export", "org/era-trained", "--tag", "v1"]) == 0
    batch = tokenizer([p[0] for p in pairs], [p[1] for p in pairs], padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        logits = trainer.model.eval()(**batch).logits.tolist()
    print(json.dumps({{"trainer_sha": trainer_sha, "logits": logits}}))
    """
    done = _run_with_package(code, hub, tmp_path)
    repo = hub.repo("org/era-trained")
    trainer_tree, head_tree = repo.commits[done["trainer_sha"]].tree, repo.commits[repo.branches["main"]].tree
    assert "training_args.bin" in trainer_tree and "training_args.bin" not in head_tree  # no pickle published
    assert "pipeline_multimodal_sentiment.py" in trainer_tree  # the Trainer's own push is a pipeline repo too
    assert "generated_from_trainer" in _readme_at(hub, "org/era-trained", done["trainer_sha"]).data.tags
    ours = _readme_at(hub, "org/era-trained", "v1")
    assert "multimodal-sentiment" in ours.data.tags and 'revision="v1"' in ours.text

    found = _download_runs(
        hub, run_without_package, [("org/era-trained", done["trainer_sha"]), ("org/era-trained", "v1")]
    )
    for run in found:
        assert_predicts_like(run, done["logits"], LABELS)
    assert hub.unknown == []


def test_push_refuses_a_folder_that_is_not_an_export(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"auto_map": {"AutoConfig": "x.Y"}}))
    assert cli.main(["push", str(tmp_path), "org/x"]) == 1
    err = capsys.readouterr().err
    assert "not an exported checkpoint folder" in err and "README.md" in err and "model.safetensors" in err
    for name in ("README.md", "model.safetensors", "pytorch_model.bin"):
        (tmp_path / name).write_text("x")
    assert cli.main(["push", str(tmp_path), "org/x"]) == 1
    assert "pickle files ['pytorch_model.bin']" in capsys.readouterr().err
