# tests/explorer.cmake — the explorer page (issue 22) in real headless Chromium: a small model is
# trained, analyze_mnist --explorer writes its page, and tests/explorer_browser.py drives it
# through Selenium (strokes, slider, loaded images, pushes) against explain --json. Skipped
# (exit 77) without MNIST, chromium, chromium-driver or python3-selenium. Screenshots land in
# build/<config>/tests/explorer/.
if(BILIN_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/train_mnist.cpp)
  find_program(BILIN_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT BILIN_PYTHON3)
    find_program(BILIN_PYTHON3 python3)
  endif()
  if(BILIN_PYTHON3)
    add_test(NAME explorer_browser
             COMMAND ${BILIN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/explorer_browser.py ${PROJECT_BINARY_DIR}/examples
                     ${CMAKE_CURRENT_BINARY_DIR}/explorer)
    set_tests_properties(explorer_browser PROPERTIES ENVIRONMENT "BILIN_DATA=${BILIN_DATA_DIR};OMP_NUM_THREADS=2"
                         SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS slow)
  endif()
endif()
