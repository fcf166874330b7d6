# Crash safety of the trainers (issue 20 part B; README "Crash safety"). Skipped when the examples
# are not built or the data is missing (the scripts exit 77).
# - crash_cli: SIGINT/SIGTERM checkpoint-and-exit (exit 75) and resume, --inject-nan stop naming
#   step and parameter (and --skip-nonfinite), full disk and read-only output at program level
#   (tests/crash/cli.sh; private tmpfs mounts, with a fallback without mount rights).
# - crash_kill_quick: 5 random SIGKILLs per trainer, every resumed run bit-identical to the
#   uninterrupted one; crash_kill (label slow): the issue's 20 kills per trainer. The seed is
#   random and printed (tests/crash/kill_test.py --seed S repeats a run).
# The library-level file-system, NaN and signal tests are in tests/test_train_crash_safety.cpp.
if(BILIN_BUILD_EXAMPLES)
  add_test(NAME crash_cli
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/crash/cli.sh $<TARGET_FILE:train_mnist> $<TARGET_FILE:train_tinylm>
            $<TARGET_FILE:train_sae> ${BILIN_DATA_DIR}/tinystories ${CMAKE_CURRENT_BINARY_DIR}/crash_cli)
  foreach(kills 5 20)
    set(name crash_kill_quick)
    if(kills EQUAL 20)
      set(name crash_kill)
    endif()
    add_test(NAME ${name}
      COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/crash/kill_test.py --kills ${kills} --mnist $<TARGET_FILE:train_mnist>
              --tinylm $<TARGET_FILE:train_tinylm> --sae $<TARGET_FILE:train_sae> --data ${BILIN_DATA_DIR}/tinystories
              --work ${CMAKE_CURRENT_BINARY_DIR}/${name})
  endforeach()
  set_tests_properties(crash_cli crash_kill_quick crash_kill PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77
                       ENVIRONMENT "OMP_NUM_THREADS=1;OMP_WAIT_POLICY=passive")
  set_property(TEST crash_kill APPEND PROPERTY LABELS slow)
endif()
