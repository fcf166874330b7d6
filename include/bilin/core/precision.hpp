// bilin/core/precision.hpp — which arithmetic a matrix product runs in.
//
// Contract: Precision::fp32 multiplies fp32 operands (bilin's default everywhere);
// Precision::bf16 rounds both operands of a GEMM to bfloat16 (core/bf16.hpp) and accumulates
// in fp32 (kernels/gemm_bf16.hpp). Results, parameters and every other computation stay fp32 in
// both cases. parse_precision("fp32" | "bf16") for command-line flags throws bilin::Error naming
// the value it got; precision_name() is the inverse.
#pragma once
#include <string>
#include <string_view>

#include "error.hpp"

namespace bilin {

enum class Precision { fp32, bf16 };

inline const char* precision_name(Precision p) noexcept { return p == Precision::bf16 ? "bf16" : "fp32"; }

inline Precision parse_precision(std::string_view s, const char* what = "precision") {
  if (s == "fp32") return Precision::fp32;
  if (s == "bf16") return Precision::bf16;
  throw Error(what, msg("unknown precision '", std::string(s), "' (expected fp32 or bf16)"));
}

}  // namespace bilin
