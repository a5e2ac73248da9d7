#!/usr/bin/env bash
# tools/gpu/check.sh - the device check of the CUDA backend, in one call on a
# GPU machine (docs/gpu.md).  Built elsewhere: run tools/gpu/bundle.sh on the
# build machine, carry gpu-carry/ with the working tree, then from the repo
# root:   tools/gpu/check.sh            (results under $OUT, else gpu-carry/out)
# e.g. with the device runner: run(command="tools/gpu/check.sh",
#      carry=["gpu-carry"], timeout_s=540).
#
# Steps, each under its own timeout (worst case 520 s; about 3 minutes expected):
#   1. GPU, driver, CUDA / cuDNN / cuBLAS / PyTorch versions
#   2. the backend conformance test on the CUDA target, with IE_REQUIRE_DEVICE
#      set so that a backend that does not load fails instead of skipping
#   3. determinism: two processes x 20 steps of a UNet3D, equal SHA-256 of
#      weights + optimiser state; 10 steps + save, a new process resuming for
#      10 more, equal to the 20-step hash
#   4. our training step against PyTorch's on the same card (default and
#      deterministic mode), strict fp32: UNet3D f=32, 2 classes, 2 x 64^3, and
#      the prostate-sized step, f=32, 6 classes, 2 x 64 x 224 x 224
# and prints one table last, also written to $OUT/gpu_check.txt.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-carry/out}
mkdir -p "$OUT"
# The bundle of tools/gpu/bundle.sh, unpacked outside the tree.
CARRY=${CARRY:-${TMPDIR:-/tmp}/ie-gpu-carry}
if [ -f gpu-carry/bundle.tar.gz ]; then
  rm -rf "$CARRY" && mkdir -p "$CARRY" && tar -C "$CARRY" -xzf gpu-carry/bundle.tar.gz
fi
if [ ! -x "$CARRY/bin/test_backend_ops" ]; then
  echo "check.sh: no build to check: run tools/gpu/bundle.sh on the build machine and carry gpu-carry/" >&2
  exit 2
fi
LOG="$OUT/gpu_check.log"
: >"$LOG"
PY=${PYTHON:-python3}
T0=$(date +%s)
rows=()
row() { rows+=("$(printf '%-42s | %-6s | %s' "$1" "$2" "$3")"); }
say() { echo "== $*" | tee -a "$LOG"; }

# cuDNN / cuBLAS come from PyTorch's NVIDIA wheels on the GPU machines.
NVLIBS=$("$PY" -c 'import glob, os, site
dirs = []
for sp in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += sorted(glob.glob(os.path.join(sp, "nvidia", "*", "lib")))
print(":".join(dirs))' 2>/dev/null || true)
export LD_LIBRARY_PATH="$CARRY/lib${NVLIBS:+:$NVLIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export INNEREYE_CUDA_MODULE="$CARRY/lib/libinnereye_cuda.so"
BIN="$CARRY/bin"

# ---- 1. versions ----
say "versions"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 || echo "nvidia-smi failed"
  command -v nvcc >/dev/null && nvcc --version | tail -2
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1
  ls $(echo "$NVLIBS" | tr ':' ' ') 2>/dev/null | grep -E '^lib(cudnn|cublasLt)\.so' | sort -u | tr '\n' ' '; echo
  ldd "$CARRY/lib/libinnereye_cuda.so" | grep -E 'not found|cudnn|cublas' || true
} 2>&1 | tee -a "$LOG"
GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
row "gpu, driver" "info" "${GPU:-none found}"

# ---- 2. conformance on the CUDA target (skip is failure here) ----
say "backend conformance, cuda target"
out=$(IE_REQUIRE_DEVICE=1 timeout 100 "$BIN/test_backend_ops" cuda 2>&1); rc=$?
echo "$out" >>"$LOG"
echo "$out" | grep -E 'FAIL|not in the backend|backend conformance|skipped|not run' | tail -40
summary=$(echo "$out" | grep "backend conformance:" | tail -1); [ -n "$summary" ] || summary=$(echo "$out" | tail -1 | cut -c1-150)
missing=$(echo "$out" | grep -c 'not in the backend' || true)
row "conformance (cuda)" "$([ $rc = 0 ] && echo PASS || echo FAIL)" "rc $rc; ${summary:-no summary}; $missing cases not in the table"

# ---- 3. determinism ----
say "determinism"
det() {
  local o r
  o=$(timeout 35 "$BIN/gpu_determinism" --device cuda "$@" 2>&1); r=$?
  echo "$o" | grep -v '^backend '
  return $r
}
a=$(det --steps 20); ra=$?
b=$(det --steps 20); rb=$?
c=$(det --steps 10 --save "$OUT/state10.bin"); rc1=$?
d=$(det --steps 10 --resume "$OUT/state10.bin"); rd=$?
printf '%s\n--\n%s\n--\n%s\n--\n%s\n' "$a" "$b" "$c" "$d" | tee -a "$LOG"
ha=$(echo "$a" | awk '/^sha256/{print $2}'); hb=$(echo "$b" | awk '/^sha256/{print $2}')
hd=$(echo "$d" | awk '/^sha256/{print $2}')
if [ $ra != 0 ] || [ $rb != 0 ]; then
  row "determinism 2 x 20 steps" "FAIL" "$(echo "$a" | tail -1 | cut -c1-150)"
elif [ -n "$ha" ] && [ "$ha" = "$hb" ]; then row "determinism 2 x 20 steps" "PASS" "sha256 ${ha:0:16}..."
else row "determinism 2 x 20 steps" "FAIL" "${ha:0:16} != ${hb:0:16}"; fi
if [ $rc1 != 0 ] || [ $rd != 0 ]; then
  row "10 + resume + 10 = 20" "FAIL" "$(echo "$c$d" | tail -1 | cut -c1-150)"
elif [ -n "$hd" ] && [ "$hd" = "$ha" ]; then row "10 + resume + 10 = 20" "PASS" "sha256 ${hd:0:16}..."
else row "10 + resume + 10 = 20" "FAIL" "${hd:0:16} != ${ha:0:16}"; fi

# ---- 4. timing against PyTorch on the same card ----
# Two shapes: the small one of the determinism rows, and the prostate-sized
# step of the issue (UNet3D f=32, 6 classes, batch 2 x 64 x 224 x 224).
# bench LABEL STEPS TIMEOUT SHAPE...: our step, then PyTorch default and
# deterministic; the first line of our run's "backend" JSON (GPU, versions,
# chosen engines) goes to the log.
bench() {
  local label=$1 steps=$2 limit=$3; shift 3
  say "timing $label: $*"
  local ours torch ro rt line mode
  ours=$(timeout "$limit" "$BIN/gpu_determinism" --device cuda --steps "$steps" "$@" 2>&1); ro=$?
  echo "$ours" | tee -a "$LOG" | grep -v '^backend ' 
  if [ $ro = 0 ]; then row "innereye $label (ms)" "time" "$(echo "$ours" | awk '/^step_ms/{print $2}')"
  else row "innereye $label (ms)" "FAIL" "rc $ro; $(echo "$ours" | grep -v '^backend ' | tail -1 | cut -c1-150)"; fi
  torch=$(timeout "$limit" "$PY" tools/gpu/unet3d_torch_gpu.py --steps "$steps" "$@" 2>&1); rt=$?
  echo "$torch" | tee -a "$LOG"
  for mode in default deterministic; do
    line=$(echo "$torch" | grep "^torch $mode " | tail -1)
    case "$line" in
      *step_ms*) row "pytorch $mode $label (ms)" "time" "${line##* }" ;;
      *error*) row "pytorch $mode $label (ms)" "error" "${line#*error }" ;;
      *) row "pytorch $mode $label (ms)" "FAIL" "rc $rt; $(echo "$torch" | tail -1 | cut -c1-150)" ;;
    esac
  done
}
bench "2x64^3 f32 c2" 6 45 --features 32 --depth 4 --classes 2 --crop 64 64 64
bench "2x64x224^2 f32 c6" 4 95 --features 32 --depth 4 --classes 6 --crop 64 224 224
# The engines cuDNN's heuristics gave (run.json records the same object).
engines=$(grep -h '^backend ' "$LOG" | tail -1)
if [ -n "$engines" ]; then
  echo "$engines" | "$PY" -c 'import json, sys
d = json.loads(sys.stdin.read()[len("backend "):])
print("gpu", d.get("gpu"), "sm", d.get("sm_count"), "driver", d.get("driver"), "cudnn", d.get("cudnn"))
for e in d.get("conv_engines", []): print(" ", e["op"], "engine", e["engine"], e["notes"] or "-", e["geometry"])' 2>&1 | tee -a "$LOG" | head -40
  row "cudnn engines recorded" "info" "$(echo "$engines" | grep -o '"engine"' | wc -l) plans"
fi

# ---- the table, last ----
{
  echo
  echo "InnerEye CUDA backend check ($(date -u +%FT%TZ), $(($(date +%s) - T0)) s)"
  printf '%-42s | %-6s | %s\n' "check" "result" "detail"
  printf '%s\n' "-------------------------------------------+--------+-------------------------------------------"
  printf '%s\n' "${rows[@]}"
} | tee "$OUT/gpu_check.txt"
grep -q '| FAIL ' "$OUT/gpu_check.txt" && exit 1
exit 0
