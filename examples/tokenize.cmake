# tokenize: train a BPE (or char) tokenizer on a corpus, save it, encode train/val token caches.
add_executable(tokenize ${CMAKE_CURRENT_LIST_DIR}/tokenize.cpp)
target_link_libraries(tokenize PRIVATE bilin::bilin bilin_project_flags)
target_compile_definitions(tokenize PRIVATE BILIN_DATA_DIR="${BILIN_DATA_DIR}")

# Smoke test: the whole pipeline on the TinyStories subset (skipped when the data is absent).
if(BILIN_BUILD_TESTS AND EXISTS "${BILIN_DATA_DIR}/tinystories/TinyStories-valid-head.txt")
  add_test(NAME example_tokenize
           COMMAND tokenize --vocab 1024 --out ${CMAKE_CURRENT_BINARY_DIR}/tokenize_smoke)
  set_tests_properties(example_tokenize PROPERTIES PASS_REGULAR_EXPRESSION "\"vocab_size\": 1024" TIMEOUT 120)
endif()
