# The CUDA backend module, libinnereye_cuda.so (core/backend/cuda, docs/gpu.md).
#
# Built when nvcc is found (check_language) together with cuDNN and cuBLASLt;
# otherwise the build is CPU-only and says why.  The module links cudart
# statically (so it needs only the NVIDIA driver at run time) and cuDNN /
# cuBLASLt dynamically; libinnereye never links any of them, so it keeps
# loading on machines without CUDA (core/backend/backend.h).
#
# cuDNN is looked for under CUDNN_ROOT (variable or environment), then the
# toolkit, in the layouts of NVIDIA's packages (include/, lib/ or lib64/),
# pip wheels (site-packages/nvidia/cudnn/{include,lib}, whose library is only
# libcudnn.so.9) and conda (include/, lib/).
# IE_CUDA=OFF skips it (the sanitizer and fuzzing builds of the Makefile:
# their flags are for clang/gcc objects, not for nvcc's).
option(IE_CUDA "Build the CUDA backend module when nvcc, cuDNN and cuBLASLt are found" ON)
set(IE_CUDA_BACKEND OFF)
if(NOT IE_CUDA)
  message(STATUS "InnerEye: IE_CUDA=OFF; building the CPU backend only")
  return()
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "InnerEye: no CUDA compiler found; building the CPU backend only")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  # A100 and H100/H200 as real code, plus PTX of the newest for later GPUs.
  set(CMAKE_CUDA_ARCHITECTURES "80-real;90")
endif()
enable_language(CUDA)
find_package(CUDAToolkit)
set(IE_CUDNN_HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_LIBRARY_ROOT} $ENV{CONDA_PREFIX})
find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${IE_CUDNN_HINTS} ${CUDAToolkit_INCLUDE_DIRS}
          PATH_SUFFIXES include nvidia/cudnn/include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${IE_CUDNN_HINTS} ${CUDAToolkit_LIBRARY_DIR}
             PATH_SUFFIXES lib lib64 nvidia/cudnn/lib)
if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart_static OR NOT TARGET CUDA::cublasLt OR NOT CUDNN_INCLUDE_DIR
   OR NOT CUDNN_LIBRARY)
  message(STATUS "InnerEye: nvcc found but not the whole CUDA stack (toolkit ${CUDAToolkit_FOUND}, "
                 "cuDNN header ${CUDNN_INCLUDE_DIR}, cuDNN library ${CUDNN_LIBRARY}); building the CPU backend "
                 "only (set CUDNN_ROOT to cuDNN's folder)")
  return()
endif()
set(IE_CUDA_BACKEND ON)
message(STATUS "InnerEye: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures "
               "${CMAKE_CUDA_ARCHITECTURES}, cuDNN ${CUDNN_LIBRARY})")

file(GLOB IE_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/core/backend/cuda/*.c
     ${CMAKE_SOURCE_DIR}/core/backend/cuda/*.cu)
add_library(innereye_cuda MODULE ${IE_CUDA_SOURCES})
target_include_directories(innereye_cuda PRIVATE ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/sdk/include)
target_include_directories(innereye_cuda SYSTEM PRIVATE ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
target_compile_options(innereye_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:C>:${IE_WARNINGS}>
  # No contraction the source does not spell (fmaf): the CPU builds with
  # -ffp-contract=off, and the determinism contract wants the same bytes on
  # every build.  Never --use_fast_math (approximate division and sqrt).
  $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false -Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Werror>)
target_compile_definitions(innereye_cuda PRIVATE IE_VERSION_STRING="${PROJECT_VERSION}")
target_link_libraries(innereye_cuda PRIVATE innereye CUDA::cudart_static ${CUDNN_LIBRARY} Threads::Threads)
set_target_properties(innereye_cuda PROPERTIES C_VISIBILITY_PRESET hidden CUDA_VISIBILITY_PRESET hidden
                      CUDA_RUNTIME_LIBRARY Static)
install(TARGETS innereye_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
