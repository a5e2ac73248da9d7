// CPU emulation of the CUDA runtime subset core/backend/cuda/*.cu uses: a
// block's threads are std::threads sharing a std::barrier for __syncthreads.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>
#include "cuda_runtime_api.h"
#define __global__ static
#define __device__ inline
#define __shared__ static thread_local_block
#define thread_local_block /* one block runs at a time: function statics are the block's shared memory */
struct dim3 { unsigned x = 1, y = 1, z = 1; };
extern thread_local dim3 threadIdx;
extern dim3 blockIdx, blockDim, gridDim;
extern std::barrier<> *ie_emu_barrier;
inline void __syncthreads() { ie_emu_barrier->arrive_and_wait(); }
inline void ie_emu_launch(unsigned grid, unsigned block, const std::function<void()> &fn) {
    gridDim.x = grid, blockDim.x = block;
    for (unsigned b = 0; b < grid; b++) {
        blockIdx.x = b;
        std::barrier<> bar((std::ptrdiff_t)block);
        ie_emu_barrier = &bar;
        std::vector<std::thread> th;
        for (unsigned t = 0; t < block; t++) th.emplace_back([t, &fn] { threadIdx.x = t; fn(); });
        for (auto &x : th) x.join();
    }
}
using std::isnan;
// Kernels without __syncthreads: a block's threads one after another.
inline void ie_emu_launch_seq(unsigned grid, unsigned block, const std::function<void()> &fn) {
    gridDim.x = grid, blockDim.x = block;
    for (unsigned b = 0; b < grid; b++) {
        blockIdx.x = b;
        for (unsigned t = 0; t < block; t++) threadIdx.x = t, fn();
    }
}
