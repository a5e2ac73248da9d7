#!/usr/bin/env bash
# tools/gpu/bundle.sh - run HERE (the build machine) after building: gathers
# what tools/gpu/check.sh needs on a GPU machine into gpu-carry/bundle.tar.gz
# (gpu-carry/ is ignored by git), small enough for the device runner's
# `carry` (64 MiB in all; about 43 MB packed, 125 MB unpacked): the test
# and tool binaries, libinnereye, libinnereye_cuda.so and the non-system
# libraries they load (OpenBLAS, cJSON, ITK, ...), which GPU machines may lack.
# cuDNN and cuBLAS are not carried: check.sh finds PyTorch's wheels there.
set -euo pipefail
BUILD=${1:-build}
rm -rf gpu-carry
DEST=gpu-carry/stage
mkdir -p "$DEST/bin" "$DEST/lib"
cp "$BUILD/tests/test_backend_ops" "$BUILD/bin/gpu_determinism" "$DEST/bin/"
cp -L "$BUILD/lib/libinnereye.so.0" "$BUILD/lib/libinnereye_cuda.so" "$DEST/lib/"
# Libraries outside the C runtime and the CUDA stack, resolved from here.
ldd "$BUILD/lib/libinnereye.so.0" "$BUILD/lib/libinnereye_cuda.so" "$DEST/bin/"* 2>/dev/null |
  awk '/=> \// {print $1, $3}' | sort -u |
  while read -r name path; do
    case "$name" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*) continue ;;
      libcudnn*|libcublas*|libcudart*|libcuda.so*|libinnereye*) continue ;;
    esac
    cp -Ln "$path" "$DEST/lib/$name"
  done
strip --strip-unneeded "$DEST"/lib/*.so* "$DEST"/bin/* 2>/dev/null || true
tar -C "$DEST" -czf gpu-carry/bundle.tar.gz bin lib
rm -rf "$DEST"
ls -la gpu-carry/bundle.tar.gz
