# GEMM benchmarks (issue 7). OpenBLAS and Eigen are linked into these bench programs only,
# never into the library.
if(TARGET benchmark::benchmark)
  add_executable(bench_gemm ${CMAKE_CURRENT_LIST_DIR}/bench_gemm.cpp)
  target_link_libraries(bench_gemm PRIVATE bilin::bilin bilin_project_flags benchmark::benchmark)
endif()
if(TARGET PkgConfig::OPENBLAS AND TARGET Eigen3::Eigen)
  add_executable(compare_gemm ${CMAKE_CURRENT_LIST_DIR}/compare_gemm.cpp)
  target_link_libraries(compare_gemm PRIVATE bilin::bilin bilin_project_flags PkgConfig::OPENBLAS Eigen3::Eigen)
  # Eigen's AVX-512 transposes trip g++ 12's -Wmaybe-uninitialized inside <avx512fintrin.h>.
  target_compile_options(compare_gemm PRIVATE -Wno-maybe-uninitialized)
endif()
