# Recipe environment: the repository's path.sh, with MAIN_ROOT two levels up.
MAIN_ROOT=$PWD/../..
. "${MAIN_ROOT}/path.sh"
