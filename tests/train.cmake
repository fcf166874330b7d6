# The train_mnist command-line contract (issue 4): a two-step run on MNIST must end stdout with
# one JSON line holding dataset, test_acc, test_loss, train_acc, epochs, seconds and checkpoint,
# and write the checkpoint, the resumable checkpoint and metrics.jsonl. Skipped (marker line)
# when MNIST is not found. This one file does both jobs: included from tests/CMakeLists.txt it
# registers the test; run with `cmake -P` it is the test.
if(NOT CMAKE_SCRIPT_MODE_FILE)
  # Waiting OpenMP threads sleep instead of spinning: on a shared, busy machine spinning made
  # these tests up to 50x slower (the same reason train_mnist picks this policy itself).
  foreach(t test_optim test_optim_torch test_loader test_classifier test_checkpoint test_train_resume
            test_train_mnist_smoke)
    if(TEST ${t})
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "OMP_NUM_THREADS=2;OMP_WAIT_POLICY=passive")
    endif()
  endforeach()
  if(BILIN_BUILD_EXAMPLES)
    add_test(NAME train_mnist_cli
             COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:train_mnist> -DOUT=${CMAKE_CURRENT_BINARY_DIR}/train_mnist_cli
                     -P ${CMAKE_CURRENT_LIST_FILE})
    # cmake -P cannot choose its exit code before CMake 3.29, so a skip is reported by a marker line.
    set_tests_properties(train_mnist_cli PROPERTIES SKIP_REGULAR_EXPRESSION "train_mnist_cli: skipped"
                         ENVIRONMENT "OMP_NUM_THREADS=2" TIMEOUT 300)
  endif()
  return()
endif()

file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${EXE}" --dataset mnist --epochs 2 --max-steps 2 --out "${OUT}" --no-final-train-eval
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  if(err MATCHES "not found")
    message("train_mnist_cli: skipped, MNIST not found:\n${err}")
    return()
  endif()
  message(FATAL_ERROR "train_mnist failed (${rc}):\n${err}")
endif()
if(NOT err MATCHES "simd [a-z0-9_+]+, threads [0-9]+, seed 42")
  message(FATAL_ERROR "no start line with SIMD set, threads and seed on stderr:\n${err}")
endif()
if(NOT err MATCHES "epoch +1/2 .*loss .*acc .*samples/s .*ETA")
  message(FATAL_ERROR "no per-epoch progress line on stderr:\n${err}")
endif()
string(STRIP "${out}" out)
string(REGEX REPLACE ".*\n" "" last "${out}")
foreach(key dataset test_acc test_loss train_acc epochs seconds checkpoint)
  string(JSON value ERROR_VARIABLE jerr GET "${last}" ${key})
  if(jerr)
    message(FATAL_ERROR "final JSON line lacks '${key}': ${last}")
  endif()
endforeach()
string(JSON acc GET "${last}" test_acc)
if(acc LESS 0 OR acc GREATER 1)
  message(FATAL_ERROR "test_acc ${acc} is not a fraction")
endif()
string(JSON ckpt GET "${last}" checkpoint)
foreach(f "${ckpt}" "${OUT}/checkpoint.safetensors" "${OUT}/metrics.jsonl")
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "missing output ${f}")
  endif()
endforeach()
message("train_mnist_cli: ok: ${last}")
