# Environment for sap2-asr recipes (Kaldi/ESPnet style): sourced, does no work.
# A recipe's own path.sh sets MAIN_ROOT (the repository root) and sources this file.
MAIN_ROOT=${MAIN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
export MAIN_ROOT

# The virtual environment made by `make install` (or `make test`), if present.
if [ -d "${MAIN_ROOT}/.venv/bin" ]; then
  export PATH="${MAIN_ROOT}/.venv/bin:${PATH}"
fi
export PATH="${MAIN_ROOT}/utils:${PATH}"

export LC_ALL=C
export PYTHONIOENCODING=UTF-8
export OMP_NUM_THREADS=1
