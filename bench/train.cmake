# Training benchmarks (issue 4): one training step in Google Benchmark. The PyTorch
# comparison is the script bench/compare_torch_mnist.py (run it with the build folder).
if(TARGET benchmark::benchmark)
  add_executable(bench_train_step ${CMAKE_CURRENT_LIST_DIR}/bench_train_step.cpp)
  target_link_libraries(bench_train_step PRIVATE bilin::bilin bilin_project_flags benchmark::benchmark)
endif()
