#!/usr/bin/env bash
# The publishable flagship checkpoint (issue 12): calibrate every finished era-mpnet and
# text-only-mpnet seed on the validation split (temperature plus the macro-F1 class offsets, the
# recipe of the embedded default), then export the era-mpnet seed that was best ON VALIDATION (its
# kept checkpoint's weighted F1 in training_record.json; the test split plays no part in the
# choice) with a model card whose metrics are the results files of all its seeds, beside those of
# text-only-mpnet (the baseline: same encoder and recipe, post text only). The weights stay out of git.
#   bash experiments/flagship.sh            # -> runs/flagship/era-mpnet-mvsa (push it with `push`)
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export HF_HUB_OFFLINE=1
DATA=${DATA:-../shared/data/mvsa-multiple}
RUNS=runs/mvsa-multiple/era-mpnet
OUT=${OUT:-runs/flagship/era-mpnet-mvsa}
# Its text-only baseline is calibrated the same way, so "ERA minus text-only" compares one recipe.
for run in runs/mvsa-multiple/text-only-mpnet/seed* "$RUNS"/seed*; do
  [[ -f "$run/results.json" && ! -f "$run/calibration.json" ]] || continue
  multimodal-sentiment calibrate "$run" --dataset "$DATA" --class_bias macro_f1
done
seeds=()
for run in "$RUNS"/seed*; do
  if [[ -f "$run/results.json" ]]; then seeds+=("$run"); fi
done
(( ${#seeds[@]} )) || { echo "flagship: no finished run under $RUNS (run experiments/queue.sh first)" >&2; exit 1; }
best=$(python - "${seeds[@]}" <<'PY'
import json, sys
from multimodal_sentiment.evaluation.report import best_validation
from pathlib import Path
scores = {run: (best_validation(Path(run) / "results.json") or {}).get("f1_weighted", -1) for run in sys.argv[1:]}
print(max(scores, key=scores.get))
PY
)
echo "flagship: exporting $best (best weighted F1 on validation of ${#seeds[@]} seeds)"
results=(); for run in "${seeds[@]}"; do results+=(--results "$run/results.json"); done
# The card also shows the flagship minus its text-only baseline, seed by seed: what the image adds.
for run in runs/mvsa-multiple/text-only-mpnet/seed*; do
  if [[ -f "$run/results.json" ]]; then results+=(--baseline-results "$run/results.json"); fi
done
multimodal-sentiment export "$best" "$OUT" --overwrite "${results[@]}" --dataset mvsa-multiple \
  --language en --repo_id multimodal-sentiment/era-mpnet-mvsa
bash experiments/collect_results.sh
