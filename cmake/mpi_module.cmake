# The MPI transport module, libinnereye_mpi.so (core/dist/mpi_module.c,
# docs/distributed.md).
#
# Its own module rather than linked into libinnereye: libinnereye then loads
# and runs on machines without Open MPI (a laptop, a GPU box, the plugin SDK),
# and only a process started by mpirun or srun opens the module (core/dist/
# comm.c), as the CUDA backend is opened only when a GPU is used.
# Built when MPI's C bindings are found (Debian: libopenmpi-dev); otherwise
# data-parallel runs say the module is missing and how to get it.
find_package(MPI COMPONENTS C QUIET)
if(NOT MPI_C_FOUND)
  message(STATUS "InnerEye: MPI not found; no data-parallel training across processes (apt-get install "
                 "libopenmpi-dev)")
  return()
endif()
add_library(innereye_mpi MODULE ${CMAKE_SOURCE_DIR}/core/dist/mpi_module.c)
target_include_directories(innereye_mpi PRIVATE ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/sdk/include)
target_compile_options(innereye_mpi PRIVATE ${IE_WARNINGS} -fvisibility=hidden)
target_link_libraries(innereye_mpi PRIVATE MPI::MPI_C)
# Beside libinnereye, where core/dist/comm.c looks for it.
set_target_properties(innereye_mpi PROPERTIES PREFIX "lib" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
install(TARGETS innereye_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
message(STATUS "InnerEye: MPI module on (MPI ${MPI_C_VERSION})")
