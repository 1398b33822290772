# Job runners of this site (Kaldi/ESPnet style), used by the training and decoding
# stages: cmd_backend=local runs jobs on this machine, slurm submits them.
cmd_backend=local

case "${cmd_backend}" in
  local)
    export train_cmd="utils/run.pl"
    export decode_cmd="utils/run.pl"
    export cuda_cmd="utils/run.pl"
    ;;
  slurm)
    export train_cmd="utils/slurm.pl --config conf/slurm.conf"
    export decode_cmd="utils/slurm.pl --config conf/slurm.conf"
    export cuda_cmd="utils/slurm.pl --config conf/slurm.conf"
    ;;
  *)
    echo "cmd.sh: unknown cmd_backend '${cmd_backend}'" >&2
    return 1
    ;;
esac
