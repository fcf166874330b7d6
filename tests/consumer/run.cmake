# Script mode: install the build tree, configure/build/run the consumer against the prefix.
file(REMOVE_RECURSE ${PREFIX} ${BUILD})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BIN} --prefix ${PREFIX})
run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${BUILD} -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${BUILD})
run(${BUILD}/consumer)
