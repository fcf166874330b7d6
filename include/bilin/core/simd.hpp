// bilin/core/simd.hpp — the one place bilin includes xsimd and the x86 intrinsics headers, and
// the one place it chooses the SIMD target.
//
// Contract: bilin::simd::arch is the xsimd architecture every bilin kernel computes with (the
// GEMM, the linalg vector kernels, the elementwise maps and reductions, the fused ops), chosen
// at compile time from what -march enabled: AVX-512F, else AVX2 with FMA, else SSE2, else none
// (void: scalar code only). simd::batch<T> is the vector of T on it, simd::vectorized<T> says
// whether T (float or double) has a vector path on it, simd::has_fma whether a·b + c fuses,
// simd::arch_name() its name. store_stream / stream_fence write large outputs past the caches
// (non-temporal stores) where the target has them.
// Why AVX-512F and never xsimd's default_arch: on an AVX-512BW machine xsimd 8.1 picks avx512bw,
// whose integer `select` (reached from xsimd::log, exp, pow …) does not compile at -O0 with
// g++ 12 (the AVX-512BW blend intrinsics are macros with casts there); float and double code
// gains nothing from AVX-512BW (it adds 8- and 16-bit integer instructions), so one target
// for all kernels also keeps a debug build compiling.
//
// Why a header of its own: g++ 12 flags the deliberate `__Y = __Y` inside its own AVX-512
// intrinsics (_mm512_undefined_ps and friends, used by every unpack, shuffle and permute) as
// "(maybe) used uninitialized" wherever they are inlined: an -march=native build on an
// AVX-512 machine printed 654 such warnings from bilin's SIMD code, none of them real.
// g++ decides by the diagnostic state at the intrinsic's own line, so including
// the headers with those two warnings off silences exactly them, in every function that
// inlines an intrinsic, while user code keeps both warnings. (Should the user include
// <immintrin.h> before bilin, their own state applies; the warnings are harmless either way.)
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstddef>
#include <type_traits>

namespace bilin::simd {

#if XSIMD_WITH_AVX512F
using arch = xsimd::avx512f;
inline constexpr bool has_fma = true;
#elif XSIMD_WITH_FMA3_AVX2
using arch = xsimd::fma3<xsimd::avx2>;
inline constexpr bool has_fma = true;
#elif XSIMD_WITH_SSE2
using arch = xsimd::sse2;
inline constexpr bool has_fma = false;
#else
using arch = void;
inline constexpr bool has_fma = false;
#endif

// The target's name as programs print it: xsimd's ("avx512f", "fma3+avx2", "sse2") or "scalar".
inline const char* arch_name() {
#if XSIMD_WITH_AVX512F || XSIMD_WITH_FMA3_AVX2 || XSIMD_WITH_SSE2
  return arch::name();
#else
  return "scalar";
#endif
}

template <class T>
inline constexpr bool vectorized = !std::is_void_v<arch> && (std::is_same_v<T, float> || std::is_same_v<T, double>);

template <class T>
using batch = xsimd::batch<T, arch>;

// Outputs of at least this many bytes, written once and not read back by the op that writes
// them, are worth non-temporal stores: no cache holds them for their reader anyway, and a
// streaming store skips reading each line for ownership before overwriting it.
inline constexpr std::size_t stream_min_bytes = std::size_t(8) << 20;

// Non-temporal store of a whole batch at p, which must be aligned to the batch's size. The
// stores are weakly ordered: call stream_fence() before other threads read the data.
template <class T>
inline void store_stream(const batch<T>& v, T* p) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float>) _mm512_stream_ps(p, v);
  else _mm512_stream_pd(p, v);
#elif XSIMD_WITH_FMA3_AVX2
  if constexpr (std::is_same_v<T, float>) _mm256_stream_ps(p, v);
  else _mm256_stream_pd(p, v);
#elif XSIMD_WITH_SSE2
  if constexpr (std::is_same_v<T, float>) _mm_stream_ps(p, v);
  else _mm_stream_pd(p, v);
#else
  v.store_aligned(p);
#endif
}

inline void stream_fence() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_sfence();
#endif
}

}  // namespace bilin::simd
