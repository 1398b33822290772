#!/usr/bin/env bash
# SAP² on SlideSpeech: slide OCR as long context, pruned to keywords, then integrated.
#
# Stages (--stage N --stop-stage M runs N..M):
#   0  check the corpus layout (SlideSpeech cannot be downloaded by a script here)
#   1  lhotse manifests and cuts with context: ${corpus_dir} -> data/{manifests,cuts,<split>}
#   6  ms-swift JSON of the authors' format, for comparison: data/cuts -> data/swift/
#  10  training          (not implemented yet: issue 5)
#  20  decoding, scoring (not implemented yet: issue 5)
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

help_message=$(cat <<EOF2
Usage: $0 [options]
  --stage N              first stage (default ${stage})
  --stop-stage N         last stage (default ${stop_stage})
  --corpus-dir DIR       SlideSpeech folder (default ${corpus_dir})
  --splits "..."         (default "${splits}")
  --num-slides N         slides in the OCR context window (default ${num_slides})
  --common-words FILE    words never used as keywords (default: none)
  --max-context-words N  cap on context keywords (default ${max_context_words}: none)
  --swift-task TASK      prompt of the ms-swift JSON export (default ${swift_task})
  --skip-bad true|false  leave out bad utterances (default ${skip_bad})
Each split's files are read from \${corpus_dir}/<split>/{segments,text,keywords,slides};
see sap2/data/slidespeech.py for their formats.
EOF2
)

. ./utils/log.sh
log "$0 $*"
. ./utils/parse_options.sh
. ./path.sh
. ./cmd.sh

bad_opt=""
[ "${skip_bad}" = true ] && bad_opt="--skip-bad"
common_opt=""
[ -n "${common_words}" ] && common_opt="--common-words ${common_words}"

if [ "${stage}" -le 0 ] && [ "${stop_stage}" -ge 0 ]; then
  log "Stage 0: check the SlideSpeech layout in ${corpus_dir}"
  local/check_corpus.sh "${corpus_dir}" ${splits}
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  log "Stage 1: manifests and cuts: ${corpus_dir} -> data/{manifests,cuts,<split>}"
  for split in ${splits}; do
    if [ -f "data/cuts/.${split}.done" ]; then log "data/cuts/${split}.jsonl.gz done, skipping"; continue; fi
    python -m sap2.bin.prepare slidespeech "${corpus_dir}" data --parts "${split}" \
      --num-slides "${num_slides}" --max-context-words "${max_context_words}" ${common_opt} ${bad_opt}
    touch "data/cuts/.${split}.done"
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
  log "Stage 10: training is not implemented yet (sap2-train arrives with issue 5)"
  exit 1
fi

if [ "${stage}" -le 20 ] && [ "${stop_stage}" -ge 20 ]; then
  log "Stage 20: decoding and scoring are not implemented yet (sap2-decode arrives with issue 5)"
  exit 1
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
