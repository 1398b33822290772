#!/usr/bin/env bash
# Stage 0 of egs/slidespeech: check that CORPUS_DIR holds each split, or say how to get it.
# Usage: local/check_corpus.sh CORPUS_DIR SPLIT...
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "Usage: $0 CORPUS_DIR SPLIT...   e.g. $0 download/SlideSpeech train dev test" >&2
  exit 2
fi
corpus_dir=$1
shift
how="SlideSpeech cannot be downloaded by this recipe: get it from https://slidespeech.github.io (OpenSLR 144; scripts: https://github.com/Mashiro009/slidespeech_dl) and pass --corpus-dir"
for split in "$@"; do
  wavs=${corpus_dir}/${split}/wav
  if [ -z "$(find "${wavs}" -name '*.wav' -print -quit 2>/dev/null)" ]; then
    echo "$0: stage 0: no ${wavs}/<category>/<video id>.wav files. ${how}" >&2
    exit 1
  fi
  for name in segments text; do
    if [ ! -f "${corpus_dir}/${split}/${name}" ]; then
      echo "$0: stage 0: ${corpus_dir}/${split}/${name} not found (Kaldi-style ${name}; see sap2/data/slidespeech.py)" >&2
      exit 1
    fi
  done
  echo "SlideSpeech ${split}: $(find "${wavs}" -name '*.wav' | wc -l) talks, $(wc -l < "${corpus_dir}/${split}/segments") segments"
done
