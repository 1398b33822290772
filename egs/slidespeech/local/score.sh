#!/usr/bin/env bash
# SlideSpeech scoring hook (Kaldi's local/score.sh): score decode folders with the
# SlideSpeech protocol after the Whisper English normaliser.
#
# Usage: local/score.sh DATA_DIR DECODE_DIR...
#   DATA_DIR/<split>/{text,keywords,utt2session}; each DECODE_DIR is .../<split> holding
#   hyp.txt (and keywords.txt from two-stage decoding, whose pruning is scored too, and
#   context.txt, the context the model read, against which false alarms are counted).
#   Writes DECODE_DIR/scoring/{wer.txt,wer.json,details/}.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "Usage: $0 DATA_DIR DECODE_DIR...   e.g. $0 data exp/sap2/decode_two_stage/test" >&2
  exit 2
fi
data=$1
shift
for dir in "$@"; do
  dir=${dir%/}
  split=$(basename "${dir}")
  pruned=()
  [ -f "${dir}/keywords.txt" ] && pruned=(--pruned-keywords "${dir}/keywords.txt")
  context=()
  [ -f "${dir}/context.txt" ] && context=(--context "${dir}/context.txt" --context-format keywords)
  mkdir -p "${dir}/scoring"
  sap2-score --protocol slidespeech --normalize whisper --ref "${data}/${split}/text" \
    --hyp "${dir}/hyp.txt" --keywords "${data}/${split}/keywords" \
    --utt2session "${data}/${split}/utt2session" "${pruned[@]}" "${context[@]}" \
    --json "${dir}/scoring/wer.json" --details "${dir}/scoring/details" > "${dir}/scoring/wer.txt"
  echo "${dir}: $(head -3 "${dir}/scoring/wer.txt" | cut -d, -f1 | tr '\n' ' ')"
done
