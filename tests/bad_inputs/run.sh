#!/usr/bin/env bash
# tests/bad_inputs - one group of the bad-input suite:
#   run.sh GROUP INNEREYE BAD_INPUT_TOOL TEST_PLUGIN_DIR FIXTURES_DIR
# The cases are in tests/bad_inputs/GROUP.sh, the assertions in lib.sh.
GROUP=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh" "$@"
source "$here/$GROUP.sh"
finish
