# Training examples (issue 4): the MNIST / Fashion-MNIST trainer.
add_executable(train_mnist ${CMAKE_CURRENT_LIST_DIR}/train_mnist.cpp)
target_link_libraries(train_mnist PRIVATE bilin::bilin bilin_project_flags)
