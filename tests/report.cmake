# tests/report.cmake — the analysis programs end to end (issue 5): toy_tasks, a short
# train_mnist + analyze_mnist run, analyze_mnist on a model trained in PyTorch with the official
# layout, and every report opened in headless Chromium (tests/report_screenshot.sh). Parts whose
# data / torch / chromium are missing are skipped inside the script with a message.
if(BILIN_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/train_mnist.cpp)
  find_program(BILIN_BASH bash)
  if(BILIN_BASH)
    add_test(NAME interp_e2e
             COMMAND ${BILIN_BASH} ${CMAKE_CURRENT_LIST_DIR}/interp_e2e.sh ${PROJECT_BINARY_DIR}/examples
                     ${CMAKE_CURRENT_BINARY_DIR}/interp_e2e)
    set_tests_properties(interp_e2e PROPERTIES ENVIRONMENT "BILIN_DATA=${BILIN_DATA_DIR};OMP_NUM_THREADS=2"
                         SKIP_RETURN_CODE 77 TIMEOUT 900)
  endif()
endif()
