#!/usr/bin/env bash
# SAP² on LibriSpeech with the is21 biasing lists (N = 100, 500, 1000, 2000 distractors).
#
# Stages (icefall/ESPnet style; --stage N --stop-stage M runs N..M):
#   0  download LibriSpeech (lhotse) and the is21 word lists, unless present
#   1  lhotse manifests, cuts and Kaldi text:  download/LibriSpeech -> data/{manifests,cuts,<part>}
#   2  common words of the training transcripts: data/<train>/text -> data/lang/
#   5  test biasing lists: data/<test>/text -> data/context/<test>.biasing_<N>.tsv (+ on the cuts)
#  10  training          (not implemented yet: issue 5)
#  20  decoding, scoring (not implemented yet: issue 5)
set -euo pipefail

stage=0
stop_stage=100
dl_dir=$PWD/download        # LibriSpeech is downloaded to (or found in) ${dl_dir}/LibriSpeech
words_dir=                  # is21 word lists; empty: ${dl_dir}/is21_words (downloaded)
train_parts="train-clean-100 train-clean-360 train-other-500"
test_parts="test-clean test-other"
num_distractors="100 500 1000 2000"
seed=0                      # seed of the biasing lists
skip_bad=false              # true: leave out utterances with missing or unreadable audio

help_message=$(cat <<EOF2
Usage: $0 [options]
  --stage N            first stage (default ${stage})
  --stop-stage N       last stage (default ${stop_stage})
  --dl-dir DIR         where LibriSpeech is downloaded or found (default ${dl_dir})
  --words-dir DIR      local copy of the is21 word lists (default: download them)
  --train-parts "..."  (default "${train_parts}")
  --test-parts "..."   (default "${test_parts}")
  --num-distractors "..."  biasing list sizes (default "${num_distractors}")
  --seed N             seed of the biasing lists (default ${seed})
  --skip-bad true|false  leave out bad utterances instead of failing (default ${skip_bad})
EOF2
)

. ./utils/log.sh
log "$0 $*"
. ./utils/parse_options.sh
. ./path.sh
. ./cmd.sh

[ -n "${words_dir}" ] || words_dir=${dl_dir}/is21_words
bad_opt=""
[ "${skip_bad}" = true ] && bad_opt="--skip-bad"

if [ "${stage}" -le 0 ] && [ "${stop_stage}" -ge 0 ]; then
  log "Stage 0: download LibriSpeech and the is21 word lists -> ${dl_dir}"
  python local/download.py --dl-dir "${dl_dir}" --words-dir "${words_dir}" \
    --parts ${train_parts} ${test_parts}
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  log "Stage 1: manifests and cuts: ${dl_dir}/LibriSpeech -> data/{manifests,cuts}"
  for part in ${train_parts} ${test_parts}; do
    if [ -f "data/cuts/.${part}.done" ]; then log "data/cuts/${part}.jsonl.gz done, skipping"; continue; fi
    python -m sap2.bin.prepare librispeech "${dl_dir}/LibriSpeech" data --parts "${part}" ${bad_opt}
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
  if [ -f "${words_dir}/common_words_5k.txt" ] && [ -f "${words_dir}/all_rare_words.txt" ]; then
    common=${words_dir}/common_words_5k.txt; pool=${words_dir}/all_rare_words.txt
  else
    log "no is21 word lists in ${words_dir}: using data/lang (stage 2) instead"
    common=data/lang/common_words_5k.txt; pool=data/lang/rare_words.txt
  fi
  log "Stage 5: biasing lists (N = ${num_distractors}): data/<test>/text -> data/context/"
  for part in ${test_parts}; do
    sap2-biasing-lists --ref "data/${part}/text" --common-words "${common}" --rare-words "${pool}" \
      --num-distractors ${num_distractors} --seed "${seed}" \
      --out "data/context/${part}.biasing_{N}.tsv" --cuts "data/cuts/${part}.jsonl.gz"
  done
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
  log "Stage 10: training is not implemented yet (sap2-train arrives with issue 5)"
  exit 1
fi

if [ "${stage}" -le 20 ] && [ "${stop_stage}" -ge 20 ]; then
  log "Stage 20: decoding and scoring are not implemented yet (sap2-decode arrives with issue 5)"
  exit 1
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
