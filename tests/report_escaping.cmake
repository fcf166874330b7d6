# Reports are safe to open (issue 20): analyze_lm, analyze_mnist (+ explorer) and
# regularization_report run on hostile paths, dataset names, a hostile corpus and a hostile model
# label; every page is checked in headless Chromium (tests/report_escaping/reports_are_safe.py).
# The escaping functions themselves are unit-tested in bilin_tests (test_report_escaping.cpp),
# which the sanitizer build runs too. Skipped (exit 77) without the data or Chromium.
if(BILIN_BUILD_EXAMPLES)
  find_program(BILIN_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT BILIN_PYTHON3)
    find_program(BILIN_PYTHON3 python3)
  endif()
  if(BILIN_PYTHON3)
    add_test(NAME reports_are_safe
             COMMAND ${BILIN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/report_escaping/reports_are_safe.py
                     ${PROJECT_BINARY_DIR}/examples ${CMAKE_CURRENT_BINARY_DIR}/reports_are_safe)
    set_tests_properties(reports_are_safe PROPERTIES ENVIRONMENT "BILIN_DATA=${BILIN_DATA_DIR};OMP_NUM_THREADS=2"
                         SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS slow)
  endif()
endif()
