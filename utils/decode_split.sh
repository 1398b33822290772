#!/usr/bin/env bash
# Decode a cuts manifest in JOB=1:NJ jobs and merge their outputs (Kaldi style).
#
# Usage: utils/decode_split.sh [--nj N] [--cmd CMD] [--gpu N] CUTS OUT_DIR [sap2-decode options...]
#   e.g. utils/decode_split.sh --nj 4 --cmd "${decode_cmd}" data/cuts/test.jsonl.gz \
#          exp/sap2/decode_two_stage_N100/test --model-dir ... --mode two_stage
# Writes OUT_DIR/split<N>/cuts.JOB.jsonl.gz, OUT_DIR/split<N>/JOB/ (one sap2-decode each,
# logs in OUT_DIR/log/decode.JOB.log), then OUT_DIR/hyp.{jsonl,txt} and keywords.txt.
# A rerun skips utterances that are already decoded.
set -euo pipefail

nj=1
cmd=utils/run.pl
gpu=0
help_message="Usage: $0 [--nj N] [--cmd CMD] [--gpu N] CUTS OUT_DIR [sap2-decode options...]"
. utils/parse_options.sh

if [ $# -lt 2 ]; then
  echo "${help_message}" >&2
  exit 2
fi
cuts=$1
dir=$2
shift 2
[ -f "${cuts}" ] || { echo "$0: ${cuts} not found" >&2; exit 1; }

split_dir=${dir}/split${nj}
if [ ! -f "${split_dir}/.done" ]; then
  sap2-split-cuts --cuts "${cuts}" --num-jobs "${nj}" --out-dir "${split_dir}"
  touch "${split_dir}/.done"
fi
${cmd} --gpu "${gpu}" JOB=1:"${nj}" "${dir}/log/decode.JOB.log" \
  sap2-decode --cuts "${split_dir}/cuts.JOB.jsonl.gz" --out-dir "${split_dir}/JOB" "$@"
jobs=""
for job in $(seq "${nj}"); do jobs="${jobs} ${split_dir}/${job}"; done
sap2-merge-decodes ${jobs} --out-dir "${dir}"
