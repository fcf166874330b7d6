# examples/lm_quickstart.sh --quick end to end (issue 17): tiny LM, its SAEs and analyze_lm's report
# over all layers, from scratch, then a second run that reuses them. Label "slow" (a real training
# run); skipped (77) without the TinyStories data.
if(BILIN_BUILD_EXAMPLES)
  add_test(NAME lm_quickstart_quick
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/lm/lm_quickstart_test.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}
            ${BILIN_DATA_DIR}/tinystories ${CMAKE_CURRENT_BINARY_DIR}/lm_quickstart_quick)
  set_tests_properties(lm_quickstart_quick PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77 LABELS slow
                       ENVIRONMENT "OMP_NUM_THREADS=2")
endif()
