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
# Checkpoint (and validate) every 213 steps, half an epoch, so a killed run loses little.
COMMON=(--dataset "$DATA" --max_length 128 --per_device_train_batch_size 32
        --train_sampling_strategy group_by_length --disable_tqdm true)
STEPS=(--eval_strategy steps --save_strategy steps --eval_steps 213 --save_steps 213)

run() {  # run PRESET SEED [extra args...]
  local preset=$1 seed=$2; shift 2
  echo "$(date -u +%FT%TZ) start $preset seed$seed"
  multimodal-sentiment train --preset "$preset" --seed "$seed" --output_dir "$RUNS/$preset/seed$seed" \
    "${COMMON[@]}" "$@" >> "runs/logs/$preset-seed$seed.log" 2>&1
  local rc=$?
  echo "$(date -u +%FT%TZ) end $preset seed$seed (exit $rc)"
}

# Let a run started by an earlier queue finish first (one run at a time on 2 cores).
while pgrep -f "multimodal-sentiment train" > /dev/null; do sleep 30; done

# The embedded default: frozen MiniLM, only selector + head train (fast; lr for a head).
run era-compact 1 --learning_rate 1e-3 --num_train_epochs 2
for seed in 1 2 3; do
  run era-caption-ocr "$seed" --learning_rate 5e-5 --num_train_epochs 3 "${STEPS[@]}"
  run text-only "$seed" --learning_rate 5e-5 --num_train_epochs 3 "${STEPS[@]}"
done
for preset in era-caption era-no-topk era-no-uniformity misr; do
  run "$preset" 1 --learning_rate 5e-5 --num_train_epochs 3 "${STEPS[@]}"
done
for seed in 2 3; do run misr "$seed" --learning_rate 5e-5 --num_train_epochs 3 "${STEPS[@]}"; done
