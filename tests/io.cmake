# tests/io.cmake — script checks of the io/data area (included by tests/CMakeLists.txt).
# data_scripts_selftest: fetch_mnist / fetch_fmnist / verify end to end against BILIN_DATA_DIR;
# exit code 77 (no MNIST files there) is reported by ctest as "skipped".
find_program(BILIN_BASH bash)
if(BILIN_BASH)
  add_test(NAME data_scripts_selftest
           COMMAND ${BILIN_BASH} ${PROJECT_SOURCE_DIR}/data_scripts/selftest
                   ${CMAKE_CURRENT_BINARY_DIR}/data_scripts_selftest)
  set_tests_properties(data_scripts_selftest PROPERTIES
                       ENVIRONMENT "BILIN_DATA=${BILIN_DATA_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
