# Language-model benchmarks (issue 6): fused attention / RMSNorm / RoPE / unembedding+loss vs
# their unfused compositions, whole training steps, KV-cache decoding.
# PyTorch comparison: bench/compare_torch_lm.py (runs examples/train_tinylm --time-steps).
if(TARGET benchmark::benchmark)
  add_executable(bench_lm ${CMAKE_CURRENT_LIST_DIR}/bench_lm.cpp)
  target_link_libraries(bench_lm PRIVATE bilin::bilin bilin_project_flags benchmark::benchmark)
endif()
