#!/usr/bin/env bash
# tests/cli - configs/hippocampus_quick.json on real MRI: trains UNet3D on 60
# hippocampus cases (../shared/data) and requires a mean held-out Dice of at
# least 0.70 for both structures.  Skipped (77) when the data is absent.
#   test_hippocampus_quick.sh INNEREYE SOURCE_DIR
set -u
innereye=$1
src=$2
if [ ! -d "$src/../shared/data/hippocampus/images" ]; then
  echo "skipped: $src/../shared/data/hippocampus is absent"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$src" || exit 1
"$innereye" train --config configs/hippocampus_quick.json --output-dir "$out" --set run.name=quick --threads 2 ||
  { echo "FAIL: training failed"; exit 1; }
agg=$out/quick/metrics_aggregates.csv
cat "$agg"
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
exit $fails
