#!/usr/bin/env bash
# tests/cli - paths too long for their buffers (core/util/path.h): a run
# output folder, a data file and INNEREYE_CONFIG_DIR whose paths do not fit
# are refused with a message naming the path, its length and the limit, a
# non-zero exit and no file written anywhere (in particular none under a name
# cut short, which is what snprintf into a fixed buffer used to make).
#   test_long_paths.sh INNEREYE TEST_SEG_METRICS
set -u
innereye=$1
writer=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
# refused DESCRIPTION REGEX COMMAND...: a clean non-zero exit whose output matches
refused() {
  local out rc
  out=$("${@:3}" 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && printf '%s\n' "$out" | grep -Eq -- "$2"; then
    echo "ok    $1"
  else
    echo "FAIL  $1 (exit $rc)"; printf '%s\n' "$out" | cut -c1-600; fails=$((fails + 1))
  fi
}
# deep BASE LENGTH: makes folders below BASE (names of 200 bytes, each within
# NAME_MAX) until the path is at least LENGTH bytes; prints the path.
deep() {
  local p=$1 name
  name=$(printf 'd%.0s' $(seq 200))
  while [ ${#p} -lt "$2" ]; do p=$p/$name; done
  mkdir -p "$p" && printf '%s' "$p"
}
# nothing_new DESCRIPTION: no file under $d is newer than the marker
nothing_new() {
  check "$1" test -z "$(find "$d" -newer "$d/marker" -type f -print -quit)"
}
too_long='the path .* is [0-9]+ bytes long, more than the [0-9]+ bytes allowed here; use shorter folder or file names'

mkdir "$d/in"
"$writer" --write-eval-inputs "$d/in" > /dev/null || { echo "FAIL  writing the eval inputs"; exit 1; }

# ---- innereye eval --out: metrics.csv and metrics_aggregates.csv would not fit ----
long_out=$(deep "$d/o" 4100)/$(printf 'r%.0s' $(seq 100)) # about 4300 bytes, not made
touch "$d/marker"
refused "eval: an --out too long is refused, naming it and the limit" \
  "innereye eval: --out $too_long" \
  "$innereye" eval --pred "$d/in/pred" --truth "$d/in/truth" --out "$long_out"
nothing_new "eval: ... and nothing is written"
"$innereye" eval --pred "$d/in/pred" --truth "$d/in/truth" --out "$d/short" > "$d/short.txt" 2>&1
check "eval: the same inputs with a short --out succeed (the refusal is the length's)" test $? -eq 0
check "eval: ... writing metrics.csv there" test -s "$d/short/metrics.csv"

# ---- training on a dataset whose file paths do not fit ----
root=$(deep "$d/data" 3990)
file=$(printf 'f%.0s' $(seq 240)).nii.gz # root/file: about 4240 bytes
printf 'subject,filePath,channel\na,%s,image\na,%s,label\n' "$file" "$file" > "$root/dataset.csv"
touch "$d/marker"
refused "train: a data file whose path does not fit is refused, naming it and the limit" \
  "$too_long" \
  "$innereye" train --model HelloWorld --output-dir "$d/runs" --set run.name=long --set train.epochs=1 \
  --set data.dataset_csv="$root/dataset.csv" --set data.fallback_synthetic=false --threads 1
check "train: ... before any checkpoint" test ! -e "$d/runs/long/checkpoints"

# ---- INNEREYE_CONFIG_DIR too long for the config folder's buffer ----
touch "$d/marker"
refused "INNEREYE_CONFIG_DIR too long is refused, naming the variable" \
  "INNEREYE_CONFIG_DIR: $too_long" \
  env INNEREYE_CONFIG_DIR="/$(printf 'c%.0s' $(seq 5000))" \
  "$innereye" train --model HelloWorld --output-dir "$d/runs2" --set train.epochs=1
check "INNEREYE_CONFIG_DIR: ... before a run folder is made" test ! -e "$d/runs2"

[ "$fails" -eq 0 ] && echo "all long-path checks passed" || echo "$fails long-path checks failed"
exit $((fails > 0))
