#!/usr/bin/env bash
# tests/cli - runs a command that must fail cleanly: a non-zero exit that is
# not a crash (no signal), and output (stdout + stderr) matching a regex.
#   expect_failure.sh REGEX COMMAND [ARGS...]
set -u
regex=$1
shift
output=$("$@" 2>&1)
rc=$?
printf '%s\n' "$output"
if [ "$rc" -eq 0 ]; then
  echo "FAIL: '$*' succeeded; it must fail" >&2
  exit 1
fi
if [ "$rc" -ge 128 ]; then
  echo "FAIL: '$*' crashed (exit $rc, signal $((rc - 128)))" >&2
  exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq -- "$regex"; then
  echo "FAIL: the output of '$*' does not match: $regex" >&2
  exit 1
fi
echo "PASS: exit $rc with the expected message"
