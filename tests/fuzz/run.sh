#!/usr/bin/env bash
# tests/fuzz - runs the fuzzers of a `make fuzz` build one after the other:
#   tests/fuzz/run.sh FUZZ_BUILD SECONDS [RUNS] [HARNESS...]
# Each runs until SECONDS have passed or RUNS inputs were tried (0: no such
# limit), at the lowest CPU priority (nice 19: the machine is shared; FUZZ_NICE
# sets another niceness), on its
# working corpus FUZZ_BUILD/corpus/<harness> (grown from tests/fuzz/corpus and
# kept between runs).  Crashers land in FUZZ_BUILD/artifacts/<harness>/; keep
# each one under tests/fuzz/regressions/<harness>/ once fixed.  The figures of
# each run (executions, exec/s, coverage, findings) go to
# FUZZ_BUILD/summary.txt.  Exits non-zero when a fuzzer found something.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
seconds=$2
runs=${3:-0}
shift 3 2>/dev/null || shift $#
harnesses=("$@")
niceness=${FUZZ_NICE:-19}
[ ${#harnesses[@]} -gt 0 ] || harnesses=(config cli dataset_csv scalar_csv safetensors run_json image_header)

# Any sanitizer report ends the run with a crasher file.
# Third-party leaks are suppressed (tests/sanitize/lsan.supp); their stacks
# pass through libstdc++, which the fast unwinder cannot walk, so the image
# fuzzer (the only one reaching C++ code) unwinds slowly but completely.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/../sanitize/lsan.supp:print_suppressions=0}
summary=$build/summary.txt
status=0
for h in "${harnesses[@]}"; do
  fuzzer=$build/fuzz/fuzz_$h
  [ -x "$fuzzer" ] || { echo "run.sh: $fuzzer is not built (make fuzz)" >&2; exit 2; }
  corpus=$build/corpus/$h artifacts=$build/artifacts/$h log=$build/logs/fuzz_$h.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  limit=-1
  [ "$runs" -gt 0 ] && limit=$runs
  echo "fuzz_$h: up to ${seconds}s or $limit runs (-1: no limit) (log: $log)"
  start=$(date +%s)
  # -close_fd_mask=1: the code's stdout (notes) is not needed; reports go to stderr.
  # -rss_limit_mb: an input that makes the code allocate > 2 GB is a finding too.
  # -timeout: an input taking > 60 s is a finding (hang); less gives false
  # alarms when the machine is loaded and nice 19 leaves the fuzzer waiting.
  unwind=
  [ "$h" = image_header ] && unwind=:fast_unwind_on_malloc=0
  ASAN_OPTIONS=$ASAN_OPTIONS$unwind nice -n "$niceness" "$fuzzer" "$corpus" "$here/corpus/$h" -max_total_time="$seconds" -runs="$limit" \
    -close_fd_mask=1 -print_final_stats=1 -rss_limit_mb=2048 -timeout=60 -max_len=65536 \
    -dict="$here/fuzz.dict" -artifact_prefix="$artifacts/" > "$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  found=$(find "$artifacts" -type f | wc -l)
  line="fuzz_$h: rc $rc, ${elapsed}s, ${execs:-?} executions, ${speed:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $(find "$corpus" -type f | wc -l) files, artifacts $found"
  echo "$line" | tee -a "$summary"
  if [ "$rc" -ne 0 ]; then
    status=1
    grep -E "ERROR|runtime error|SUMMARY|fuzz:" "$log" | head -5
  fi
done
exit $status
