# Eigensolver comparison (issue 3): bilin::linalg vs LAPACK ssyevd (LAPACKE + OpenBLAS),
# Eigen's SelfAdjointEigenSolver and Spectra's SymEigsSolver. Peers are linked into this
# bench program only, never into the library.
if(TARGET PkgConfig::OPENBLAS AND TARGET PkgConfig::LAPACKE AND TARGET Eigen3::Eigen AND SPECTRA_INCLUDE_DIR)
  add_executable(compare_eigh ${CMAKE_CURRENT_LIST_DIR}/compare_eigh.cpp)
  target_include_directories(compare_eigh SYSTEM PRIVATE ${SPECTRA_INCLUDE_DIR})
  target_link_libraries(compare_eigh PRIVATE bilin::bilin bilin_project_flags PkgConfig::LAPACKE PkgConfig::OPENBLAS
                        Eigen3::Eigen)
  # Eigen's AVX-512 code trips g++ 12's -Wmaybe-uninitialized inside <avx512fintrin.h>.
  target_compile_options(compare_eigh PRIVATE -Wno-maybe-uninitialized)
else()
  message(STATUS "compare_eigh skipped: needs OpenBLAS, LAPACKE, Eigen3 and Spectra")
endif()
