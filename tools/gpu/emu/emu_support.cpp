#include "cuda_runtime.h"
thread_local dim3 threadIdx;
dim3 blockIdx, blockDim, gridDim;
std::barrier<> *ie_emu_barrier;
