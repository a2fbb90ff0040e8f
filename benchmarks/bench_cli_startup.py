"""Start-up of the command line: `multimodal-sentiment --help`, whole process, against the same
command when the package registers with transformers at import (what every command, `--help`
included, paid before issue 13: the package imported torch and transformers' pipelines).

Each case is a fresh `python` process, timed from start to exit (interleaved rounds). The
"eager" case runs `import multimodal_sentiment; multimodal_sentiment.register()` before the
same `--help`: the old import path. The help process also reports whether torch or
transformers got imported.

    python benchmarks/bench_cli_startup.py [--tiny] [--repeats N]
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from common import goal, interleaved, make_parser, paired_ratio, parse, stats, write_result

HELP = "from multimodal_sentiment.cli import main; main(['--help'])"
EAGER = "import multimodal_sentiment; multimodal_sentiment.register(); " + HELP
HEAVY_CHECK = (
    "import json, sys; from multimodal_sentiment.cli import main; main(['--help']); "
    "print(json.dumps([m for m in ('torch', 'transformers') if m in sys.modules]))"
)
GOAL_SECONDS = 1.0


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = make_parser(__doc__.split("\n\n")[0], default_repeats=10)
    args = parse(parser, argv, apply_threads=False)
    repeats = 1 if args.tiny else args.repeats
    heavy = json.loads(_run(HEAVY_CHECK).strip().splitlines()[-1])
    times = interleaved({"help": lambda: _run(HELP), "eager": lambda: _run(EAGER)}, repeats, args.warmup)
    help_stats, eager_stats = stats(times["help"]), stats(times["eager"])
    return write_result(
        __file__,
        args,
        argv,
        title="Start-up: `multimodal-sentiment --help`, lazy vs eager registration",
        setup={
            "help process imports torch or transformers": heavy or "neither",
            "cases": "fresh `python -c` processes, whole-process wall time",
        },
        goal=goal("`--help` wall time (median, whole process)", help_stats["median"], "<=", GOAL_SECONDS, " s"),
        ratio=paired_ratio(times["eager"], times["help"]),
        table={
            "columns": ["case", "median s", "min s", "max s", "runs"],
            "rows": [
                ["`multimodal-sentiment --help` (lazy)", help_stats["median"], help_stats["min"], help_stats["max"], help_stats["n"]],
                ["same after eager registration (before)", eager_stats["median"], eager_stats["min"], eager_stats["max"], eager_stats["n"]],
            ],
        },
        notes=[
            "The ratio above is eager / lazy, per round.",
            "Reproduce by hand: `/usr/bin/time -f %e multimodal-sentiment --help` (several runs; quote the median).",
        ],
        times=times,
    )


if __name__ == "__main__":
    main()
