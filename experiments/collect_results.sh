#!/usr/bin/env bash
# Copy what finished runs measured (not their weights) from the ignored runs/ folder into the
# tracked experiments/results/, then regenerate docs/results.md from those files.
#   bash experiments/collect_results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
RUNS=${RUNS:-runs/mvsa-multiple}
OUT=experiments/results/mvsa-multiple
for results in "$RUNS"/*/seed*/results.json; do
  [ -f "$results" ] || continue
  run=$(dirname "$results"); rel=${run#"$RUNS"/}
  mkdir -p "$OUT/$rel"
  cp "$results" "$OUT/$rel/"
  for extra in training_record.json confusion_matrix.png; do
    [ -f "$run/$extra" ] && cp "$run/$extra" "$OUT/$rel/"
  done
done
multimodal-sentiment report "$OUT" --dataset mvsa-multiple --output docs/results.md
