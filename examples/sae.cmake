# Sparse autoencoders on the language model (issue 16): train_sae.
add_executable(train_sae ${CMAKE_CURRENT_LIST_DIR}/train_sae.cpp)
target_link_libraries(train_sae PRIVATE bilin::bilin bilin_project_flags)
target_compile_definitions(train_sae PRIVATE BILIN_DATA_DIR="${BILIN_DATA_DIR}")
