# tests/bad_inputs - what every case of the bad-input suite asserts, and the
# tiny inputs the cases start from.  Sourced by run.sh; docs/errors.md is the
# catalogue users read.
#
#   expect NAME RC NAMES ADVICE [--changes PATH]... -- COMMAND...
#
# runs COMMAND (from $W, at most 120 s) and checks that
#   - it exits with exactly RC (a crash is never an expected answer unless RC
#     says which signal: 128 + N);
#   - its output (stdout + stderr) matches the extended regex NAMES (the
#     file, subject or key at fault) and the regex ADVICE (what to do);
#   - nothing under $W changed except under the --changes paths (relative to
#     $W): every file's SHA-256 and every folder are compared before and
#     after, so a refusal that leaves a stray, truncated or overwritten file
#     behind fails.
# A case prints "ok   NAME" or "FAIL NAME: why" and the command's output.
set -u

IE=$(realpath "$1")       # the innereye command
TOOL=$(realpath "$2")     # bad_input_tool
PLUGINS=$(realpath "$3")  # the test plugins' folder
FIXTURES=$(realpath "$4") # tests/reference/fixtures
W=$(mktemp -d /tmp/ie_bad_inputs_XXXXXX)
cleanup() {
  [ -n "${MOUNTED:-}" ] && umount "$MOUNTED" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
passed=0
failed=0
failures=""

# Every file (with its SHA-256) and folder under $W, one per line: "path sha".
snapshot() {
  (cd "$W" && { find . -mindepth 1 -type d -printf '%p dir\n'
                find . -mindepth 1 ! -type d -print0 | xargs -0 -r sha256sum 2> /dev/null | sed 's/^\([0-9a-f]*\) [ *]\(.*\)$/\2 \1/'
              } | LC_ALL=C sort)
}

expect() {
  local name=$1 want=$2 names=$3 advice=$4
  shift 4
  local allowed=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    if [ "$1" = "--changes" ]; then allowed+=("./${2#./}"); shift 2; else shift; fi
  done
  shift # --
  local before after out rc why=""
  before=$(snapshot)
  out=$(timeout 120 "$@" 2>&1)
  rc=$?
  LAST_OUTPUT=$out # for checks after the case
  after=$(snapshot)
  if [ "$rc" -ne "$want" ]; then why="exit $rc, expected $want"; fi
  if [ -z "$why" ] && ! printf '%s\n' "$out" | grep -Eq -- "$names"; then why="the output does not name: $names"; fi
  if [ -z "$why" ] && ! printf '%s\n' "$out" | grep -Eq -- "$advice"; then why="the output does not say: $advice"; fi
  if [ -z "$why" ]; then
    local changed
    changed=$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]' | cut -c3- | sed 's/ [^ ]*$//' |
              LC_ALL=C sort -u | while IFS= read -r path; do
                local ok=0
                for a in "${allowed[@]+"${allowed[@]}"}"; do
                  case "$path" in "$a" | "$a"/*) ok=1 ;; esac
                done
                [ $ok = 1 ] || printf '%s ' "$path"
              done)
    [ -n "$changed" ] && why="changed outside the expected outputs: $changed"
  fi
  if [ -z "$why" ]; then
    passed=$((passed + 1))
    echo "ok   $name (exit $rc)"
    # BAD_INPUTS_SHOW=1: the line that names the culprit, for docs/errors.md.
    [ -n "${BAD_INPUTS_SHOW:-}" ] && printf '%s\n' "$out" | grep -Em1 -- "$names" | sed 's/^/     > /'
  else
    failed=$((failed + 1))
    failures="$failures $name"
    echo "FAIL $name: $why"
    printf '%s\n' "$out" | tail -n 25 | sed 's/^/     | /'
  fi
}

# A plain assertion inside a case: check NAME COMMAND...
check() {
  if "${@:2}"; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); failures="$failures $1"; echo "FAIL $1"; fi
}

finish() {
  echo "bad inputs ($GROUP): $passed passed, $failed failed${failures:+:$failures}"
  [ "$failed" -eq 0 ]
  exit $?
}

# ---- the inputs cases start from ----

# A tiny training (HelloWorld shrunk: 2 epochs of 8^3 crops, 1 thread).
TINY=(--model HelloWorld --threads 1 --set model.params.features=2 --set model.params.depth=1
      --set train.epochs=2 --set "data.crop_size=[8,8,8]" --set data.split.train=0.5 --set data.split.val=0.25
      --set data.split.test=0.25 --set data.validate=true)

# data/: 6 generated subjects (image + label map) and data/dataset.csv.
make_data() {
  "$TOOL" dataset "$W/data" 6 > /dev/null || { echo "cannot make the test data"; exit 1; }
}

# runs/good: a finished tiny run of data/ (checkpoints of epochs 1 and 2).
make_run() {
  "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --set train.checkpoint_every=1 \
    --output-dir runs --set run.name=good > "$W/make_run.log" 2>&1 || { cat "$W/make_run.log"; exit 1; }
  rm -f "$W/make_run.log"
}

# A copy of data/dataset.csv with the subject of line 2 and 3 (its image and
# label) given by the caller: csv_with OUT IMAGE LABEL [SUBJECT]
csv_with() {
  local out=$1 image=$2 label=$3 subject=${4:-synthetic_000}
  { echo "subject,filePath,channel"
    echo "$subject,$image,image"
    echo "$subject,$label,label"
    tail -n +4 "$W/data/dataset.csv" | sed "s|,synthetic_|,$W/data/synthetic_|"; } > "$out"
}
