# Official-layout models end to end (issue 18): generate --ids --logits-out against PyTorch,
# generate with the folder's tokenizer.json, analyze_lm and train_sae on a random official
# folder made by tests/official_lm_torch.py (tests/official/official_e2e.sh; seconds). Skipped
# (exit 77) when /usr/bin/python3 has no torch.
if(BILIN_BUILD_EXAMPLES)
  add_test(NAME official_e2e
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/official/official_e2e.sh $<TARGET_FILE:generate> $<TARGET_FILE:analyze_lm>
            $<TARGET_FILE:train_sae> ${BILIN_DATA_DIR}/tinystories ${CMAKE_CURRENT_BINARY_DIR}/official_e2e)
  set_tests_properties(official_e2e PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 ENVIRONMENT "OMP_NUM_THREADS=2")
endif()
