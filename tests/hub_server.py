"""A small local stand-in for the Hugging Face Hub HTTP API, for tests that push and download.

It speaks the subset of the Hub API that huggingface_hub 2.x (checked against 2.4.0) uses for
`create_repo`, `upload_folder` / `create_commit` (regular files: `preupload` answers "regular",
so no LFS or Xet storage is needed), `POST /api/validate-yaml`, `model_info` / `repo_info`,
`list_repo_tree`, `list_repo_refs`, `list_repo_commits`, `create_branch`, `create_tag`, and the
`resolve` file downloads with the headers `hf_hub_download` requires (`X-Repo-Commit`, `ETag` =
git blob sha, `Content-Length`, byte ranges). Clients reach it by setting
`HF_ENDPOINT=http://127.0.0.1:<port>` BEFORE importing huggingface_hub.

Repositories live under a folder: file contents as content-addressed blobs on disk (named by
their git blob sha1, as the Hub names regular files), and git-like history in memory: every
commit has a sha, a parent and a full tree; branches and tags point at commits. Bound to
127.0.0.1 on a free port; writes need an `Authorization: Bearer ...` header (and, when the
server was given a token, that token). `requests` records every call (method, path, status) so a
test can say which endpoint a client used, and `unknown` the ones this server does not speak.

Run it by hand with `python tests/hub_server.py [ROOT]` to poke at it with a real client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_USER = "tester"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
# Official Hub task ids a card's `pipeline_tag` may name (a subset; enough to reject custom names).
PIPELINE_TAGS = {
    "text-classification",
    "token-classification",
    "zero-shot-classification",
    "image-classification",
    "image-text-to-text",
    "image-to-text",
    "feature-extraction",
    "fill-mask",
    "question-answering",
    "summarization",
    "translation",
    "text-generation",
    "text2text-generation",
    "sentence-similarity",
    "visual-question-answering",
    "zero-shot-image-classification",
}


def git_blob_sha(data: bytes) -> str:
    """The git object id of a file's content (what the Hub returns as ETag for regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Commit:
    sha: str
    parent: str | None
    tree: dict[str, str]  # path -> blob sha
    title: str
    message: str
    date: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        """Branch, tag or full commit sha -> commit sha (None when unknown)."""
        for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if revision.startswith(prefix):
                return refs.get(revision[len(prefix) :])
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        if SHA_RE.match(revision) and revision in self.commits:
            return revision
        return None


class HubError(Exception):
    """An API error answered with the status and `X-Error-Code` the real Hub uses."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class HubStore:
    """Repositories, blobs and history. Thread-safe: one lock around every read and write."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()
        self._counter = 0

    # ---- blobs and commits

    def put_blob(self, data: bytes) -> str:
        sha = git_blob_sha(data)
        path = self.blobs / sha
        if not path.exists():
            tmp = path.with_suffix(f".tmp{threading.get_ident()}")
            tmp.write_bytes(data)
            tmp.replace(path)
        return sha

    def blob_path(self, sha: str) -> Path:
        return self.blobs / sha

    def _commit(self, repo: Repo, parent: str | None, tree: dict[str, str], title: str, message: str) -> Commit:
        self._counter += 1
        payload = json.dumps([parent, sorted(tree.items()), title, message, self._counter, time.time()])
        commit = Commit(hashlib.sha1(payload.encode()).hexdigest(), parent, dict(tree), title, message, _now())
        repo.commits[commit.sha] = commit
        return commit

    # ---- repositories

    def get(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def create(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, f"You already created this {repo_type} repo")
            repo = Repo(repo_type, repo_id, private, _now())
            # Like the Hub: a new repository starts with one commit holding .gitattributes.
            attributes = self.put_blob(b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
            first = self._commit(repo, None, {".gitattributes": attributes}, "initial commit", "")
            repo.branches["main"] = first.sha
            self.repos[(repo_type, repo_id)] = repo
            return repo

    def resolve(self, repo: Repo, revision: str) -> Commit:
        sha = repo.resolve(revision)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[sha]

    def commit(self, repo: Repo, branch: str, header: dict, operations: list[dict]) -> Commit:
        with self.lock:
            if branch not in repo.branches:
                raise HubError(404, f"Invalid rev id: {branch} (commits go to an existing branch)", "RevisionNotFound")
            head = repo.commits[repo.branches[branch]]
            parent_commit = header.get("parentCommit")
            if parent_commit and parent_commit != head.sha:
                raise HubError(412, f"Parent commit {parent_commit} is not the head of {branch} ({head.sha}).")
            tree = dict(head.tree)
            for op in operations:
                key, value = op.get("key"), op.get("value") or {}
                path = str(value.get("path", "")).lstrip("/")
                if key == "file":
                    if value.get("encoding") != "base64":
                        raise HubError(400, f"Unsupported encoding {value.get('encoding')!r} for {path}")
                    tree[path] = self.put_blob(base64.b64decode(value["content"]))
                elif key == "deletedFile":
                    tree.pop(path, None)
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    tree = {p: s for p, s in tree.items() if not p.startswith(prefix)}
                elif key in ("lfsFile", "deletedEntry"):
                    raise HubError(422, f"This test server stores regular files only; got {key} for {path}.")
                else:
                    raise HubError(400, f"Unknown commit operation {key!r}")
            new = self._commit(repo, head.sha, tree, header.get("summary") or "", header.get("description") or "")
            repo.branches[branch] = new.sha
            return new

    def add_ref(self, repo: Repo, kind: str, name: str, revision: str) -> None:
        with self.lock:
            refs = repo.branches if kind == "branch" else repo.tags
            if name in refs:
                raise HubError(409, f"{kind.capitalize()} {name} already exists")
            refs[name] = self.resolve(repo, revision).sha


class _Handler(BaseHTTPRequestHandler):
    server: HubHTTPServer

    # ---- plumbing

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean; `requests` records every call instead

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict:
        body = self._body()
        return json.loads(body) if body else {}

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str((headers or {}).pop("_length", len(body))))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.server.record(self.command, self.path, status)

    def _json(self, status: int, payload, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(self, error: HubError) -> None:
        headers = {"X-Error-Message": error.message}
        if error.code:
            headers["X-Error-Code"] = error.code
        self._json(error.status, {"error": error.message}, headers)

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    def _require_write(self) -> None:
        token = self._token()
        if not token or (self.server.token is not None and token != self.server.token):
            raise HubError(401, "Invalid credentials in Authorization header")

    def _readable(self, repo: Repo) -> Repo:
        token = self._token()
        if repo.private and (not token or (self.server.token is not None and token != self.server.token)):
            raise HubError(401, f"Repository {repo.repo_id} not found", "RepoNotFound")
        return repo

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            handled = self.server.app.route(self, self.command, parts, query)
        except HubError as error:
            self._error(error)
            return
        except Exception as error:  # a bug here must surface as a 500, not a hung client
            self._error(HubError(500, f"test hub server error: {error!r}"))
            return
        if not handled:
            self.server.unknown.append(f"{self.command} {url.path}")
            self._error(HubError(404, f"test hub server: no route for {self.command} {url.path}"))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch


class HubApp:
    """Routes: API endpoints under /api, file downloads under /{repo_id}/resolve/{rev}/{path}."""

    def __init__(self, store: HubStore):
        self.store = store

    def base(self, handler: _Handler) -> str:
        return f"http://{handler.headers.get('Host')}"

    def route(self, h: _Handler, method: str, parts: list[str], query: dict) -> bool:
        if parts[:1] == ["api"]:
            return self.api(h, method, parts[1:], query)
        # /{org}/{name}/resolve/{rev}/{path...}, /datasets/{org}/{name}/resolve/...
        repo_type = "model"
        if parts and parts[0] in ("datasets", "spaces"):
            repo_type, parts = REPO_TYPES[parts[0]], parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            self.resolve_file(h, repo_type, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
            return True
        return False

    # ---- /api

    def api(self, h: _Handler, method: str, parts: list[str], query: dict) -> bool:
        store = self.store
        if parts == ["whoami-v2"] and method == "GET":
            h._require_write()
            h._json(200, {"type": "user", "name": DEFAULT_USER, "fullname": "Test User", "orgs": [],
                          "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}})
            return True
        if parts == ["repos", "create"] and method == "POST":
            h._require_write()
            body = h._json_body()
            repo_type = body.get("type") or "model"
            repo_id = f"{body.get('organization') or DEFAULT_USER}/{body['name']}"
            private = bool(body.get("private")) or body.get("visibility") == "private"
            url = f"{self.base(h)}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
            try:
                store.create(repo_type, repo_id, private)
            except HubError as error:
                h._json(error.status, {"error": error.message, "url": url})
                return True
            h._json(200, {"url": url, "name": repo_id, "id": repo_id})
            return True
        if parts == ["validate-yaml"] and method == "POST":
            errors = validate_card_yaml(h._json_body().get("content") or "")
            h.server.validated_yaml += 1
            h._json(400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []})
            return True
        if len(parts) < 3 or parts[0] not in REPO_TYPES:
            return False
        repo_type, repo_id, rest = REPO_TYPES[parts[0]], f"{parts[1]}/{parts[2]}", parts[3:]
        repo = h._readable(store.get(repo_type, repo_id))
        with store.lock:
            if method == "GET" and (not rest or rest[0] == "revision"):
                commit = store.resolve(repo, rest[1] if len(rest) > 1 else "main")
                h._json(200, self.repo_info(repo, commit, blobs=query.get("blobs") in ("True", "true", "1")))
                return True
            if method == "GET" and rest == ["refs"]:
                h._json(200, self.refs(repo))
                return True
            if method == "GET" and rest[:1] == ["tree"] and len(rest) >= 2:
                commit = store.resolve(repo, rest[1])
                recursive = query.get("recursive") in ("True", "true", "1")
                h._json(200, self.tree(commit, "/".join(rest[2:]), recursive))
                return True
            if method == "POST" and rest[:1] == ["paths-info"] and len(rest) == 2:
                commit = store.resolve(repo, rest[1])
                body = h._json_body()
                wanted = body.get("paths") or []
                entries = [e for e in self.tree(commit, "", True) if e["path"] in wanted]
                h._json(200, entries)
                return True
            if method == "GET" and rest[:1] == ["commits"] and len(rest) == 2:
                h._json(200, self.history(repo, store.resolve(repo, rest[1])))
                return True
        if method == "POST" and rest[:1] == ["preupload"] and len(rest) == 2:
            h._require_write()
            commit = store.resolve(repo, rest[1]) if repo.resolve(rest[1]) else None
            files = h._json_body().get("files") or []
            h._json(200, {"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                 "oid": commit.tree.get(f["path"]) if commit else None}
                for f in files
            ]})
            return True
        if method == "POST" and rest[:1] == ["commit"] and len(rest) == 2:
            h._require_write()
            lines = [json.loads(line) for line in h._body().splitlines() if line.strip()]
            header = next((line["value"] for line in lines if line.get("key") == "header"), {})
            commit = store.commit(repo, rest[1], header, [line for line in lines if line.get("key") != "header"])
            base = f"{self.base(h)}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
            h._json(200, {"success": True, "commitOid": commit.sha, "commitUrl": f"{base}/commit/{commit.sha}",
                          "pullRequestUrl": None})
            return True
        if method == "POST" and rest[:1] in (["branch"], ["tag"]) and len(rest) == 2:
            h._require_write()
            body = h._json_body()
            if rest[0] == "branch":
                store.add_ref(repo, "branch", rest[1], body.get("startingPoint") or "main")
            else:
                store.add_ref(repo, "tag", body["tag"], rest[1])
            h._json(200, {})
            return True
        return False

    def repo_info(self, repo: Repo, commit: Commit, blobs: bool) -> dict:
        siblings = []
        for path, sha in sorted(commit.tree.items()):
            entry = {"rfilename": path}
            if blobs:
                entry.update(size=self.store.blob_path(sha).stat().st_size, blobId=sha)
            siblings.append(entry)
        return {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.sha,
            "lastModified": commit.date,
            "createdAt": repo.created,
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
        }

    def refs(self, repo: Repo) -> dict:
        def info(kind: str, name: str, sha: str) -> dict:
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": sha}

        return {
            "branches": [info("heads", n, s) for n, s in sorted(repo.branches.items())],
            "tags": [info("tags", n, s) for n, s in sorted(repo.tags.items())],
            "converts": [],
            "pullRequests": [],
        }

    def tree(self, commit: Commit, folder: str, recursive: bool) -> list[dict]:
        prefix = folder.strip("/") + "/" if folder.strip("/") else ""
        files, folders = [], set()
        for path, sha in sorted(commit.tree.items()):
            if not path.startswith(prefix):
                continue
            relative = path[len(prefix) :]
            pieces = relative.split("/")
            for depth in range(1, len(pieces)):
                if recursive or depth == 1:
                    folders.add(prefix + "/".join(pieces[:depth]))
            if recursive or len(pieces) == 1:
                files.append({"type": "file", "path": path, "oid": sha, "size": self.store.blob_path(sha).stat().st_size})
        if prefix and not files and not folders:
            raise HubError(404, f"{folder} not found", "EntryNotFound")
        dirs = [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0} for d in sorted(folders)]
        return dirs + files

    def history(self, repo: Repo, commit: Commit) -> list[dict]:
        out = []
        current: Commit | None = commit
        while current is not None:
            out.append({"id": current.sha, "title": current.title, "message": current.message,
                        "authors": [{"user": DEFAULT_USER}], "date": current.date})
            current = repo.commits.get(current.parent) if current.parent else None
        return out

    def resolve_file(self, h: _Handler, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo = h._readable(self.store.get(repo_type, repo_id))
        with self.store.lock:
            commit = self.store.resolve(repo, revision)
            sha = commit.tree.get(path)
        if sha is None:
            raise HubError(404, f"Entry not found: {path} at {revision}", "EntryNotFound")
        data_path = self.store.blob_path(sha)
        size = data_path.stat().st_size
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{sha}"', "Accept-Ranges": "bytes"}
        start, end, status = 0, size - 1, 200
        match = re.match(r"bytes=(\d+)-(\d*)$", h.headers.get("Range") or "")
        if match and h.command == "GET":
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        body = data_path.read_bytes()[start : end + 1] if h.command == "GET" else b""
        headers["_length"] = (end - start + 1) if size else 0
        h._send(status, body, headers, content_type="application/octet-stream")


def validate_card_yaml(content: str) -> list[str]:
    """The checks of `POST /api/validate-yaml` this server makes on a README's metadata."""
    if not content.startswith("---"):
        return []
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.DOTALL)
    if not match:
        return ["The metadata block (between --- lines) is not closed."]
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        return [f"Invalid YAML: {error}"]
    if data is None:
        return []
    if not isinstance(data, dict):
        return ["The metadata must be a YAML mapping."]
    errors = []
    tag = data.get("pipeline_tag")
    if tag is not None and tag not in PIPELINE_TAGS:
        errors.append(f'"pipeline_tag" must be an official task id, got {tag!r}')
    for key in ("tags", "datasets", "base_model", "metrics", "language"):
        value = data.get(key)
        if value is not None and not isinstance(value, (str, list)):
            errors.append(f'"{key}" must be a string or a list of strings')
    if "model-index" in data and not isinstance(data["model-index"], list):
        errors.append('"model-index" must be a list')
    return errors


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store: HubStore, token: str | None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = HubApp(store)
        self.token = token
        self.requests: list[tuple[str, str, int]] = []
        self.unknown: list[str] = []
        self.validated_yaml = 0
        self._record_lock = threading.Lock()

    def record(self, method: str, path: str, status: int) -> None:
        with self._record_lock:
            self.requests.append((method, path, status))


class HubServer:
    """Start/stop wrapper: `with HubServer(tmp) as hub: env = hub.env()`."""

    def __init__(self, root: str | Path, token: str | None = None):
        self.store = HubStore(Path(root))
        self.token = token
        self.http: HubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        assert self.http is not None, "server not started"
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def start(self) -> HubServer:
        self.http = HubHTTPServer(self.store, self.token)
        self._thread = threading.Thread(target=self.http.serve_forever, name="test-hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
            self._thread.join(timeout=5)
            self.http = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self, token: str | None = None) -> dict[str, str]:
        """Environment for a client subprocess: this endpoint, online, a token, no telemetry."""
        return {
            "HF_ENDPOINT": self.endpoint,
            "HF_HUB_OFFLINE": "0",
            "HF_TOKEN": token or self.token or "hf_test_token",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_ETAG_TIMEOUT": "30",
            "HF_HUB_DOWNLOAD_TIMEOUT": "60",
        }

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        return list(self.http.requests) if self.http else []

    @property
    def unknown(self) -> list[str]:
        return list(self.http.unknown) if self.http else []

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.store.get(repo_type, repo_id)


if __name__ == "__main__":
    import sys
    import tempfile

    root = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hub-server-")
    with HubServer(root) as hub:
        print(f"serving {root} at {hub.endpoint}; export HF_ENDPOINT={hub.endpoint}  (Ctrl-C to stop)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
