#!/usr/bin/env bash
# Benchmark: InnerEye UNet3D (f=16, 3 classes, batch 2, crop 32x48x32) on the
# CPU, our engine against PyTorch, interleaved in the same run, 2 threads each.
#   tools/bench/unet3d_cpu.sh [rounds] [reps-per-round]
# Each round starts a fresh process per engine and mode (one warm-up step, then
# the timed repetitions).  Prints median and min-max seconds, GFLOP/s (training
# counted as 3x the forward FLOPs), peak RSS, and a closing line
#   train_ratio=<pytorch/ours> infer_ratio=<pytorch/ours> rss_ratio=<pytorch/ours>
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
REPS=${2:-3}
THREADS=2
OURS=build/bin/unet3d_bench
TORCH="/usr/bin/python3 tools/bench/unet3d_torch.py"
[ -x "$OURS" ] || { echo "unet3d_cpu.sh: $OURS not built; run 'make build' first" >&2; exit 1; }
have_torch=1
/usr/bin/python3 -c "import torch" 2>/dev/null || have_torch=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in train infer; do
    "$OURS" --mode "$mode" --reps "$REPS" --threads "$THREADS" >>"$log"
    if [ "$have_torch" = 1 ]; then
      OMP_NUM_THREADS=$THREADS $TORCH --mode "$mode" --reps "$REPS" --threads "$THREADS" | \
        sed "s/^torch rss_kb/torch_${mode} rss_kb/; s/^torch rss/torch rss/" >>"$log"
    fi
  done
done
gflop=$(/usr/bin/python3 tools/bench/unet3d_torch.py --mode flops 2>/dev/null || echo 12.518)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads=$THREADS"
echo "openblas: $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown); torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent)"
echo "forward GFLOP per step: $gflop (training counted as 3x)"
awk -v gflop="$gflop" '
  function stats(key,   n, i, j, t, a) {
    n = count[key]; for (i = 1; i <= n; i++) a[i] = v[key, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    med[key] = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    lo[key] = a[1]; hi[key] = a[n]
  }
  $2 == "rss_kb" { if ($3 > rss[$1]) rss[$1] = $3; next }
  { key = $1 " " $2; count[key]++; v[key, count[key]] = $3 }
  END {
    for (key in count) {
      stats(key); split(key, p, " ")
      f = (p[2] == "train") ? 3 * gflop : gflop
      printf "%-14s median %.4f s  min %.4f  max %.4f  (%d runs)  %.1f GFLOP/s\n", key, med[key], lo[key], hi[key], count[key], f / med[key]
    }
    rss_t = rss["torch_train"] > rss["torch_infer"] ? rss["torch_train"] : rss["torch_infer"]
    printf "peak RSS: innereye %.0f MB, torch %.0f MB\n", rss["innereye"] / 1024, rss_t / 1024
    if (("torch train") in count)
      printf "train_ratio=%.3f infer_ratio=%.3f rss_ratio=%.3f\n", med["torch train"] / med["innereye train"], med["torch infer"] / med["innereye infer"], rss_t / rss["innereye"]
    else
      print "train_ratio=n/a infer_ratio=n/a rss_ratio=n/a (python3-torch not installed: make reference-deps)"
  }' "$log"
