#!/usr/bin/env bash
# Summarise a recipe's scored decodes: utils/show_results.sh exp [--out RESULTS.md]
# Writes RESULTS.md and a PNG: B-WER against the context size N when decodes vary it,
# else the error rates of every decode as bars.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "Usage: $0 EXP_DIR [--out RESULTS.md] [--plot RESULTS_bwer.png]   e.g. $0 exp" >&2
  exit 2
fi
exec sap2-show-results "$@"
