# Install bilin into a scratch prefix and build + run a separate project against it with
# find_package(bilin): proves the exported package configuration works.
set(_prefix ${CMAKE_BINARY_DIR}/consumer-test/prefix)
set(_build ${CMAKE_BINARY_DIR}/consumer-test/build)
add_test(NAME install_and_find_package
  COMMAND ${CMAKE_COMMAND}
    -DSRC=${PROJECT_SOURCE_DIR} -DBIN=${CMAKE_BINARY_DIR} -DPREFIX=${_prefix} -DBUILD=${_build}
    -DCONSUMER=${CMAKE_CURRENT_SOURCE_DIR}/consumer -DCXX=${CMAKE_CXX_COMPILER}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake)
set_tests_properties(install_and_find_package PROPERTIES TIMEOUT 300)
