// bilin/kernels/gemm_trans.hpp — the transpose flag every GEMM header shares.
//
// Contract: Trans::N uses a stored operand as is, Trans::T as its transpose (see gemm.hpp).
// Sizes, strides and leading dimensions are bilin::index_t (core/shape.hpp), the one signed
// 64-bit index type of the whole library.
#pragma once
#include "../core/shape.hpp"

namespace bilin::kernels {

enum class Trans { N, T };

}  // namespace bilin::kernels
