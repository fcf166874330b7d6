// bilin/core/bf16.hpp — the bfloat16 number format: float's sign and 8-bit exponent with a
// 7-bit mantissa, stored as the upper 16 bits of a float.
//
// Contract:
// - bf16_bits(x) rounds a float to the nearest bf16 (ties to even) and returns its bits;
//   NaN stays NaN (quiet, sign kept), ±Inf stays ±Inf, finite values that round past the
//   largest bf16 become ±Inf. Subnormal floats become a signed zero: that is what the
//   AVX512-BF16 conversion instructions do (they ignore MXCSR and treat denormals as zero), so
//   the portable and the native paths of kernels/gemm_bf16.hpp round every operand the same.
// - bf16_to_float(bits) is exact (a bf16 is a float with 16 zero low bits).
// - round_bf16(x) = bf16_to_float(bf16_bits(x)): the float nearest x that bf16 can hold.
// Relative rounding error of a normal value: at most 2⁻⁸ (half a unit in the 8th bit).
#pragma once
#include <bit>
#include <cstdint>

namespace bilin {

inline std::uint16_t bf16_bits(float x) noexcept {
  std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t exponent = u & 0x7f800000u;
  if (exponent == 0x7f800000u) {                           // Inf or NaN
    if (u & 0x007fffffu) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
    return static_cast<std::uint16_t>(u >> 16);
  }
  if (exponent == 0) return static_cast<std::uint16_t>((u >> 16) & 0x8000u);  // ±0, subnormals
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

inline float bf16_to_float(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

inline float round_bf16(float x) noexcept { return bf16_to_float(bf16_bits(x)); }

}  // namespace bilin
