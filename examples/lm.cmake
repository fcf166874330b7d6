# Tiny language models (issue 6): TinyStories trainer and sampler.
foreach(prog train_tinylm generate)
  add_executable(${prog} ${CMAKE_CURRENT_LIST_DIR}/${prog}.cpp)
  target_link_libraries(${prog} PRIVATE bilin::bilin bilin_project_flags)
  target_compile_definitions(${prog} PRIVATE BILIN_DATA_DIR="${BILIN_DATA_DIR}")
endforeach()
