#!/usr/bin/env bash
# Benchmark: one epoch of configs/fashion_mnist.json (55 000 training images,
# 5 000 validated, batch 64, Adam) with `innereye train` against the same
# network in PyTorch (tools/bench/fashion_mnist_torch.py), interleaved in the
# same run, 2 threads each.
#
#   tools/bench/fashion_mnist_epoch.sh [--rounds N] [--path auto|avx512|avx2|generic] [--data DIR]
#
# --data names a folder made by `innereye dataset fashion-mnist` (made in a
# temporary folder, ~10 s, when absent).  --path forces our CPU path
# (IE_CPU_PATH).  Each round starts a fresh process per engine; the figure is
# the epoch time each prints (training plus validation, the data already
# read: PyTorch's idx decoding and our dataset checks come before it, our PNG
# decoding inside it, as a user's first epoch has it).  On a machine shared
# with other work run the script under `chrt -f 10`.  Prints each epoch time,
# the medians and a closing line
#   fashion_mnist: ours=<s> torch=<s> time_ratio=<ours/torch>
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3 PATH_NAME=auto DATA=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --path) PATH_NAME=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    *) echo "fashion_mnist_epoch.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
THREADS=2
OURS=build/bin/innereye
[ -x "$OURS" ] || { echo "fashion_mnist_epoch.sh: $OURS not built; run 'make build' first" >&2; exit 1; }
have_torch=1
/usr/bin/python3 -c "import torch" 2>/dev/null || have_torch=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$DATA" ]; then
  DATA=$work/fashion_mnist
  "$OURS" dataset fashion-mnist --out "$DATA" >/dev/null
fi
[ -f "$DATA/dataset.csv" ] || { echo "fashion_mnist_epoch.sh: $DATA/dataset.csv not found (make it with 'innereye dataset fashion-mnist --out DIR')" >&2; exit 1; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads=$THREADS"
echo "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The epoch's "(S s)" from each engine's epoch line.
epoch_seconds() { sed -n 's/^epoch 1\/1 .*(\([0-9.]*\) s)$/\1/p'; }
ours=() torch=()
for ((r = 1; r <= ROUNDS; r++)); do
  rm -rf "$work/runs"
  s=$(IE_CPU_PATH=$PATH_NAME "$OURS" train --config configs/fashion_mnist.json --output-dir "$work/runs" \
        --threads $THREADS --set run.name=bench --set train.epochs=1 --set "data.dataset_csv=$DATA/dataset.csv" \
        2>&1 | tee "$work/ours.log" | epoch_seconds)
  [ -n "$s" ] || { echo "fashion_mnist_epoch.sh: innereye train printed no epoch time:" >&2; tail -5 "$work/ours.log" >&2; exit 1; }
  path=$(sed -n 's/.*"cpu_path":[[:space:]]*"\([a-z0-9]*\)".*/\1/p' "$work/runs/bench/run.json" | head -1)
  echo "round $r: innereye ${s} s (path ${path:-?})"
  ours+=("$s")
  if [ "$have_torch" = 1 ]; then
    s=$(OMP_NUM_THREADS=$THREADS /usr/bin/python3 tools/bench/fashion_mnist_torch.py --threads $THREADS --epochs 1 \
          --config configs/fashion_mnist.json | epoch_seconds)
    echo "round $r: torch    ${s} s"
    torch+=("$s")
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mo=$(median "${ours[@]}")
if [ "$have_torch" = 1 ]; then
  mt=$(median "${torch[@]}")
  awk -v o="$mo" -v t="$mt" 'BEGIN { printf "fashion_mnist: ours=%.1f torch=%.1f time_ratio=%.3f\n", o, t, o / t }'
else
  echo "fashion_mnist: ours=$mo torch=n/a (python3-torch not installed: make reference-deps)"
fi
