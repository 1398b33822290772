#!/usr/bin/env bash
# log MESSAGE...: print "YYYY-mm-ddTHH:MM:SS (script:line:function) MESSAGE" on stderr,
# ESPnet style. Source it from run.sh scripts.
log() {
  local fname=${BASH_SOURCE[1]##*/}
  echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}
