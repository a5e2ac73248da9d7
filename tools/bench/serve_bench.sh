#!/usr/bin/env bash
# tools/bench - `innereye serve` under load against `innereye infer` on the
# same image (docs/performance.md): infer as a fresh process per image
# (start, model load, inference, files), then the server with 1 and with
# CONCURRENCY clients (tools/bench/serve_load), every answer compared with
# infer's: its segmentation.nii.gz for a segmentation run; for a
# classification or regression run whose one input is an image column (a
# Fashion-MNIST PNG classifier), the JSON of infer --dataset's
# predictions.csv row(s) for that image.
#   tools/bench/serve_bench.sh BUILD_DIR RUN_DIR IMAGE [REQUESTS] [CONCURRENCY] [SECONDS]
# REQUESTS (default 40) and SECONDS (default 120) bound each load run.
set -eu
build=$1
run=$2
image=$3
requests=${4:-40}
concurrency=${5:-4}
seconds=${6:-120}
innereye=$build/bin/innereye
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2> /dev/null; rm -rf "$out"' EXIT

if [ -f "$run/data_statistics.json" ]; then
  # A table-predicting run: a one-row dataset of the image, in its one image column.
  column=$(tr -d ' \t\n' < "$run/data_statistics.json" | sed -n 's/.*"image_columns":\["\([^"]*\)"\].*/\1/p')
  [ -n "$column" ] || { echo "$run: a classification or regression run whose one input is an image column is needed"; exit 2; }
  printf 'subject,%s\ncase,%s\n' "$column" "$(realpath "$image")" > "$out/case.csv"
  infer_once() { "$innereye" infer --run "$run" --dataset "$out/case.csv" --out "$1" > /dev/null; }
else
  infer_once() { "$innereye" infer --run "$run" --image "$image" --subject case --out "$1" > /dev/null; }
fi
echo "== innereye infer, a fresh process per image (5 runs)"
for i in 1 2 3 4 5; do
  start=$(date +%s.%N)
  infer_once "$out/infer$i"
  echo "run $i: $(echo "$(date +%s.%N) - $start" | bc) s"
done
if [ -f "$run/data_statistics.json" ]; then
  # The server's answer: the rows' text as JSON, one line (tools/serve_scalar.h).
  expect=$out/expect.json
  awk -F, 'NR > 1 { printf "%s{\"target\":\"%s\",\"prediction\":%s}", n++ ? "," : "", $2, $4 } END { print "" }' \
    "$out/infer1/predictions.csv" | sed 's/^/{"predictions":[/; s/$/]}/' > "$expect"
else
  expect=$out/infer1/case/segmentation.nii.gz
fi

"$innereye" serve --run "$run" --port 0 --queue $((concurrency + 1)) > "$out/serve.out" 2> "$out/serve.log" &
server=$!
base=
for _ in $(seq 1 300); do
  base=$(sed -n 's|^listening on \(http://.*\)$|\1|p' "$out/serve.out")
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$out/serve.out" "$out/serve.log"; exit 1; }
for c in 1 "$concurrency"; do
  echo "== innereye serve, $c client(s)"
  "$build/bin/serve_load" --url "$base/v1/segment" --file "$image" --expect "$expect" --concurrency "$c" \
    --requests "$requests" --seconds "$seconds"
done
kill -TERM "$server"
wait "$server"
server=
