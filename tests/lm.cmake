# End-to-end check of the language-model programs (issue 6): a tiny train_tinylm run on the
# TinyStories subset, interrupted and resumed (same result as an uninterrupted run), generate
# from its checkpoint, and clear errors for corrupted checkpoints. Skipped when the examples are
# not built or the data is missing (the script exits 77).
if(BILIN_BUILD_EXAMPLES)
  add_test(NAME lm_cli_smoke
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/lm/cli_smoke.sh $<TARGET_FILE:train_tinylm> $<TARGET_FILE:generate>
            ${BILIN_DATA_DIR}/tinystories ${CMAKE_CURRENT_BINARY_DIR}/lm_cli_smoke)
  set_tests_properties(lm_cli_smoke PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 ENVIRONMENT "OMP_NUM_THREADS=2")
endif()
