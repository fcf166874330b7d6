// bilin/kernels/gemm_simd.hpp — the SIMD vocabulary the GEMM micro-kernel is written in.
//
// Contract: gemm_simd<T> names the vector type of core/simd.hpp's target (simd::arch, chosen
// at compile time from -march) when that target has FMA:
//   AVX-512F  -> xsimd::batch<T, avx512f>     (32 vector registers)
//   AVX2+FMA  -> xsimd::batch<T, fma3<avx2>>   (16 vector registers)
//   otherwise -> plain T                        (scalar fallback, width 1)
// and offers width, registers, zero(), broadcast(), load() (64-byte aligned pointer),
// loadu()/storeu() (any pointer) and fmadd(a, b, c) = a·b + c with one rounding.
// fmadd calls the FMA intrinsic directly rather than relying on the compiler contracting
// xsimd 8.1's `x*y+z` (which it only does under -ffp-contract=fast).
#pragma once
#include "../core/simd.hpp"

namespace bilin::kernels::gemm_detail {

// core/simd.hpp's target when it fuses multiply-add (the micro-kernel is a chain of FMAs;
// without them the scalar kernel is used).
using simd_arch = std::conditional_t<simd::has_fma, simd::arch, void>;
inline constexpr int simd_register_count = std::is_same_v<simd_arch, xsimd::avx512f> ? 32 : std::is_void_v<simd_arch> ? 0 : 16;

template <class T, class Arch = simd_arch>
struct gemm_simd {
  using type = xsimd::batch<T, Arch>;
  static constexpr int width = static_cast<int>(type::size);
  static constexpr int registers = simd_register_count;
  static type zero() noexcept { return type(T(0)); }
  static type broadcast(T x) noexcept { return type(x); }
  static type load(const T* p) noexcept { return type::load_aligned(p); }
  static type loadu(const T* p) noexcept { return type::load_unaligned(p); }
  static void storeu(T* p, const type& v) noexcept { v.store_unaligned(p); }
  static type fmadd(const type& a, const type& b, const type& c) noexcept {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
      if constexpr (std::is_same_v<T, float>) return type(_mm512_fmadd_ps(a, b, c));
      else return type(_mm512_fmadd_pd(a, b, c));
    } else
#endif
    return xsimd::fma(a, b, c);
  }
};

// Scalar fallback: same interface, width 1, so one micro-kernel template serves all targets.
template <class T>
struct gemm_simd<T, void> {
  using type = T;
  static constexpr int width = 1;
  static constexpr int registers = 16;
  static T zero() noexcept { return T(0); }
  static T broadcast(T x) noexcept { return x; }
  static T load(const T* p) noexcept { return *p; }
  static T loadu(const T* p) noexcept { return *p; }
  static void storeu(T* p, T v) noexcept { *p = v; }
  static T fmadd(T a, T b, T c) noexcept { return a * b + c; }
};

}  // namespace bilin::kernels::gemm_detail
