#!/usr/bin/env bash
# SAP² on LibriSpeech with the is21 biasing lists (N = 0, 100, 500, 1000, 2000 distractors).
#
# bash run.sh --help lists the stages (--stage N --stop-stage M runs N..M) and options.
set -euo pipefail

stage=0
stop_stage=100
dl_dir=$PWD/download        # LibriSpeech is downloaded to (or found in) ${dl_dir}/LibriSpeech
words_dir=                  # is21 word lists; empty: ${dl_dir}/is21_words (downloaded)
train_parts="train-clean-100 train-clean-360 train-other-500"
test_parts="test-clean test-other"
num_distractors="0 100 500 1000 2000"
seed=0                      # seed of the biasing lists
skip_bad=false              # true: leave out utterances with missing or unreadable audio
model_dir=download/Qwen2-Audio-7B-Instruct  # local base model folder
train_config=conf/train.yaml
train_args=                 # extra sap2-train options, e.g. "--max-steps 100"
ngpu=1                      # GPUs for training (> 1: torchrun); 0: CPU
nnodes=1                    # training nodes; on each: --node-rank R --master-addr HOST
node_rank=0
master_addr=localhost
exp_tag=                    # default: sap2_<train config name>
decode_conditions="two_stage full_context no_context"   # conf/decode/<cond>.yaml
nj=1                        # decoding jobs (each on one GPU with ngpu > 0)
nonspeech_num=50            # test cuts copied as silence and as noise (negative controls)

help_message=$(cat <<EOF2
Usage: $0 [options]
Stages (--stage N --stop-stage M runs N..M):
   0  download LibriSpeech and the is21 word lists, unless present
   1  lhotse manifests, cuts and Kaldi text -> data/
   2  common words of the training transcripts -> data/lang/
   5  biasing lists (N = --num-distractors) and non-speech controls -> data/context, data/cuts
   6  training cuts of all train parts -> data/cuts/train.jsonl.gz
  10  LoRA training (sap2-train) -> exp/<tag>/final
  20  decoding: conf/decode/<cond>.yaml x test sets x N, and the controls -> exp/<tag>/decode_*
  21  scoring (is21 protocol, pruning, false alarms) -> exp/<tag>/decode_*/*/scoring
  30  RESULTS.md and RESULTS_bwer.png
Options:
  --stage N            first stage (default ${stage})
  --stop-stage N       last stage (default ${stop_stage})
  --dl-dir DIR         where LibriSpeech is downloaded or found (default ${dl_dir})
  --words-dir DIR      local copy of the is21 word lists (default: download them)
  --train-parts "..."  (default "${train_parts}")
  --test-parts "..."   (default "${test_parts}")
  --num-distractors "..."  biasing list sizes (default "${num_distractors}")
  --seed N             seed of the biasing lists (default ${seed})
  --skip-bad true|false  leave out bad utterances instead of failing (default ${skip_bad})
  --model-dir DIR      Qwen2-Audio-7B-Instruct folder (default ${model_dir})
  --train-config FILE  (default ${train_config});  --train-args "..." more sap2-train options
  --ngpu N             training GPUs, torchrun when > 1 (default ${ngpu})
  --nnodes N --node-rank R --master-addr HOST   multi-node training (run on every node)
  --exp-tag TAG        (default sap2_<config name>)
  --decode-conditions "..."  conf/decode/<cond>.yaml to decode (default "${decode_conditions}")
  --nj N               decoding jobs (default ${nj})
  --nonspeech-num N    test cuts copied as silence and as noise (default ${nonspeech_num})
EOF2
)

. ./utils/log.sh
invocation="$0 $*"
log "${invocation}"
. ./utils/parse_options.sh
. ./path.sh
. ./cmd.sh

[ -n "${words_dir}" ] || words_dir=${dl_dir}/is21_words
[ -n "${exp_tag}" ] || exp_tag=sap2_$(basename "${train_config}" .yaml)
exp_dir=exp/${exp_tag}

word_lists() {  # sets common and pool: the is21 word lists where present, else stage 2's
  if [ -f "${words_dir}/common_words_5k.txt" ] && [ -f "${words_dir}/all_rare_words.txt" ]; then
    common=${words_dir}/common_words_5k.txt; pool=${words_dir}/all_rare_words.txt
  else
    common=data/lang/common_words_5k.txt; pool=data/lang/rare_words.txt
    log "no is21 word lists in ${words_dir}: using those of stage 2 (data/lang)"
  fi
  log "common words: ${common}; rare-word pool: ${pool}"
}

if [ "${stage}" -le 0 ] && [ "${stop_stage}" -ge 0 ]; then
  log "Stage 0: download LibriSpeech and the is21 word lists -> ${dl_dir}"
  python local/download.py --dl-dir "${dl_dir}" --words-dir "${words_dir}" \
    --parts ${train_parts} ${test_parts}
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  log "Stage 1: manifests and cuts: ${dl_dir}/LibriSpeech -> data/{manifests,cuts}"
  if [ "${skip_bad}" = true ]; then bad_opt=--skip-bad; else bad_opt=; fi
  for part in ${train_parts} ${test_parts}; do
    if [ -f "data/cuts/.${part}.done" ]; then log "data/cuts/${part}.jsonl.gz done, skipping"; continue; fi
    sap2-prepare librispeech "${dl_dir}/LibriSpeech" data --parts "${part}" ${bad_opt}
    touch "data/cuts/.${part}.done"
  done
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
  log "Stage 2: common words of the training transcripts -> data/lang/common_words_5k.txt"
  texts=""
  for part in ${train_parts}; do texts="${texts} data/${part}/text"; done
  sap2-common-words --text ${texts} --top 5000 \
    --out data/lang/common_words_5k.txt --rest-out data/lang/rare_words.txt
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
  log "Stage 5: biasing lists (N = ${num_distractors}): data/<test>/text -> data/context/"
  word_lists
  for part in ${test_parts}; do
    sap2-biasing-lists --ref "data/${part}/text" --common-words "${common}" --rare-words "${pool}" \
      --num-distractors ${num_distractors} --seed "${seed}" \
      --out "data/context/${part}.biasing_{N}.tsv" --cuts "data/cuts/${part}.jsonl.gz"
  done
  log "Stage 5: rare words of the training cuts: data/<train>/text -> data/cuts/<train>.jsonl.gz"
  for part in ${train_parts}; do
    sap2-biasing-lists --ref "data/${part}/text" --common-words "${common}" --rare-words "${pool}" \
      --num-distractors 0 --out "data/context/${part}.rare.tsv" --cuts "data/cuts/${part}.jsonl.gz"
  done
  log "Stage 5: non-speech controls: data/cuts/<test> -> data/cuts/<test>_nonspeech.jsonl.gz"
  for part in ${test_parts}; do
    sap2-nonspeech-cuts --cuts "data/cuts/${part}.jsonl.gz" --data-dir data \
      --part "${part}_nonspeech" --num "${nonspeech_num}" --seed "${seed}"
  done
fi

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
  log "Stage 6: training cuts: data/cuts/{${train_parts// /,}}.jsonl.gz -> data/cuts/train.jsonl.gz"
  parts=""
  for part in ${train_parts}; do parts="${parts} data/cuts/${part}.jsonl.gz"; done
  sap2-combine-cuts --out data/cuts/train.jsonl.gz ${parts}
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
  log "Stage 10: training: data/cuts/train.jsonl.gz -> ${exp_dir} (log: ${exp_dir}/log/train.log)"
  word_lists   # the training lists draw their distractors from the pool
  mkdir -p "${exp_dir}"
  echo "cd $PWD && ${invocation} --stage 10 --stop-stage 10" > "${exp_dir}/run.sh"
  utils/train.sh --ngpu "${ngpu}" --nnodes "${nnodes}" --node-rank "${node_rank}" \
    --master-addr "${master_addr}" --cmd "${cuda_cmd}" "${exp_dir}" --config "${train_config}" \
    --model-dir "${model_dir}" --train-cuts data/cuts/train.jsonl.gz --rare-word-pool "${pool}" ${train_args}
fi

if [ "${stage}" -le 20 ] && [ "${stop_stage}" -ge 20 ]; then
  largest=${num_distractors##* }
  log "Stage 20: decoding (conf/decode/{${decode_conditions// /,}}.yaml; controls at N=${largest}): data/cuts/<test> -> ${exp_dir}/decode_*/"
  decode_gpu=0
  [ "${ngpu}" -gt 0 ] && decode_gpu=1
  decode() {  # decode CONDITION CUTS OUT_DIR [sap2-decode options]
    local config=conf/decode/$1.yaml cuts=$2 dir=$3
    shift 3
    utils/decode_split.sh --nj "${nj}" --cmd "${decode_cmd}" --gpu "${decode_gpu}" "${cuts}" "${dir}" \
      --config "${config}" --model-dir "${model_dir}" --adapter "${exp_dir}/final" "$@"
  }
  for cond in ${decode_conditions}; do   # every condition file, before the first decode
    [ -f "conf/decode/${cond}.yaml" ] || { log "conf/decode/${cond}.yaml not found"; exit 1; }
  done
  for cond in ${decode_conditions}; do
    if grep -q '^mode: *no_context' "conf/decode/${cond}.yaml"; then
      log "${cond}: mode no_context, decoded once (no list)"
      for part in ${test_parts}; do
        decode "${cond}" "data/cuts/${part}.jsonl.gz" "${exp_dir}/decode_${cond}/${part}"
      done
      continue
    fi
    log "${cond}: one decode per list size N = ${num_distractors}"
    for part in ${test_parts}; do
      for n in ${num_distractors}; do
        decode "${cond}" "data/cuts/${part}.jsonl.gz" "${exp_dir}/decode_${cond}_N${n}/${part}" \
          --context-field "biasing_list_${n}"
      done
      # Negative controls: the distractors alone, and the full list on silence and noise.
      decode "${cond}" "data/cuts/${part}.jsonl.gz" "${exp_dir}/decode_${cond}_distractors_N${largest}/${part}" \
        --context-field "distractors_${largest}"
      decode "${cond}" "data/cuts/${part}_nonspeech.jsonl.gz" "${exp_dir}/decode_${cond}_N${largest}/${part}_nonspeech" \
        --context-field "biasing_list_${largest}"
    done
  done
fi

if [ "${stage}" -le 21 ] && [ "${stop_stage}" -ge 21 ]; then
  log "Stage 21: scoring (is21 protocol, false alarms against context.txt): ${exp_dir}/decode_*/<test>/hyp.txt -> scoring/"
  first_n=${num_distractors%% *}
  for dir in "${exp_dir}"/decode_*/*/; do
    dir=${dir%/}
    part=$(basename "${dir}")
    if [ "${part}" != "${part%_nonspeech}" ]; then   # empty references, nothing biased
      ref=(--ref "data/${part}/text" --biased-words "data/${part}/keywords")
    else   # columns 1-3 of the lists are the same for every N
      ref=(--ref "data/context/${part}.biasing_${first_n}.tsv")
    fi
    extra=()
    [ -f "${dir}/keywords.txt" ] && extra+=(--pruned-keywords "${dir}/keywords.txt")
    [ -f "${dir}/context.txt" ] && extra+=(--context "${dir}/context.txt" --context-format keywords)
    mkdir -p "${dir}/scoring"
    sap2-score --protocol is21 "${ref[@]}" --hyp "${dir}/hyp.txt" "${extra[@]}" \
      --json "${dir}/scoring/wer.json" --details "${dir}/scoring/details" \
      > "${dir}/scoring/wer.txt"
    log "${dir}: $(head -3 "${dir}/scoring/wer.txt" | cut -d, -f1 | tr '\n' ' ')"
  done
fi

if [ "${stage}" -le 30 ] && [ "${stop_stage}" -ge 30 ]; then
  log "Stage 30: exp/*/decode_*/*/scoring -> RESULTS.md, RESULTS_bwer.png"
  utils/show_results.sh exp --out RESULTS.md --plot RESULTS_bwer.png
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
