"""`multimodal-sentiment push FOLDER REPO_ID`: publish an exported checkpoint folder to the Hub.

Creates the repository if needed (`create_repo(exist_ok=True)`), creates the branch `--revision`
if it does not exist yet, uploads the folder as one commit in which the revision's tree becomes
exactly the folder (files the folder does not have, e.g. the Trainer's pickled
`training_args.bin`, are deleted; `.gitattributes` is kept; `--keep-remote-files` turns this off),
optionally tags that commit, and prints the commit sha with the pinned usage line.

The token comes from the usual places (`HF_TOKEN`, `hf auth login`) unless `--token` is given.
Pushing talks to the Hub through huggingface_hub only; it never loads the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..cli.args import ArgumentParser
from ..modeling.checkpoint_code import TASK
from .export import PICKLE_SUFFIXES

REQUIRED_FILES = ("config.json", "README.md")


class PushError(RuntimeError):
    """The folder or the Hub refused the push; the message says what to do."""


@dataclass
class PushResult:
    """What was published: the commit to pin, and where."""

    repo_id: str
    commit_sha: str
    commit_url: str
    revision: str
    tag: str | None

    def usage_line(self) -> str:
        return f'pipeline("{TASK}", model="{self.repo_id}", revision="{self.commit_sha}", trust_remote_code=True)'


def check_exported_folder(folder: str | Path) -> Path:
    """Raise `PushError` unless `folder` looks like `multimodal-sentiment export` output."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PushError(f"{folder} is not a folder. Create one with `multimodal-sentiment export SOURCE {folder}`.")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not (folder / "model.safetensors").is_file() and not (folder / "model.safetensors.index.json").is_file():
        missing.append("model.safetensors")
    if missing:
        raise PushError(
            f"{folder} is not an exported checkpoint folder: it lacks {', '.join(missing)}. "
            f"Run `multimodal-sentiment export SOURCE {folder}` first and push its output."
        )
    pickles = sorted(p.name for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise PushError(f"{folder} contains pickle files {pickles}; exported folders never do. Export again and push that.")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PushError(f"{folder}/config.json is not valid JSON ({error}). Export again.") from None
    if not config.get("auto_map"):
        raise PushError(f"{folder}/config.json has no auto_map, so the model would not load with trust_remote_code. Export again.")
    return folder


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    tag: str | None = None,
    commit_message: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    keep_remote_files: bool = False,
) -> PushResult:
    """Upload an exported folder to `repo_id` (see the module docstring) and return the commit to pin."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    folder = check_exported_folder(folder)
    branch = revision or "main"
    api = HfApi(token=token)  # None: HF_TOKEN or the token saved by `hf auth login`
    try:
        repo_url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if branch != "main":
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            revision=branch,
            commit_message=commit_message or f"Upload {folder.name} with multimodal-sentiment push",
            delete_patterns=None if keep_remote_files else "*",
        )
    except HfHubHTTPError as error:
        status = getattr(error.response, "status_code", None)
        if status in (401, 403):
            raise PushError(
                f"The Hub refused the push to {repo_id} ({status}): log in with `hf auth login`, set HF_TOKEN, or pass "
                "--token with a token that has write access to this namespace."
            ) from None
        raise PushError(f"Pushing to {repo_id} failed: {error}") from None
    if tag:
        try:
            api.create_tag(repo_id, tag=tag, revision=commit.oid, tag_message=commit_message)
        except HfHubHTTPError as error:
            # The commit is already on the Hub: say so, the user only has to tag it.
            reason = "it already exists (tags are pins: choose a new name)" if error.response.status_code == 409 else error
            raise PushError(
                f"Pushed commit {commit.oid} to {repo_id} ({branch}) but could not create tag {tag!r}: {reason}. "
                f"Tag it with `hf repos tag create {repo_id} NEW_TAG --revision {commit.oid}`."
            ) from None
    return PushResult(
        repo_id=getattr(repo_url, "repo_id", None) or repo_id,
        commit_sha=commit.oid,
        commit_url=commit.commit_url,
        revision=branch,
        tag=tag,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="multimodal-sentiment push",
        description=(
            "Upload a folder written by `multimodal-sentiment export` to the Hugging Face Hub and print the commit "
            "sha to pin. The revision's files become exactly the folder's (plus .gitattributes)."
        ),
    )
    parser.add_argument("folder", help="exported folder (config.json, model.safetensors, README.md, code, tokenizer)")
    parser.add_argument("repo_id", help="org/name on the Hub (created if it does not exist)")
    parser.add_argument("--revision", help="branch to push to (created from main if missing; default: main)")
    parser.add_argument("--tag", help="tag the new commit (a human-readable pin, e.g. v1.0)")
    parser.add_argument("--commit-message", help="commit message")
    parser.add_argument("--private", action="store_true", default=None, help="create the repository as private (no effect on an existing one)")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN or the token saved by `hf auth login`)")
    parser.add_argument("--keep-remote-files", action="store_true", help="do not delete remote files the folder lacks")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = push_folder(
            args.folder,
            args.repo_id,
            revision=args.revision,
            tag=args.tag,
            commit_message=args.commit_message,
            private=args.private,
            token=args.token,
            keep_remote_files=args.keep_remote_files,
        )
    except PushError as error:
        print(f"multimodal-sentiment push: {error}", file=sys.stderr)
        return 1
    print(f"commit: {result.commit_sha}")
    print(f"url: {result.commit_url}")
    where = f"branch {result.revision}" + (f", tag {result.tag}" if result.tag else "")
    print(f"pushed to {result.repo_id} ({where}). Use it pinned to this commit:")
    print(f"  {result.usage_line()}")
    return 0


__all__ = ["PushError", "PushResult", "check_exported_folder", "push_folder", "main"]
