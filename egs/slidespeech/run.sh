#!/usr/bin/env bash
# SAP² on SlideSpeech: slide OCR as long context, pruned to keywords, then integrated.
#
# bash run.sh --help lists the stages (--stage N --stop-stage M runs N..M) and options.
set -euo pipefail

stage=0
stop_stage=100
corpus_dir=$PWD/download/SlideSpeech  # holds <split>/wav/<category>/<video>.wav and text files
splits="train dev test"
num_slides=5                # slides of OCR context around the current one (paper: 5)
common_words=               # optional word list never used as context keywords
max_context_words=0         # cap on the context keywords of an utterance (0: none)
swift_task=transcribe_context  # prompt of the ms-swift export: transcribe_context, prune, ...
skip_bad=false              # true: leave out bad utterances instead of failing
model_dir=download/Qwen2-Audio-7B-Instruct  # local base model folder
train_config=conf/train.yaml
train_args=                 # extra sap2-train options, e.g. "--max-steps 100"
train_set=train
test_sets="dev test"
ngpu=1                      # GPUs for training (> 1: torchrun); 0: CPU
nnodes=1                    # training nodes; on each: --node-rank R --master-addr HOST
node_rank=0
master_addr=localhost
exp_tag=                    # default: sap2_<train config name>
decode_conditions=          # conf/decode/<cond>.yaml to decode; empty: all of them
nj=1                        # decoding jobs
nonspeech_num=50            # test cuts copied as silence and as noise (negative controls)

help_message=$(cat <<EOF2
Usage: $0 [options]
Stages (--stage N --stop-stage M runs N..M):
   0  check the corpus layout (SlideSpeech cannot be downloaded by a script)
   1  lhotse manifests and cuts with slide context, non-speech controls -> data/
   6  ms-swift JSON of the authors' format, for comparison -> data/swift/
  10  LoRA training (sap2-train) -> exp/<tag>/final
  20  decoding: conf/decode/<cond>.yaml x test sets and their non-speech controls
      -> exp/<tag>/decode_<cond>/<set>
  21  scoring (SlideSpeech protocol, keywords, sessions, pruning, false alarms) -> .../scoring
  30  RESULTS.md and RESULTS.png
Options:
  --stage N              first stage (default ${stage})
  --stop-stage N         last stage (default ${stop_stage})
  --corpus-dir DIR       SlideSpeech folder (default ${corpus_dir})
  --splits "..."         (default "${splits}")
  --num-slides N         slides in the OCR context window (default ${num_slides})
  --common-words FILE    words never used as keywords (default: none)
  --max-context-words N  cap on context keywords (default ${max_context_words}: none)
  --swift-task TASK      prompt of the ms-swift JSON export (default ${swift_task})
  --skip-bad true|false  leave out bad utterances (default ${skip_bad})
  --model-dir DIR        Qwen2-Audio-7B-Instruct folder (default ${model_dir})
  --train-config FILE    (default ${train_config});  --train-args "..." more sap2-train options
  --train-set S --test-sets "..."  (default ${train_set}; "${test_sets}")
  --ngpu N               training GPUs, torchrun when > 1 (default ${ngpu})
  --nnodes N --node-rank R --master-addr HOST   multi-node training (run on every node)
  --exp-tag TAG          (default sap2_<config name>)
  --decode-conditions "..."  conf/decode/<cond>.yaml to decode (default: all of them)
  --nj N                 decoding jobs (default ${nj})
  --nonspeech-num N      test cuts copied as silence and as noise (default ${nonspeech_num})
Each split's files are read from \${corpus_dir}/<split>/{segments,text,keywords,slides};
see sap2/data/slidespeech.py for their formats.
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
  log "Stage 0: check the SlideSpeech layout in ${corpus_dir}"
  local/check_corpus.sh "${corpus_dir}" ${splits}
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  log "Stage 1: manifests and cuts: ${corpus_dir} -> data/{manifests,cuts,<split>}"
  prepare_opts=()
  [ "${skip_bad}" = true ] && prepare_opts+=(--skip-bad)
  [ -n "${common_words}" ] && prepare_opts+=(--common-words "${common_words}")
  log "OCR keywords: ${num_slides} slides of context, at most ${max_context_words} words (0: no cap), common words: ${common_words:-none}"
  for split in ${splits}; do
    if [ -f "data/cuts/.${split}.done" ]; then log "data/cuts/${split}.jsonl.gz done, skipping"; continue; fi
    sap2-prepare slidespeech "${corpus_dir}" data --parts "${split}" \
      --num-slides "${num_slides}" --max-context-words "${max_context_words}" "${prepare_opts[@]}"
    touch "data/cuts/.${split}.done"
  done
  for split in ${splits}; do   # the test sets among the prepared splits
    case " ${test_sets} " in *" ${split} "*) ;; *) continue ;; esac
    sap2-nonspeech-cuts --cuts "data/cuts/${split}.jsonl.gz" --data-dir data \
      --part "${split}_nonspeech" --num "${nonspeech_num}"
  done
fi

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
  log "Stage 6: ms-swift JSON (${swift_task}): data/cuts/<split>.jsonl.gz -> data/swift/<split>.json"
  for split in ${splits}; do
    sap2-swift-json export --cuts "data/cuts/${split}.jsonl.gz" --task "${swift_task}" \
      --audio-dir "data/swift/wav/${split}" --out "data/swift/${split}.json"
  done
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
  log "Stage 10: training: data/cuts/${train_set}.jsonl.gz -> ${exp_dir} (log: ${exp_dir}/log/train.log)"
  mkdir -p "${exp_dir}"
  echo "cd $PWD && ${invocation} --stage 10 --stop-stage 10" > "${exp_dir}/run.sh"
  utils/train.sh --ngpu "${ngpu}" --nnodes "${nnodes}" --node-rank "${node_rank}" \
    --master-addr "${master_addr}" --cmd "${cuda_cmd}" "${exp_dir}" --config "${train_config}" \
    --model-dir "${model_dir}" --train-cuts "data/cuts/${train_set}.jsonl.gz" ${train_args}
fi

if [ "${stage}" -le 20 ] && [ "${stop_stage}" -ge 20 ]; then
  if [ -z "${decode_conditions}" ]; then
    decode_conditions=$(for f in conf/decode/*.yaml; do basename "${f}" .yaml; done | tr '\n' ' ')
  fi
  log "Stage 20: decoding (conf/decode/: ${decode_conditions}): data/cuts/<set> -> ${exp_dir}/decode_<cond>/<set>"
  for cond in ${decode_conditions}; do   # every condition file, before the first decode
    [ -f "conf/decode/${cond}.yaml" ] || { log "conf/decode/${cond}.yaml not found"; exit 1; }
  done
  decode_gpu=0
  [ "${ngpu}" -gt 0 ] && decode_gpu=1
  for split in ${test_sets}; do
    for set in "${split}" "${split}_nonspeech"; do   # the test set and its negative controls
      for cond in ${decode_conditions}; do
        utils/decode_split.sh --nj "${nj}" --cmd "${decode_cmd}" --gpu "${decode_gpu}" \
          "data/cuts/${set}.jsonl.gz" "${exp_dir}/decode_${cond}/${set}" \
          --config "conf/decode/${cond}.yaml" --model-dir "${model_dir}" --adapter "${exp_dir}/final"
      done
    done
  done
fi

if [ "${stage}" -le 21 ] && [ "${stop_stage}" -ge 21 ]; then
  log "Stage 21: scoring (SlideSpeech protocol, Whisper normaliser): ${exp_dir}/decode_*/ -> scoring/"
  local/score.sh data "${exp_dir}"/decode_*/*/
fi

if [ "${stage}" -le 30 ] && [ "${stop_stage}" -ge 30 ]; then
  log "Stage 30: exp/*/decode_*/*/scoring -> RESULTS.md, RESULTS.png"
  utils/show_results.sh exp --out RESULTS.md --plot RESULTS.png
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
