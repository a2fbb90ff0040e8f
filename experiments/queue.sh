#!/usr/bin/env bash
# The measured results: runs the jobs of experiments/queue.jobs one at a time (2 cores), first
# unfinished job first. A job line is `DATASET PRESET SEED [extra train args]`; DATASET is a
# folder of ../shared/data, optionally `name:label_column` (e.g. `msed:emotion`).
# Resumable: a job is finished when results.json exists in runs/ or was collected into
# experiments/results/; an unfinished one resumes from its last checkpoint.
# The job file is re-read after every run. Logs: runs/logs/<dataset>-<preset>-seed<N>.log.
#   mkdir -p runs && nohup nice -n 10 bash experiments/queue.sh >> runs/queue.log 2>&1 &
# PACKAGE_SRC=<folder with multimodal_sentiment/> runs the training from a frozen copy of the
# code (e.g. a `git worktree`), so edits in the working tree cannot reach a running job.
set -uo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
[[ -n "${PACKAGE_SRC:-}" ]] && export PYTHONPATH="$PACKAGE_SRC${PYTHONPATH:+:$PYTHONPATH}"
DATA_ROOT=${DATA_ROOT:-../shared/data}
JOBS=${JOBS:-experiments/queue.jobs}
mkdir -p runs/logs
# Linux autogroup scheduling shares the CPU fairly between sessions whatever their `nice`, so a
# test run started in another terminal halves the training's share. Raise this session's group
# (needs CAP_SYS_NICE; ignored without). QUEUE_AUTOGROUP_NICE=0 turns it off.
echo "${QUEUE_AUTOGROUP_NICE:--10}" > /proc/self/autogroup 2>/dev/null || true
COMMON=(--max_length 128 --per_device_train_batch_size 32 --train_sampling_strategy group_by_length
        --disable_tqdm true)

failed=" "
next_job() {  # prints the first job line that is neither finished nor failed in this queue
  local dataset preset seed rest
  while read -r dataset preset seed rest; do
    [[ -z "$dataset" || "$dataset" == \#* ]] && continue
    local name=${dataset/:/-}
    [[ -f "runs/$name/$preset/seed$seed/results.json" || -f "experiments/results/$name/$preset/seed$seed/results.json" ]] && continue
    [[ "$failed" == *" $name/$preset/$seed "* ]] && continue
    echo "$dataset $preset $seed $rest"; return
  done < "$JOBS"
}

# Let a run started elsewhere finish first (one run at a time on 2 cores).
while pgrep -f "multimodal-sentiment train" > /dev/null; do sleep 30; done

while job=$(next_job) && [[ -n "$job" ]]; do
  read -r dataset preset seed rest <<< "$job"
  name=${dataset/:/-}
  args=(--dataset "$DATA_ROOT/${dataset%%:*}")
  [[ "$dataset" == *:* ]] && args+=(--label_column "${dataset#*:}")
  # shellcheck disable=SC2206  # the extra arguments are whitespace-separated on purpose
  args+=($rest)
  echo "$(date -u +%FT%TZ) start $name $preset seed$seed"
  multimodal-sentiment train --preset "$preset" --seed "$seed" --output_dir "runs/$name/$preset/seed$seed" \
    "${COMMON[@]}" "${args[@]}" >> "runs/logs/$name-$preset-seed$seed.log" 2>&1
  rc=$?
  echo "$(date -u +%FT%TZ) end $name $preset seed$seed (exit $rc)"
  [[ $rc -ne 0 ]] && failed+="$name/$preset/$seed "
done
echo "$(date -u +%FT%TZ) queue empty"
