"""The skip policy (tests/skip_policy.py): under CI a run fails on a broken install or on a skip no
registered reason allows; outside CI it only reports. Each case runs pytest on a small generated
test folder in a subprocess, with the real policy module and a stand-in ../shared/data."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent

CONFTEST = """
import sys
from pathlib import Path
sys.path.insert(0, {tests_dir!r})
import skip_policy
from skip_policy import (  # noqa: F401
    pytest_collection_finish, pytest_collectreport, pytest_configure, pytest_runtest_logreport,
    pytest_runtest_makereport, pytest_sessionfinish, pytest_terminal_summary,
)
skip_policy.SHARED_DATA = Path({shared!r})
skip_policy.REQUIRED_MODULES = skip_policy.REQUIRED_MODULES + tuple({extra_required!r})
"""

CASES = {
    "passing": "def test_ok():\n    assert True\n",
    "unregistered": "import pytest\n\ndef test_hidden():\n    pytest.importorskip('no_such_package_xyz')\n",
    "real_data": (
        "import pytest\n\n@pytest.mark.real_data\ndef test_real():\n"
        "    pytest.skip('real data not found at /nowhere (a fresh clone has none)')\n"
    ),
    "real_data_unmarked": "import pytest\n\ndef test_real():\n    pytest.skip('real data not found at /nowhere')\n",
    "optional": (
        "from skip_policy import optional_module, skip_optional\n\n"
        "def test_gradio():\n    optional_module('no_such_gradio_xyz', 'serve')\n\n"
        "def test_browser():\n    skip_optional('chromium', 'apt-get install chromium')\n"
    ),
    "required": "from skip_policy import required_module\n\ndef test_needs():\n    required_module('no_such_extra_xyz', 'offline')\n",
}


def _run(tmp_path: Path, case: str, ci: bool, data_present: bool = False, extra_required=()) -> tuple[int, str]:
    folder = tmp_path / case
    folder.mkdir(parents=True)
    shared = tmp_path / "shared-data"
    if data_present:
        shared.mkdir()
    (folder / "conftest.py").write_text(
        CONFTEST.format(tests_dir=str(TESTS_DIR), shared=str(shared), extra_required=list(extra_required))
    )
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    real_data: reads ../shared/data\n")
    (folder / f"test_{case}.py").write_text(textwrap.dedent(CASES[case]))
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MS_STRICT_SKIPS", "PYTEST_ADDOPTS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # hermetic and quicker: no installed plugins
    if ci:
        env["CI"] = "true"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    "case, data_present, ci_code, summary",
    [
        ("passing", False, 0, "0 skipped (none)"),
        ("real_data", False, 0, "1 skipped (real-data 1); 1 selected tests marked real_data; ../shared/data absent"),
        ("optional", False, 0, "2 skipped (optional 2)"),
        ("unregistered", False, 1, "1 skipped (unregistered 1)"),
        ("real_data", True, 1, "1 skipped (real-data 1)"),
        ("real_data_unmarked", False, 1, "1 skipped (real-data 1); 0 selected tests marked real_data"),
    ],
    ids=["no-skips", "real-data-absent", "optional", "unregistered", "real-data-present", "real-data-unmarked"],
)
def test_ci_allows_only_registered_skips(tmp_path, case, data_present, ci_code, summary):
    code, output = _run(tmp_path, case, ci=True, data_present=data_present)
    assert code == ci_code, output
    assert f"skip policy, strict (CI): {summary}" in output, output
    assert ("skip policy FAILED: " in output) == bool(ci_code)
    if ci_code:  # outside CI the same skips only warn
        lenient_code, lenient = _run(tmp_path / "lenient", case, ci=False, data_present=data_present)
        assert lenient_code == 0 and "skip policy warning: " in lenient, lenient


def test_the_messages_name_the_problem(tmp_path):
    _, output = _run(tmp_path / "a", "unregistered", ci=True)
    assert "skipped for a reason no class allows: \"could not import 'no_such_package_xyz'" in output
    _, output = _run(tmp_path / "b", "real_data", ci=True, data_present=True)
    assert "skipped as if real data were absent, but" in output
    _, output = _run(tmp_path / "c", "real_data_unmarked", ci=True)
    assert "a real-data skip from a test not marked `real_data`" in output


def test_ci_refuses_to_start_without_a_required_part(tmp_path):
    code, output = _run(tmp_path, "passing", ci=True, extra_required=[("no_such_extra_xyz", "offline")])
    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "CI: the install is broken" in output
    assert "no_such_extra_xyz (the `offline` extra) is not installed" in output and "make setup" in output
    assert _run(tmp_path / "lenient", "passing", ci=False, extra_required=[("no_such_extra_xyz", "offline")])[0] == 0


def test_a_missing_required_package_fails_the_test_instead_of_skipping(tmp_path):
    code, output = _run(tmp_path, "required", ci=False)
    assert code == 1 and "1 failed" in output and "skipped" not in output.split("skip policy")[0]
    assert "no_such_extra_xyz is not installed: the test suite needs the `offline` extra" in output
    assert "pip install -e '.[offline,dev]'" in output


def test_this_suite_has_its_required_parts():
    import skip_policy

    assert skip_policy.missing_required_parts() == []
