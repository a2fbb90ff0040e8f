#!/usr/bin/env bash
# The measured results on MVSA-Multiple (CLMLF split), in priority order, one run at a time.
# Resumable: re-running skips finished runs (results.json exists) and resumes unfinished ones
# from their last checkpoint. Logs: runs/logs/<preset>-seed<N>.log.
#   nohup bash experiments/mvsa_multiple.sh > runs/queue.log 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
DATA=${DATA:-../shared/data/mvsa-multiple}
RUNS=${RUNS:-runs/mvsa-multiple}
mkdir -p "$RUNS" runs/logs
COMMON=(--dataset "$DATA" --max_length 128 --per_device_train_batch_size 32
        --train_sampling_strategy group_by_length --disable_tqdm true)

run() {  # run PRESET SEED [extra args...]
  local preset=$1 seed=$2; shift 2
  echo "$(date -u +%FT%TZ) start $preset seed$seed"
  multimodal-sentiment train --preset "$preset" --seed "$seed" --output_dir "$RUNS/$preset/seed$seed" \
    "${COMMON[@]}" "$@" >> "runs/logs/$preset-seed$seed.log" 2>&1
  echo "$(date -u +%FT%TZ) end $preset seed$seed (exit $?)"
}

# The embedded default: frozen MiniLM, only selector + head train (fast; lr for a head).
run era-compact 1 --learning_rate 1e-3 --num_train_epochs 2
for seed in 1 2 3; do
  run text-only "$seed" --learning_rate 5e-5 --num_train_epochs 3
  run era-caption-ocr "$seed" --learning_rate 5e-5 --num_train_epochs 3
done
for preset in era-caption era-no-topk era-no-uniformity misr; do
  run "$preset" 1 --learning_rate 5e-5 --num_train_epochs 3
done
for seed in 2 3; do run misr "$seed" --learning_rate 5e-5 --num_train_epochs 3; done
