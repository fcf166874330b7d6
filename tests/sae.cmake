# End-to-end check of train_sae (issue 16) on a tiny LM it trains first (tests/sae/cli_smoke.sh;
# seconds, so not labelled slow). Skipped when the examples are not built or the data is missing
# (the script exits 77).
if(BILIN_BUILD_EXAMPLES)
  add_test(NAME sae_cli_smoke
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/sae/cli_smoke.sh $<TARGET_FILE:train_tinylm> $<TARGET_FILE:train_sae>
            ${BILIN_DATA_DIR}/tinystories ${CMAKE_CURRENT_BINARY_DIR}/sae_cli_smoke)
  set_tests_properties(sae_cli_smoke PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 ENVIRONMENT "OMP_NUM_THREADS=2")
endif()
