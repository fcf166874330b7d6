# Data-parallel training over MPI (issue 21): when MPI was found, the trainers and analyze_lm link
# bilin::mpi (BILIN_WITH_MPI=1) and run under `mpirun -np N`; otherwise they stay single-process.
# Deferred to the end of the directory so that the programs' own .cmake files have run.
function(bilin_link_mpi_programs)
  if(TARGET bilin::mpi)
    foreach(prog train_mnist train_tinylm train_sae analyze_lm)
      if(TARGET ${prog})
        target_link_libraries(${prog} PRIVATE bilin::mpi)
      endif()
    endforeach()
  endif()
endfunction()
cmake_language(DEFER CALL bilin_link_mpi_programs)
