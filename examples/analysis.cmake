# The paper's analyses (issue 5): the per-class eigendecomposition report (analyze_mnist),
# single-image explanations (explain), toy boolean tasks (toy_tasks), and the report of the
# regularization study (regularization_report, driven by regularization_study.sh).
foreach(prog analyze_mnist explain toy_tasks regularization_report)
  add_executable(${prog} ${CMAKE_CURRENT_LIST_DIR}/${prog}.cpp)
  target_link_libraries(${prog} PRIVATE bilin::bilin bilin_project_flags)
endforeach()
# The study script next to the programs, so it finds train_mnist and regularization_report.
configure_file(${CMAKE_CURRENT_LIST_DIR}/regularization_study.sh ${CMAKE_CURRENT_BINARY_DIR}/regularization_study.sh
               COPYONLY)
# The image studies (issue 19): image_studies reads the checkpoints image_studies.sh trains.
add_executable(image_studies ${CMAKE_CURRENT_LIST_DIR}/image_studies.cpp)
target_link_libraries(image_studies PRIVATE bilin::bilin bilin_project_flags)
configure_file(${CMAKE_CURRENT_LIST_DIR}/image_studies.sh ${CMAKE_CURRENT_BINARY_DIR}/image_studies.sh COPYONLY)
