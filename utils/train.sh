#!/usr/bin/env bash
# Run sap2-train through a job runner, with torchrun for several GPUs.
#
# Usage: utils/train.sh [--ngpu N] [--cmd CMD] [--nnodes N --node-rank R --master-addr HOST]
#                       EXP_DIR [sap2-train options...]
#   --ngpu 0 or 1: one process (CPU or one GPU); N > 1: torchrun --nproc-per-node N.
#   Several nodes: run it on every node with the same --nnodes and --master-addr and
#   each node's --node-rank (torchrun's static rendezvous).
#   The runner's log is EXP_DIR/log/train.stdout.log; sap2-train's own log is
#   EXP_DIR/log/train.log. A rerun resumes from the latest checkpoint.
set -euo pipefail

ngpu=1
cmd=utils/run.pl
nnodes=1
node_rank=0
master_addr=localhost
master_port=29500
help_message="Usage: $0 [--ngpu N] [--cmd CMD] [--nnodes N --node-rank R --master-addr HOST] EXP_DIR [sap2-train options...]"
. utils/parse_options.sh

if [ $# -lt 1 ]; then
  echo "${help_message}" >&2
  exit 2
fi
exp_dir=$1
shift
launcher="sap2-train"
if [ "${ngpu}" -gt 1 ] || [ "${nnodes}" -gt 1 ]; then
  launcher="torchrun --nnodes ${nnodes} --node-rank ${node_rank} --master-addr ${master_addr}"
  launcher="${launcher} --master-port ${master_port} --nproc-per-node ${ngpu} -m sap2.bin.train"
fi
mkdir -p "${exp_dir}/log"
${cmd} --gpu "${ngpu}" "${exp_dir}/log/train.stdout.log" ${launcher} --exp-dir "${exp_dir}" "$@"
