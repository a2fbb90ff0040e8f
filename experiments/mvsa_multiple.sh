#!/usr/bin/env bash
# The measured results on MVSA-Multiple (CLMLF split): runs the jobs of
# experiments/mvsa_multiple.jobs one at a time (2 cores), first unfinished job first.
# Resumable: a job is finished when results.json exists in runs/ or was collected into
# experiments/results/; an unfinished one resumes from its last checkpoint.
# The job file is re-read after every run. Logs: runs/logs/<preset>-seed<N>.log.
#   nohup bash experiments/mvsa_multiple.sh >> runs/queue.log 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
DATA=${DATA:-../shared/data/mvsa-multiple}
RUNS=${RUNS:-runs/mvsa-multiple}
JOBS=${JOBS:-experiments/mvsa_multiple.jobs}
COLLECTED=experiments/results/mvsa-multiple
mkdir -p "$RUNS" runs/logs
COMMON=(--dataset "$DATA" --max_length 128 --per_device_train_batch_size 32
        --train_sampling_strategy group_by_length --disable_tqdm true)
# @steps: checkpoint (and validate) every 213 steps, half an epoch, so a killed run loses little.
STEPS=(--eval_strategy steps --save_strategy steps --eval_steps 213 --save_steps 213)

failed=" "
next_job() {  # prints the first job line that is neither finished nor failed in this queue
  local preset seed rest
  while read -r preset seed rest; do
    [[ -z "$preset" || "$preset" == \#* ]] && continue
    [[ -f "$RUNS/$preset/seed$seed/results.json" || -f "$COLLECTED/$preset/seed$seed/results.json" ]] && continue
    [[ "$failed" == *" $preset/$seed "* ]] && continue
    echo "$preset $seed $rest"; return
  done < "$JOBS"
}

# Let a run started elsewhere finish first (one run at a time on 2 cores).
while pgrep -f "multimodal-sentiment train" > /dev/null; do sleep 30; done

while job=$(next_job) && [[ -n "$job" ]]; do
  read -r preset seed rest <<< "$job"
  args=()
  for a in $rest; do if [[ "$a" == @steps ]]; then args+=("${STEPS[@]}"); else args+=("$a"); fi; done
  echo "$(date -u +%FT%TZ) start $preset seed$seed"
  multimodal-sentiment train --preset "$preset" --seed "$seed" --output_dir "$RUNS/$preset/seed$seed" \
    "${COMMON[@]}" "${args[@]}" >> "runs/logs/$preset-seed$seed.log" 2>&1
  rc=$?
  echo "$(date -u +%FT%TZ) end $preset seed$seed (exit $rc)"
  [[ $rc -ne 0 ]] && failed+="$preset/$seed "
done
echo "$(date -u +%FT%TZ) queue empty"
