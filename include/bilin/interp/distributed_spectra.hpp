// bilin/interp/distributed_spectra.hpp — eigendecomposing a batch of interaction matrices with
// the work split over the ranks of a data-parallel run (analyze_lm under mpirun).
//
// Contract: eigh_sorted_shared(Qs, comm, vectors) returns what eigh_sorted(Qs, vectors)
// (interaction_batch.hpp) returns, on every rank: rank r decomposes the matrices
// part_range(m, r, size) (core/partition.hpp) and the values (and vectors) are gathered with
// allgather_parts (train/distributed.hpp). Each matrix is decomposed by the same code as in one
// process, so the result is bit-identical to eigh_sorted's for any rank count. A collective:
// every rank calls it with the same shapes. With one rank it is eigh_sorted.
#pragma once
#include <algorithm>

#include "../core/partition.hpp"
#include "../train/distributed.hpp"
#include "interaction_batch.hpp"

namespace bilin::interp {

inline SortedSpectra<float> eigh_sorted_shared(const TensorF& Qs, train::dist::Communicator& comm, bool vectors = true) {
  if (comm.size() <= 1) return eigh_sorted(Qs, vectors);
  BILIN_CHECK(Qs.defined() && Qs.dim() == 3 && Qs.size(1) == Qs.size(2), "eigh_sorted_shared",
              "expected a batch of square matrices [m, n, n], got ", Qs.defined() ? to_string(Qs.shape()) : "none");
  const TensorF q = Qs.contiguous();
  const index_t m = q.size(0), n = q.size(1);
  const auto [lo, hi] = part_range(m, comm.rank(), comm.size());
  SortedSpectra<float> all;
  all.values = TensorF::zeros({m, n});
  if (vectors) all.vectors = TensorF::zeros({m, n, n});
  if (hi > lo) {
    TensorF part = TensorF::empty({hi - lo, n, n});
    std::copy_n(q.data() + lo * n * n, (hi - lo) * n * n, part.data());
    const SortedSpectra<float> mine = eigh_sorted(part, vectors);
    std::copy_n(mine.values.data(), (hi - lo) * n, all.values.data() + lo * n);
    if (vectors) std::copy_n(mine.vectors.data(), (hi - lo) * n * n, all.vectors.data() + lo * n * n);
  }
  comm.allgather_parts(all.values.data(), m, n);
  if (vectors) comm.allgather_parts(all.vectors.data(), m, n * n);
  return all;
}

}  // namespace bilin::interp
