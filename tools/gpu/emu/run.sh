#!/usr/bin/env bash
# tools/gpu/emu/run.sh - runs the CUDA backend's own kernels (the .cu files of
# core/backend/cuda) on the CPU, for machines without a GPU: each .cu file is
# compiled as C++ against the stand-in runtime of this folder (a block's
# threads are std::threads sharing a std::barrier for __syncthreads, or run
# one after another in kernels without it), the family files cuda_*.c
# against its cuda_runtime_api.h, and emu_backend.c serves them as the CUDA
# device's module (host memory; convolutions are the CPU's, cuDNN is not
# emulated).  Then the conformance test runs its cuda target on it:
#   tools/gpu/emu/run.sh BUILD_DIR [FILTER]     e.g. tools/gpu/emu/run.sh build loss.
# It checks the kernels' logic (indexing, partial sums, the order of
# combination) against the CPU reference, not the GPU's arithmetic, and it is
# slow (a thread per GPU thread of every block that synchronises): run it
# with a filter.  Not part of ctest.
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [FILTER]}" && pwd)

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/inc"
cp "$HERE/cuda_runtime.h" "$HERE/cuda_runtime_api.h" "$WORK/inc/"
# kernel<<<grid, block, shmem, stream>>>(args); -> ie_emu_launch[_seq](grid, block, [&] { kernel(args); });
python3 - "$ROOT/core/backend/cuda" "$WORK" <<'PY'
import glob, os, re, sys
src, work = sys.argv[1], sys.argv[2]
for f in sorted(glob.glob(os.path.join(src, "*.cu"))):
    s = open(f).read()
    sync = {m.group(1) for m in re.finditer(r"__global__ void (\w+)\((.*?)\{(.*?)\n\}", s, flags=re.S)
            if "__syncthreads" in m.group(3) or "block_sum" in m.group(3)}
    def launch(m):
        fn = "ie_emu_launch" if m.group(1) in sync else "ie_emu_launch_seq"
        return "%s(%s, [&] { %s(%s); });" % (fn, ",".join(m.group(2).split(",")[:2]), m.group(1), m.group(3))
    s = re.sub(r"(\w+)<<<(.*?)>>>\((.*?)\);", launch, s, flags=re.S)
    open(os.path.join(work, os.path.basename(f) + ".cpp"), "w").write(s)
PY
cd "$ROOT"
for f in "$WORK"/*.cu.cpp "$HERE/emu_support.cpp"; do
  g++ -std=c++20 -O1 -fPIC -ffp-contract=off -w -I"$WORK/inc" -I. -Isdk/include -c "$f" -o "$WORK/$(basename "$f").o"
done
for f in core/backend/cuda/cuda_{pointwise,reduce,optim,pool,norm,loss}.c "$HERE/emu_backend.c"; do
  gcc -std=c11 -O1 -fPIC -ffp-contract=off -Wall -Wextra -Werror -I"$WORK/inc" -I. -Isdk/include \
    -DIE_VERSION_STRING="\"$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")\"" \
    -c "$f" -o "$WORK/$(basename "$f").o"
done
g++ -shared -o "$WORK/libinnereye_cuda_emu.so" "$WORK"/*.o -L"$BUILD/lib" -linnereye -lpthread -Wl,-rpath,"$BUILD/lib"
INNEREYE_CUDA_MODULE="$WORK/libinnereye_cuda_emu.so" IE_REQUIRE_DEVICE=1 "$BUILD/tests/test_backend_ops" cuda ${2:+"$2"}
