// bilin/kernels/gemm_trans.hpp — the two names every GEMM header shares.
//
// Contract: Trans::N uses a stored operand as is, Trans::T as its transpose (see gemm.hpp);
// gemm_index is the signed 64-bit size/stride type of the kernel layer.
#pragma once
#include <cstdint>

namespace bilin::kernels {

using gemm_index = std::int64_t;
enum class Trans { N, T };

namespace gemm_detail {
using kindex = gemm_index;
}

}  // namespace bilin::kernels
