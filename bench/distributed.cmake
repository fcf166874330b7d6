# Data-parallel training (issue 21): allreduce time for bilin's gradient sizes under mpirun, and
# bench/distributed_throughput.sh (2 ranks x 1 thread against 1 process x 2 threads).
if(TARGET bilin::mpi)
  add_executable(allreduce_bench ${CMAKE_CURRENT_LIST_DIR}/allreduce_bench.cpp)
  target_link_libraries(allreduce_bench PRIVATE bilin::mpi bilin_project_flags)
endif()
