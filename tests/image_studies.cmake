# tests/image_studies.cmake — the image studies (issue 19) end to end: image_studies.sh --quick
# trains its small models and writes the report, which tests/image_studies_browser.py opens in
# headless Chromium (every section and picture present). Skipped (exit 77) without MNIST,
# chromium, chromium-driver or python3-selenium.
if(BILIN_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/image_studies.cpp)
  find_program(BILIN_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT BILIN_PYTHON3)
    find_program(BILIN_PYTHON3 python3)
  endif()
  if(BILIN_PYTHON3)
    add_test(NAME image_studies_quick
             COMMAND ${BILIN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/image_studies_browser.py ${PROJECT_BINARY_DIR}/examples
                     ${CMAKE_CURRENT_BINARY_DIR}/image_studies)
    set_tests_properties(image_studies_quick PROPERTIES ENVIRONMENT "BILIN_DATA=${BILIN_DATA_DIR};OMP_NUM_THREADS=2"
                         SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS slow)
  endif()
endif()
