#!/usr/bin/env bash
# The whole SAP² pipeline on a laptop CPU, on a corpus synthesised with espeak-ng
# (the mini_an4 / yesno of sap2). Same code as egs/slidespeech from stage 1 on.
#
#   0  synthesise the corpus (espeak-ng): download/mini_slidespeech/{train,dev,test}
#   1  manifests and cuts with slide context: -> data/{manifests,cuts,<split>}
#   2  a tiny Qwen2-Audio (sentencepiece trained on data/train/text): -> exp/tiny_init
#   3  pretrain its audio encoder with CTC, to hear the sounds of words as the real
#      model's encoder does (local/pretrain_encoder.py; --ctc-steps 0 skips it)
#      -> exp/tiny_ctc
#   4  pretrain its language model on text, to copy words from its prompt as the real
#      model's LLM does (local/pretrain_lm.py; --lm-steps 0 skips it): -> exp/tiny_lm
#  10  train it on speech (sap2-train, every weight; the terms respelt per epoch from
#      the corpus's train/spelling_families) -> exp/<tag>/final
#  20  decode the test set: no context; full context (window 1); SAP² two-stage with
#      speech-driven pooling (window 2); the same with mean pooling; the same with
#      speech-driven pooling and the pruning pass constrained to context words
#  21  score (SlideSpeech protocol) with ../slidespeech/local/score.sh
#  22  does the model read its context? teacher-forced loss and term-piece accuracy with
#      the right, wrong and no keywords, windows 1 and 2 (local/context_use.py)
#      -> exp/<tag>/context_use_<set>.txt
#  30  RESULTS.md (the results table) and RESULTS.png
set -euo pipefail

stage=0
stop_stage=100
corpus_dir=$PWD/download/mini_slidespeech
seed=0
train_talks=120
test_talks=6
model_config=conf/model.yaml
train_config=conf/train.yaml
train_args=                 # extra sap2-train options, e.g. "--max-steps 20"
test_sets=test
num_slides=3                # slides of OCR context around the current one
exp_tag=
nj=2
train_threads=2             # torch threads of training (path.sh sets 1 for parallel jobs)
ctc_steps=2500              # encoder CTC pretraining steps of stage 3 (0: none)
lm_steps=1500               # text pretraining steps of stage 4 (0: no pretraining)

help_message=$(cat <<EOF2
Usage: $0 [options]
  --stage N / --stop-stage N   (default ${stage} / ${stop_stage})
  --corpus-dir DIR     synthesised corpus (default ${corpus_dir})
  --seed N             corpus seed (default ${seed})
  --train-talks N --test-talks N   corpus size (default ${train_talks}, ${test_talks})
  --model-config FILE  (default ${model_config});  --train-config FILE (default ${train_config})
  --train-args "..."   more sap2-train options
  --ctc-steps N        encoder CTC pretraining steps (default ${ctc_steps});  --lm-steps N text
                       pretraining steps (default ${lm_steps}); 0 skips the stage
  --num-slides N       slides of context (default ${num_slides});  --nj N decoding jobs
EOF2
)

. ./utils/log.sh
invocation="$0 $*"
log "${invocation}"
. ./utils/parse_options.sh
. ./path.sh
. ./cmd.sh

[ -n "${exp_tag}" ] || exp_tag=sap2_$(basename "${train_config}" .yaml)
exp_dir=exp/${exp_tag}

if [ "${stage}" -le 0 ] && [ "${stop_stage}" -ge 0 ]; then
  log "Stage 0: synthesise the corpus with espeak-ng -> ${corpus_dir}"
  if ! command -v espeak-ng > /dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
      apt-get update -qq && apt-get install -y -qq espeak-ng > /dev/null
    else
      log "espeak-ng is needed: install it (apt-get install espeak-ng, or brew install espeak-ng)"
      exit 1
    fi
  fi
  if [ -f "${corpus_dir}/.done" ]; then
    log "${corpus_dir} done, skipping"
  else
    python local/make_corpus.py --out "${corpus_dir}" --seed "${seed}" \
      --train-talks "${train_talks}" --test-talks "${test_talks}"
    touch "${corpus_dir}/.done"
  fi
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  log "Stage 1: manifests and cuts: ${corpus_dir} -> data/"
  sap2-prepare slidespeech "${corpus_dir}" data --parts train dev test --num-slides "${num_slides}" \
    --max-seconds 4
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
  log "Stage 2: tiny Qwen2-Audio (${model_config}) -> exp/tiny_init"
  python -m sap2.model.tiny --out exp/tiny_init --texts data/train/text --config "${model_config}"
fi

# Each pretraining stage starts from the model of the one before; stage 10 from the last.
init_dir=exp/tiny_init
if [ "${ctc_steps}" -gt 0 ]; then
  if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log "Stage 3: CTC pretraining of the audio encoder: ${init_dir} -> exp/tiny_ctc"
    OMP_NUM_THREADS=${train_threads} python local/pretrain_encoder.py --model-dir "${init_dir}" \
      --cuts data/cuts/train.jsonl.gz --valid-cuts data/cuts/dev.jsonl.gz --out exp/tiny_ctc \
      --steps "${ctc_steps}"
  fi
  init_dir=exp/tiny_ctc
fi
if [ "${lm_steps}" -gt 0 ]; then
  if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    log "Stage 4: text pretraining of the language model: ${init_dir} -> exp/tiny_lm"
    OMP_NUM_THREADS=${train_threads} python local/pretrain_lm.py --model-dir "${init_dir}" \
      --cuts data/cuts/train.jsonl.gz --out exp/tiny_lm --steps "${lm_steps}"
  fi
  init_dir=exp/tiny_lm
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
  log "Stage 10: training on speech from ${init_dir}: data/cuts/train.jsonl.gz -> ${exp_dir}"
  if [ ! -f "${corpus_dir}/train/spelling_families" ]; then
    log "${corpus_dir}/train/spelling_families is missing (a corpus of an older make_corpus.py): remove ${corpus_dir} and rerun from stage 0"
    exit 1
  fi
  mkdir -p "${exp_dir}"
  echo "cd $PWD && ${invocation} --stage 10 --stop-stage 10" > "${exp_dir}/run.sh"
  OMP_NUM_THREADS=${train_threads} utils/train.sh --ngpu 0 --cmd "${train_cmd}" "${exp_dir}" \
    --config "${train_config}" \
    --model-dir "${init_dir}" --train-cuts data/cuts/train.jsonl.gz \
    --spelling-families "${corpus_dir}/train/spelling_families" ${train_args}
fi

if [ "${stage}" -le 20 ] && [ "${stop_stage}" -ge 20 ]; then
  log "Stage 20: decoding the test set in five conditions -> ${exp_dir}/decode_*/"
  for split in ${test_sets}; do
    for condition in "no_context:no_context:speech:2:false" "full_context_w1:full_context:speech:1:false" \
                     "two_stage_speech_w2:two_stage:speech:2:false" "two_stage_mean_w2:two_stage:mean:2:false" \
                     "two_stage_speech_w2_constrained:two_stage:speech:2:true"; do
      IFS=: read -r tag mode pooling window constrained <<< "${condition}"
      utils/decode_split.sh --nj "${nj}" --cmd "${decode_cmd}" "data/cuts/${split}.jsonl.gz" \
        "${exp_dir}/decode_${tag}/${split}" --model-dir "${exp_dir}/final" --mode "${mode}" \
        --context-field context --sap-mode "${pooling}" --sap-window-size "${window}" \
        --constrain-keywords "${constrained}" --max-new-tokens 40 --max-duration 60
    done
  done
fi

if [ "${stage}" -le 21 ] && [ "${stop_stage}" -ge 21 ]; then
  log "Stage 21: scoring (SlideSpeech protocol): ${exp_dir}/decode_*/ -> scoring/"
  ../slidespeech/local/score.sh data "${exp_dir}"/decode_*/*/
fi

if [ "${stage}" -le 22 ] && [ "${stop_stage}" -ge 22 ]; then
  log "Stage 22: context use (teacher-forced loss): ${exp_dir}/final -> ${exp_dir}/context_use_<set>.txt"
  for split in ${test_sets}; do
    python local/context_use.py --model-dir "${exp_dir}/final" --cuts "data/cuts/${split}.jsonl.gz" \
      --out "${exp_dir}/context_use_${split}.txt" --windows 1 2
  done
fi

if [ "${stage}" -le 30 ] && [ "${stop_stage}" -ge 30 ]; then
  log "Stage 30: exp/*/decode_*/*/scoring -> RESULTS.md, RESULTS.png"
  utils/show_results.sh exp --out RESULTS.md --plot RESULTS.png --notes local/results_notes.md
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
