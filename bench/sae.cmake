# Sparse-autoencoder benchmark (issue 16): bench/compare_torch_sae.py times
# examples/train_sae --time-steps against PyTorch and states the fraction of the FMA peak that
# fma_peak measures in the same run.
add_executable(fma_peak ${CMAKE_CURRENT_LIST_DIR}/fma_peak.cpp)
target_link_libraries(fma_peak PRIVATE bilin::bilin bilin_project_flags)
