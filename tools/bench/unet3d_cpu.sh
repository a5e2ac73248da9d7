#!/usr/bin/env bash
# Benchmark: InnerEye UNet3D (3 classes, batch 2) on the CPU, our engine
# against PyTorch, interleaved in the same run, 2 threads each, at two sizes:
#   small  f=16, crop 32x48x32 (the size the tests train)
#   large  f=32, crop 64x64x64 (InnerEye's CT scale)
#
#   tools/bench/unet3d_cpu.sh [--rounds N] [--reps N] [--size small|large|both]
#                             [--path auto|avx512|avx2|generic] [--torch-isa avx2|avx2-onednn]
#
# Each round starts a fresh process per engine and mode (one warm-up step,
# then the timed repetitions); defaults 3 rounds of 3 repetitions for small,
# 1 round of 2 for large.  --path forces our CPU path (IE_CPU_PATH);
# --torch-isa avx2 runs PyTorch with ATEN_CPU_CAPABILITY=avx2, avx2-onednn also
# limits oneDNN's convolutions to AVX2 (DNNL_MAX_CPU_ISA=AVX2; without it they
# still use AVX-512).  On a machine shared with other work, run the script
# under `chrt -f 10` (both engines then get the cores).  Prints per size and
# mode the median and min-max seconds, GFLOP/s and its share of the measured
# FMA peak of the cores used (training counted as 3x the forward FLOPs), peak
# RSS, and a closing line per size
#   <size>: train_ratio=<pytorch/ours> infer_ratio=<pytorch/ours> rss_ratio=<ours/pytorch>
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS= REPS= SIZE=both PATH_NAME=auto TORCH_ISA=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --path) PATH_NAME=$2; shift 2 ;;
    --torch-isa) TORCH_ISA=$2; shift 2 ;;
    [0-9]*) ROUNDS=$1; [ $# -gt 1 ] && REPS=$2 && shift; shift ;; # the old positional form
    *) echo "unet3d_cpu.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
for n in "$ROUNDS" "$REPS"; do
  [[ -z "$n" || "$n" =~ ^[1-9][0-9]*$ ]] || { echo "unet3d_cpu.sh: --rounds and --reps take a positive whole number, got '$n'" >&2; exit 2; }
done
THREADS=2
OURS=build/bin/unet3d_bench
TORCH="/usr/bin/python3 tools/bench/unet3d_torch.py"
[ -x "$OURS" ] || { echo "unet3d_cpu.sh: $OURS not built; run 'make build' first" >&2; exit 1; }
have_torch=1
/usr/bin/python3 -c "import torch" 2>/dev/null || have_torch=0
torch_env=(env OMP_NUM_THREADS=$THREADS)
case "$TORCH_ISA" in
  "") ;;
  avx2) torch_env+=(ATEN_CPU_CAPABILITY=avx2) ;;
  avx2-onednn) torch_env+=(ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2) ;;
  *) echo "unet3d_cpu.sh: --torch-isa is avx2 or avx2-onednn" >&2; exit 2 ;;
esac
ours_env=(env IE_CPU_PATH=$PATH_NAME)
peaks=$(build/bin/fma_peak 2>/dev/null || true)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads=$THREADS"
echo "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo absent)${TORCH_ISA:+ ($TORCH_ISA)}"
echo "$peaks" | sed 's/^/measured /; s/$/ GFLOP\/s per core/'
case "$SIZE" in
  small) sizes=(small) ;;
  large) sizes=(large) ;;
  both) sizes=(small large) ;;
  *) echo "unet3d_cpu.sh: --size is small, large or both" >&2; exit 2 ;;
esac
for size in "${sizes[@]}"; do
  # Defaults: 3 rounds of 3 repetitions small, 1 of 2 large (a large PyTorch
  # step takes ~16 s); --rounds and --reps override them for either size.
  if [ "$size" = small ]; then args=(--features 16 --crop 32 48 32); rounds=${ROUNDS:-3}; reps=${REPS:-3}
  else args=(--features 32 --crop 64 64 64); rounds=${ROUNDS:-1}; reps=${REPS:-2}; fi
  log=$(mktemp)
  for ((r = 1; r <= rounds; r++)); do
    for mode in train infer; do
      "${ours_env[@]}" "$OURS" --mode "$mode" --reps "$reps" --threads "$THREADS" "${args[@]}" 2>/dev/null | \
        sed "s/^innereye rss_kb/innereye_$mode rss_kb/" >>"$log"
      if [ "$have_torch" = 1 ]; then
        "${torch_env[@]}" $TORCH --mode "$mode" --reps "$reps" --threads "$THREADS" "${args[@]}" | \
          sed "s/^torch rss_kb/torch_$mode rss_kb/" >>"$log"
      fi
    done
  done
  path=$(awk '$2 == "cpu_path" { print $3; exit }' "$log")
  gflop=$(/usr/bin/python3 tools/bench/unet3d_torch.py --mode flops "${args[@]}" 2>/dev/null || echo 0)
  peak=$(echo "$peaks" | awk -v p="$path" '$2 == p { print $3 } $2 == "avx2" && p == "generic" { print $3 }' | head -1)
  echo "== $size: UNet3D ${args[*]}, batch 2; our CPU path: $path; forward GFLOP per step: $gflop (training counted as 3x)"
  awk -v gflop="$gflop" -v peak="${peak:-0}" -v threads="$THREADS" -v size="$size" '
    function stats(key,   n, i, j, t, a) {
      n = count[key]; for (i = 1; i <= n; i++) a[i] = v[key, i]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      med[key] = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      lo[key] = a[1]; hi[key] = a[n]
    }
    $2 == "rss_kb" { if ($3 > rss[$1]) rss[$1] = $3; next }
    $2 == "cpu_path" { next }
    { key = $1 " " $2; count[key]++; v[key, count[key]] = $3 }
    END {
      for (key in count) {
        stats(key); split(key, p, " ")
        f = (p[2] == "train") ? 3 * gflop : gflop
        roof = peak > 0 ? sprintf("  %.0f%% of the %.0f GFLOP/s FMA peak", 100 * f / med[key] / (peak * threads), peak * threads) : ""
        printf "%-15s median %.4f s  min %.4f  max %.4f  (%d runs)  %.1f GFLOP/s%s\n", key, med[key], lo[key], hi[key], count[key], f / med[key], roof
      }
      printf "peak RSS: innereye train %.0f MB, infer %.0f MB; torch train %.0f MB, infer %.0f MB\n", rss["innereye_train"] / 1024, rss["innereye_infer"] / 1024, rss["torch_train"] / 1024, rss["torch_infer"] / 1024
      if (("torch train") in count)
        printf "%s: train_ratio=%.3f infer_ratio=%.3f rss_ratio_train=%.3f rss_ratio_infer=%.3f\n", size, med["torch train"] / med["innereye train"], med["torch infer"] / med["innereye infer"], rss["innereye_train"] / rss["torch_train"], rss["innereye_infer"] / rss["torch_infer"]
      else
        print size ": train_ratio=n/a infer_ratio=n/a (python3-torch not installed: make reference-deps)"
    }' "$log"
  rm -f "$log"
done
