// bilin/core/partition.hpp — splitting n items into contiguous parts (data-parallel shards).
//
// Contract: part_range(n, part, parts) is the half-open range [begin, end) of part `part` of
// `parts` when n items are split into contiguous blocks in order: every part gets n / parts
// items and the first n % parts parts one more, so the parts cover 0..n exactly once and differ
// in size by at most one. parts must be >= 1 and 0 <= part < parts (bilin::Error otherwise);
// a part may be empty when n < parts.
#pragma once
#include <algorithm>
#include <utility>

#include "error.hpp"
#include "shape.hpp"

namespace bilin {

inline std::pair<index_t, index_t> part_range(index_t n, index_t part, index_t parts) {
  BILIN_CHECK(parts >= 1 && part >= 0 && part < parts && n >= 0, "part_range", "part ", part, " of ", parts,
              " of ", n, " items");
  const index_t base = n / parts, extra = n % parts;
  const index_t begin = part * base + std::min(part, extra);
  return {begin, begin + base + (part < extra ? 1 : 0)};
}

}  // namespace bilin
