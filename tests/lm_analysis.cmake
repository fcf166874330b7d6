# analyze_lm end to end (issue 17 A): a tiny LM and its SAEs are trained, analyze_lm writes its
# report, which is opened in headless Chromium with every picture checked; bad inputs must fail
# clearly without writing anything (tests/lm_analysis/analyze_lm_e2e.sh). Skipped (exit 77)
# without the TinyStories data or Chromium.
if(BILIN_BUILD_EXAMPLES)
  add_test(NAME analyze_lm_e2e
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/lm_analysis/analyze_lm_e2e.sh $<TARGET_FILE:train_tinylm>
            $<TARGET_FILE:train_sae> $<TARGET_FILE:analyze_lm> ${BILIN_DATA_DIR}/tinystories
            ${CMAKE_CURRENT_BINARY_DIR}/analyze_lm_e2e)
  set_tests_properties(analyze_lm_e2e PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77 LABELS slow
                       ENVIRONMENT "OMP_NUM_THREADS=2")
endif()
