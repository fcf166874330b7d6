# Data-parallel training under mpirun (issue 21, tests/mpi/mpi_check.sh): N = 2 and 3 ranks on
# loopback against one process, bit-identical reruns, resume at another N, bad use and a killed
# rank. Registered only when CMake found MPI (bilin::mpi); otherwise one test says it is skipped
# (nothing without the examples: the sanitizer build has none).
if(BILIN_BUILD_EXAMPLES AND TARGET bilin::mpi)
  find_program(BILIN_PYTHON3_MPI NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  foreach(check mnist lm sae bad-use)
    add_test(NAME mpi_${check}
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mpi/mpi_check.sh ${check} ${MPIEXEC_EXECUTABLE}
                     ${PROJECT_BINARY_DIR}/examples ${BILIN_PYTHON3_MPI} ${CMAKE_CURRENT_BINARY_DIR}/mpi_${check})
    set_tests_properties(mpi_${check} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS slow
                         ENVIRONMENT "OMP_WAIT_POLICY=passive;BILIN_DATA_DIR=${BILIN_DATA_DIR}")
  endforeach()
elseif(BILIN_BUILD_EXAMPLES)
  add_test(NAME mpi_skipped COMMAND ${CMAKE_COMMAND} -E echo "mpi tests: skipped, MPI was not found at configure time")
  set_tests_properties(mpi_skipped PROPERTIES SKIP_REGULAR_EXPRESSION "skipped")
endif()
