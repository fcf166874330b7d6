# The C++ example in README.md is compiled and run as a test, taken from README.md itself
# (the first ```cpp block), so the README can never show code that does not build.
file(READ ${PROJECT_SOURCE_DIR}/README.md _readme)
string(REGEX MATCH "```cpp\n(.*)```" _block "${_readme}")
string(REGEX REPLACE "```.*" "" _code "${CMAKE_MATCH_1}")
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp CONTENT "${_code}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/README.md)
add_executable(readme_example ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp)
target_link_libraries(readme_example PRIVATE bilin::bilin bilin_project_flags)
add_test(NAME readme_example COMMAND readme_example)
