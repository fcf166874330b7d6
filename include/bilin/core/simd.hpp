// bilin/core/simd.hpp — the one place bilin includes xsimd and the x86 intrinsics headers.
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
