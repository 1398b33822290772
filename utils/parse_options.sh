#!/usr/bin/env bash
# Kaldi-style option parsing for recipe scripts. Source it after declaring defaults:
#
#   stage=0          # first stage to run
#   stop_stage=100   # last stage to run
#   use_gpu=true     # true or false
#   help_message="Usage: $0 [options]"
#   . utils/parse_options.sh
#
# Every `--name-with-dashes value` sets the existing shell variable name_with_dashes.
# Rules:
#   * the variable must already exist (declared with a default); unknown options fail;
#   * `--name=value` is rejected: write `--name value`;
#   * a variable whose current value is true/false only takes true or false;
#   * `--config FILE` sources FILE first, so options on the command line win;
#   * `--help` or `-h` prints $help_message and exits 0;
#   * parsing stops at the first argument that does not start with `--`; what is left
#     stays in "$@" for the script (positional arguments).
# Usage errors print one line on stderr and exit with status 2.

_po_fail() {
  echo "$0: $*" >&2
  exit 2
}

# Pass 1: source every --config file, so that explicit options override it.
_po_args=("$@")
for ((_po_i = 0; _po_i < ${#_po_args[@]}; _po_i++)); do
  case "${_po_args[_po_i]}" in
    --config)
      _po_config="${_po_args[_po_i + 1]:-}"
      [ -n "${_po_config}" ] || _po_fail "option --config needs a file"
      [ -f "${_po_config}" ] || _po_fail "config file '${_po_config}' not found"
      # shellcheck disable=SC1090
      . "${_po_config}"
      _po_i=$((_po_i + 1))
      ;;
    --) break ;;
    --*) _po_i=$((_po_i + 1)) ;;
    *) break ;;
  esac
done

# Pass 2: the command line.
while [ $# -gt 0 ]; do
  case "$1" in
    --help | -h)
      printf '%s\n' "${help_message:-Usage: $0 [options]; no help message is defined}"
      exit 0
      ;;
    --config)
      shift 2 2>/dev/null || _po_fail "option --config needs a file"
      ;;
    --)
      shift
      break
      ;;
    --*=*)
      _po_fail "write '${1%%=*} ${1#*=}' instead of '$1' (no '=' between option and value)"
      ;;
    --*)
      _po_name="${1#--}"
      _po_name="${_po_name//-/_}"
      if ! [[ "${_po_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
        _po_fail "invalid option name '$1'"
      fi
      if [ -z "${!_po_name+set}" ]; then
        _po_fail "unknown option '$1' (run with --help for the options)"
      fi
      [ $# -ge 2 ] || _po_fail "option '$1' needs a value"
      case "${!_po_name}" in
        true | false)
          case "$2" in
            true | false) ;;
            *) _po_fail "option '$1' takes true or false, got '$2'" ;;
          esac
          ;;
      esac
      printf -v "${_po_name}" '%s' "$2"
      shift 2
      ;;
    *)
      break
      ;;
  esac
done

unset _po_args _po_i _po_config _po_name
unset -f _po_fail
true # so that a script with `set -e` does not stop on the last test above
