#!/usr/bin/env bash
# tests/sanitize - runs ctest in a `make test-sanitize` build (ASan + UBSan +
# LeakSanitizer) and fails on any sanitizer report:
#   tests/sanitize/run.sh BUILD_DIR JOBS [CTEST_ARGS...]
# Every instrumented process (tests, the innereye runs of the CLI scripts,
# plugins) writes its reports to BUILD_DIR/sanitizer-reports/ (log_path), so
# a report is seen even where a test expects a failing exit code (a report
# makes the process exit non-zero, which such a test would accept).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
jobs=$2
shift 2
reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# halt_on_error + -fno-sanitize-recover: the first error ends the process.
# detect_leaks: LeakSanitizer at exit.  Third-party leaks: lsan.supp.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$reports/asan:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
cd "$build" && ctest --output-on-failure -j "$jobs" "$@"
rc=$?
found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  echo "sanitizer reports ($(echo "$found" | wc -l) files):"
  for f in $found; do
    echo "---- $f"
    head -40 "$f"
  done
  exit 1
fi
echo "sanitizers: no report"
exit $rc
