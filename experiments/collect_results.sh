#!/usr/bin/env bash
# Copy what finished runs measured (not their weights) from the ignored runs/ folder into the
# tracked experiments/results/, then regenerate docs/results.md from those files.
#   bash experiments/collect_results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
OUT=experiments/results
for results in runs/*/*/seed*/results.json; do
  [ -f "$results" ] || continue
  run=$(dirname "$results"); rel=${run#runs/}
  mkdir -p "$OUT/$rel"
  cp "$results" "$OUT/$rel/"
  for extra in training_record.json confusion_matrix.png calibration.json; do
    [ -f "$run/$extra" ] && cp "$run/$extra" "$OUT/$rel/"
  done
done
# Every dataset folder; the compare-* folders are `evaluate` outputs, not runs.
multimodal-sentiment report $(find "$OUT" -mindepth 1 -maxdepth 1 -type d ! -name "compare-*" | sort) --output docs/results.md
