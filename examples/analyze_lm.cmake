# analyze_lm (issue 17): weight-based analysis of a language model's bilinear MLP and its report.
add_executable(analyze_lm ${CMAKE_CURRENT_LIST_DIR}/analyze_lm.cpp)
target_link_libraries(analyze_lm PRIVATE bilin::bilin bilin_project_flags)
target_compile_definitions(analyze_lm PRIVATE BILIN_DATA_DIR="${BILIN_DATA_DIR}")
