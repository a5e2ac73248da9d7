#!/usr/bin/env bash
# tests/sdk - plugins/examples/UNETR as a third party uses it: install the
# SDK into a fresh prefix, build the example out of tree against it, train it
# with the installed `innereye` on 60 real hippocampus cases
# (plugins/examples/UNETR/hippocampus.json, ../shared/data) and require a
# mean held-out Dice of at least 0.70 for both structures.  Skipped (77)
# when the data is absent.
#   test_unetr_example.sh CMAKE BUILD_DIR SOURCE_DIR
set -euo pipefail
cmake=$1
build=$(cd "$2" && pwd)
src=$(cd "$3" && pwd)
if [ ! -d "$src/../shared/data/hippocampus/images" ]; then
  echo "skipped: $src/../shared/data/hippocampus is absent"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install the SDK into $prefix"
"$cmake" --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }

echo "== build plugins/examples/UNETR against the installed SDK"
cp -r "$src/plugins/examples/UNETR" "$tmp/UNETR" # a clean copy: no build output in the source tree
{ "$cmake" -S "$tmp/UNETR" -B "$tmp/unetr-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release &&
  "$cmake" --build "$tmp/unetr-build"; } > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "building UNETR"; }
so=$tmp/unetr-build/libunetr.so
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}')
[ "$exported" = "ie_plugin_entry" ] || fail "exported functions are '$exported', expected only ie_plugin_entry"

echo "== train it on hippocampus with the installed host (found by name on INNEREYE_PLUGIN_PATH)"
cd "$src"
start=$(date +%s)
INNEREYE_PLUGIN_PATH=$tmp/unetr-build "$prefix/bin/innereye" train --config plugins/examples/UNETR/hippocampus.json \
  --output-dir "$tmp/outputs" --set run.name=unetr --threads 2 > "$tmp/train.txt" 2>&1 ||
  { cat "$tmp/train.txt"; fail "innereye train with the UNETR plugin"; }
echo "trained in $(( $(date +%s) - start )) s"
cat "$tmp/outputs/unetr/train_log.csv"
agg=$tmp/outputs/unetr/metrics_aggregates.csv
cat "$agg"
grep -Eq "\"sha256\":[[:space:]]*\"$(sha256sum "$so" | cut -d' ' -f1)\"" "$tmp/outputs/unetr/run.json" ||
  fail "run.json does not record the plugin's SHA-256"
fails=0
for structure in anterior posterior; do
  mean=$(awk -F, -v s="$structure" '$1 == s && $2 == "Dice" {print $6}' "$agg")
  if awk -v m="$mean" 'BEGIN {exit !(m >= 0.70)}'; then
    echo "ok    $structure: mean held-out Dice $mean >= 0.70"
  else
    echo "FAIL  $structure: mean held-out Dice '$mean' < 0.70"
    fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ] && echo "PASS: UNETR, built against the installed SDK, learns hippocampus"
exit $fails
