#!/usr/bin/env bash
# How much the encoder window costs: the same steps of stage 3 (CTC pretraining of the
# encoder) and stage 10 (sap2-train) with a tiny model of conf/model.yaml at two
# window lengths, timed in the same run (alternating, each twice), as ratios against
# the longer window. Every utterance of the corpus is at most 3.2 s long: the padding
# of a longer window is computed by the encoder and thrown away.
#
#   bash local/window_speed.sh                      # windows 6 and 4, 200 steps
#   bash local/window_speed.sh --windows "6 4" --steps 300
#
# Needs data/ (stages 0-1). Writes its models under ${work}; prints one table.
set -euo pipefail

windows="6 4"
steps=200
work=exp/window_speed
train_config=conf/train.yaml
help_message="Usage: $0 [--windows \"6 4\"] [--steps N] [--work DIR] [--train-config FILE]"

. ./utils/log.sh
. ./utils/parse_options.sh
. ./path.sh

[ -f data/cuts/train.jsonl.gz ] || { log "data/cuts/train.jsonl.gz is missing: run stages 0-1 first"; exit 1; }
mkdir -p "${work}"
declare -A seconds
for window in ${windows}; do
  sed "s/^window_seconds: .*/window_seconds: ${window}/" conf/model.yaml > "${work}/model_w${window}.yaml"
  python -m sap2.model.tiny --out "${work}/w${window}" --texts data/train/text \
    --config "${work}/model_w${window}.yaml" 2> "${work}/w${window}.log" \
    || { log "building the ${window} s model failed: see ${work}/w${window}.log"; exit 1; }
  seconds[ctc_${window}]=0
  seconds[train_${window}]=0
done

timed() {  # timed KEY COMMAND...: add the wall seconds of COMMAND to seconds[KEY]
  local key=$1 start
  shift
  start=$(date +%s.%N)
  OMP_NUM_THREADS=2 "$@" > "${work}/${key}.log" 2>&1 \
    || { log "${key} failed: see ${work}/${key}.log"; exit 1; }
  seconds[${key}]=$(echo "${seconds[${key}]} + $(date +%s.%N) - ${start}" | bc)
}

for round in 1 2; do
  for window in ${windows}; do
    log "round ${round}, window ${window} s: ${steps} steps of stage 3 and of stage 10"
    timed "ctc_${window}" python local/pretrain_encoder.py --model-dir "${work}/w${window}" \
      --cuts data/cuts/train.jsonl.gz --out "${work}/ctc_w${window}" --steps "${steps}"
    rm -rf "${work}/train_w${window}"
    timed "train_${window}" sap2-train --config "${train_config}" --model-dir "${work}/w${window}" \
      --train-cuts data/cuts/train.jsonl.gz --exp-dir "${work}/train_w${window}" \
      --max-steps "${steps}" --save-steps 100000 \
      --spelling-families download/mini_slidespeech/train/spelling_families
  done
done

base=${windows%% *}
printf "%-8s %-28s %-28s\n" window "stage 3: s (x faster)" "stage 10: s (x faster)"
for window in ${windows}; do
  printf "%-8s %-28s %-28s\n" "${window} s" \
    "$(echo "scale=1; ${seconds[ctc_${window}]} / 1" | bc) ($(echo "scale=2; ${seconds[ctc_${base}]} / ${seconds[ctc_${window}]}" | bc)x)" \
    "$(echo "scale=1; ${seconds[train_${window}]} / 1" | bc) ($(echo "scale=2; ${seconds[train_${base}]} / ${seconds[train_${window}]}" | bc)x)"
done
echo "(wall seconds of ${steps} steps, twice, start-up and loading included; $(env -u OMP_NUM_THREADS nproc) cores)"
