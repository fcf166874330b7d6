// Tests for bilin/core/bf16.hpp and bilin/kernels/gemm_bf16.hpp: bf16 rounding against hand
// cases and (where the CPU has it) the AVX512-BF16 conversion instruction; every backend this
// machine can run against an fp64 reference, both of the fp32 operands (the error bound of the
// contract) and of the bf16-rounded operands (only fp32 summation error left, so a backend that
// rounds an operand differently fails); thread-count independence; batched = one by one.
#include <bilin/core/random.hpp>
#include <bilin/kernels/gemm_bf16.hpp>

#include <catch2/catch.hpp>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include <omp.h>

using bilin::index_t;
using bilin::kernels::Bf16Backend;
using bilin::kernels::Trans;

namespace {

std::vector<Bf16Backend> bf16_backends_here() {
  std::vector<Bf16Backend> out;
  for (Bf16Backend b : {Bf16Backend::portable, Bf16Backend::avx512bf16, Bf16Backend::amx})
    if (bilin::kernels::bf16_backend_available(b)) out.push_back(b);
  return out;
}

std::vector<float> bf16_random(std::size_t n, bilin::Generator& g, double scale = 1.0) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(scale * g.uniform(-1.0, 1.0));
  return v;
}

float at_op(Trans t, const std::vector<float>& X, index_t ld, index_t r, index_t c) {
  return t == Trans::N ? X[r * ld + c] : X[c * ld + r];
}

struct Bf16Case {
  Trans ta, tb;
  index_t M, N, K, pad;
  float alpha, beta;
  bool align_c = false;  // C 64-byte aligned (what the non-temporal store path needs)
};

// Checks one backend on one case; returns C for cross-backend comparisons.
std::vector<float> bf16_check(Bf16Backend be, const Bf16Case& p, bilin::Generator& g) {
  const index_t lda = (p.ta == Trans::N ? p.K : p.M) + p.pad, ldb = (p.tb == Trans::N ? p.N : p.K) + p.pad,
                ldc = p.N + p.pad;
  const auto A = bf16_random(static_cast<std::size_t>((p.ta == Trans::N ? p.M : p.K) * lda), g);
  const auto B = bf16_random(static_cast<std::size_t>((p.tb == Trans::N ? p.K : p.N) * ldb), g, 3.0);
  auto C0 = bf16_random(static_cast<std::size_t>(p.M * ldc), g);
  if (p.beta == 0.0f) std::fill(C0.begin(), C0.end(), std::numeric_limits<float>::quiet_NaN());
  auto C = C0;
  std::vector<float> Cbuf(C.size() + 16);
  float* Cp = p.align_c ? Cbuf.data() + (16 - reinterpret_cast<std::uintptr_t>(Cbuf.data()) / 4 % 16) % 16 : C.data();
  if (p.align_c) std::copy(C.begin(), C.end(), Cp);
  bilin::kernels::gemm_bf16_on(be, p.ta, p.tb, p.M, p.N, p.K, p.alpha, A.data(), lda, B.data(), ldb, p.beta, Cp,
                               ldc);
  if (p.align_c) std::copy(Cp, Cp + C.size(), C.begin());
  const double u = std::ldexp(1.0, -24);  // fp32 unit roundoff
  index_t bad_exact = 0, bad_rounded = 0, touched = 0;
  double worst_exact = 0, worst_rounded = 0;
  for (index_t i = 0; i < p.M; ++i)
    for (index_t j = 0; j < p.N; ++j) {
      double exact = 0, rounded = 0, mag = 0, mag_r = 0;
      for (index_t k = 0; k < p.K; ++k) {
        const double a = at_op(p.ta, A, lda, i, k), b = at_op(p.tb, B, ldb, k, j);
        const double ar = bilin::round_bf16(static_cast<float>(a)), br = bilin::round_bf16(static_cast<float>(b));
        exact += a * b;
        rounded += ar * br;
        mag += std::abs(a * b);
        mag_r += std::abs(ar * br);
      }
      const double c0 = p.beta == 0.0f ? 0.0 : double(p.beta) * C0[i * ldc + j];
      const double c = C[i * ldc + j];
      const double alpha = std::abs(double(p.alpha));
      // The contract's bound, plus the rounding of alpha·sum and beta·C0 and the final sum.
      const double tol_exact = alpha * mag * (std::ldexp(1.0, -7) + std::ldexp(1.0, -16) + (p.K + 4) * u) +
                               4 * u * std::abs(c0) + 1e-30;
      const double tol_rounded = alpha * mag_r * (p.K + 4) * u + 4 * u * std::abs(c0) + 1e-30;
      const double e1 = std::abs(c - (p.alpha * exact + c0)), e2 = std::abs(c - (p.alpha * rounded + c0));
      if (!(e1 <= tol_exact)) ++bad_exact;  // also catches NaN
      if (!(e2 <= tol_rounded)) ++bad_rounded;
      worst_exact = std::max(worst_exact, e1 / tol_exact);
      worst_rounded = std::max(worst_rounded, e2 / tol_rounded);
    }
  for (index_t i = 0; i < p.M; ++i)
    for (index_t j = p.N; j < ldc; ++j) {
      const float a = C[i * ldc + j], b = C0[i * ldc + j];
      if (!(a == b || (std::isnan(a) && std::isnan(b)))) ++touched;
    }
  INFO(bilin::kernels::bf16_backend_name(be)
       << " " << (p.ta == Trans::N ? "N" : "T") << (p.tb == Trans::N ? "N" : "T") << " M=" << p.M << " N=" << p.N
       << " K=" << p.K << " pad=" << p.pad << " alpha=" << p.alpha << " beta=" << p.beta
       << " worst err/bound: fp32 operands " << worst_exact << ", bf16-rounded operands " << worst_rounded);
  CHECK(bad_exact == 0);
  CHECK(bad_rounded == 0);
  CHECK(touched == 0);
  return C;
}

}  // namespace

TEST_CASE("bf16 rounding: ties to even, specials, subnormals to zero", "[bf16]") {
  using bilin::bf16_bits;
  CHECK(bf16_bits(1.0f) == 0x3f80);
  CHECK(bf16_bits(-2.0f) == 0xc000);
  CHECK(bf16_bits(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);                     // tie, even stays
  CHECK(bf16_bits(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);                 // tie, rounds to even
  CHECK(bf16_bits(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);  // above the tie
  CHECK(bf16_bits(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bf16_bits(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(bf16_bits(std::numeric_limits<float>::max()) == 0x7f80);  // rounds past the largest bf16
  CHECK(std::isnan(bilin::round_bf16(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(bilin::bf16_to_float(bf16_bits(std::bit_cast<float>(0x7f800001u)))));  // signalling NaN
  CHECK(bf16_bits(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(bf16_bits(-std::numeric_limits<float>::denorm_min()) == 0x8000);
  CHECK(bilin::round_bf16(0.1f) == 0.10009765625f);
  // relative error of a normal value ≤ 2⁻⁸
  bilin::Generator g(31);
  for (int i = 0; i < 10000; ++i) {
    const float x = static_cast<float>(std::ldexp(g.uniform(0.5, 1.0), static_cast<int>(g.uniform(-100, 100))));
    REQUIRE(std::abs(bilin::round_bf16(x) - x) <= std::ldexp(1.0, -8) * x);
  }
}

#if defined(BILIN_HAVE_AVX512BF16)
TEST_CASE("bf16_bits equals the AVX512-BF16 conversion instruction on random bit patterns", "[bf16]") {
  bilin::Generator g(5);
  alignas(64) float x[32];
  alignas(64) std::uint16_t hw[32];
  long mismatches = 0;
  for (int round = 0; round < 20000; ++round) {
    for (int i = 0; i < 32; ++i) {
      // every exponent, including subnormals, Inf and NaN
      const auto bits = static_cast<std::uint32_t>(g.uniform(0.0, 4294967295.0));
      x[i] = std::bit_cast<float>(bits);
    }
    _mm512_storeu_si512(hw, std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_load_ps(x + 16), _mm512_load_ps(x))));
    for (int i = 0; i < 32; ++i) {
      const std::uint16_t sw = bilin::bf16_bits(x[i]);
      const bool both_nan = std::isnan(x[i]) && (hw[i] & 0x7fff) > 0x7f80 && (sw & 0x7fff) > 0x7f80;
      if (sw != hw[i] && !both_nan) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
}
#endif

TEST_CASE("gemm_bf16: every backend within the bf16 bound, exact rounding, all op combinations", "[gemm][bf16]") {
  bilin::Generator g(17);
  const std::vector<std::array<index_t, 3>> shapes = {{1, 1, 1},   {3, 17, 5},    {14, 32, 32}, {32, 32, 33},
                                                      {45, 70, 64}, {33, 31, 130}, {100, 3, 7},  {5, 100, 600},
                                                      {70, 65, 1100}};
  const auto backends = bf16_backends_here();
  int which = 0;
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T})
      for (const auto& s : shapes) {
        const int v = which++ % 4;
        const Bf16Case p{ta, tb, s[0], s[1], s[2], v % 2 == 0 ? 0 : 5, v == 1 ? -0.75f : v == 2 ? 2.5f : 1.0f,
                         v == 0 ? 0.0f : v == 1 ? 1.0f : v == 2 ? -0.5f : 0.0f};
        for (Bf16Backend be : backends) {
          bilin::Generator same(g.seed() + static_cast<std::uint64_t>(which));  // same inputs per backend
          bf16_check(be, p, same);
        }
      }
}

TEST_CASE("gemm_bf16: outputs written past the caches (large, one k slice, beta = 0) are right", "[gemm][bf16]") {
  // M·N·4 bytes ≥ simd::stream_min_bytes with K in one slice takes the non-temporal store path when C is
  // aligned with ldc a multiple of 16; padding ldc by 5 takes the ordinary path on the same data.
  bilin::Generator g(23);
  const index_t N = 1024, M = static_cast<index_t>(bilin::simd::stream_min_bytes / sizeof(float)) / N + 3;
  for (Bf16Backend be : bf16_backends_here())
    for (const auto& [ta, pad, alpha] : {std::tuple{Trans::N, index_t{0}, 1.0f}, std::tuple{Trans::T, index_t{0}, 2.5f},
                                         std::tuple{Trans::N, index_t{5}, 1.0f}}) {
      bilin::Generator same(g.seed() + static_cast<std::uint64_t>(pad));
      bf16_check(be, Bf16Case{ta, Trans::N, M, N, 12, pad, alpha, 0.0f, true}, same);
    }
}

TEST_CASE("gemm_bf16 rounds: its result differs from fp32 by about bf16's precision", "[gemm][bf16]") {
  bilin::Generator g(3);
  const index_t n = 64;
  const auto A = bf16_random(n * n, g), B = bf16_random(n * n, g);
  std::vector<float> C32(n * n), C16(n * n);
  bilin::kernels::gemm<float>(Trans::N, Trans::N, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, C32.data(), n);
  bilin::kernels::gemm_bf16(Trans::N, Trans::N, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, C16.data(), n);
  double worst = 0, scale = 0;
  for (index_t i = 0; i < n * n; ++i) {
    worst = std::max(worst, double(std::abs(C32[i] - C16[i])));
    scale = std::max(scale, double(std::abs(C32[i])));
  }
  CHECK(worst > 1e-4 * scale);  // fp32 alone would agree to ~1e-6
  CHECK(worst < 3e-2 * scale);
}

TEST_CASE("gemm_bf16: results do not depend on the thread count; batched equals one by one", "[gemm][bf16][omp]") {
  const int saved = omp_get_max_threads();
  bilin::Generator g(9);
  for (Bf16Backend be : bf16_backends_here())
    for (Trans ta : {Trans::N, Trans::T})
      for (Trans tb : {Trans::N, Trans::T}) {
        const index_t M = 300, N = 200, K = 700;
        const auto A = bf16_random(static_cast<std::size_t>(M * K), g), B = bf16_random(static_cast<std::size_t>(K * N), g);
        const auto C0 = bf16_random(static_cast<std::size_t>(M * N), g);
        const index_t lda = ta == Trans::N ? K : M, ldb = tb == Trans::N ? N : K;
        std::vector<float> C1 = C0, C2 = C0, C3 = C0;
        omp_set_num_threads(1);
        bilin::kernels::gemm_bf16_on(be, ta, tb, M, N, K, 1.25f, A.data(), lda, B.data(), ldb, 0.5f, C1.data(), N);
        omp_set_num_threads(2);
        bilin::kernels::gemm_bf16_on(be, ta, tb, M, N, K, 1.25f, A.data(), lda, B.data(), ldb, 0.5f, C2.data(), N);
        omp_set_num_threads(3);
        bilin::kernels::gemm_bf16_on(be, ta, tb, M, N, K, 1.25f, A.data(), lda, B.data(), ldb, 0.5f, C3.data(), N);
        INFO(bilin::kernels::bf16_backend_name(be) << " " << (ta == Trans::N ? "N" : "T") << (tb == Trans::N ? "N" : "T"));
        CHECK(C1 == C2);
        CHECK(C1 == C3);
      }
  omp_set_num_threads(saved);
  // batched
  const index_t M = 40, N = 33, K = 70, batch = 5;
  const auto A = bf16_random(static_cast<std::size_t>(M * K * batch), g), B = bf16_random(static_cast<std::size_t>(K * N * batch), g);
  std::vector<float> Cb(static_cast<std::size_t>(M * N * batch)), Cs(Cb.size());
  bilin::kernels::gemm_bf16_strided_batched(Trans::N, Trans::T, M, N, K, 1.0f, A.data(), K, M * K, B.data(), K, K * N,
                                            0.0f, Cb.data(), N, M * N, batch);
  for (index_t b = 0; b < batch; ++b)
    bilin::kernels::gemm_bf16(Trans::N, Trans::T, M, N, K, 1.0f, A.data() + b * M * K, K, B.data() + b * K * N, K, 0.0f,
                              Cs.data() + b * M * N, N);
  CHECK(Cb == Cs);
}

TEST_CASE("gemm_bf16 and the precision switch: errors name the problem", "[gemm][bf16]") {
  std::vector<float> A(12), B(12), C(12);
  CHECK_THROWS_WITH(bilin::kernels::gemm_bf16(Trans::N, Trans::N, 3, 4, 4, 1.0f, A.data(), 2, B.data(), 4, 0.0f,
                                              C.data(), 4),
                    Catch::Contains("gemm_bf16") && Catch::Contains("lda=2"));
  CHECK_THROWS_WITH(bilin::parse_precision("fp16", "--precision"), Catch::Contains("--precision") &&
                                                                        Catch::Contains("'fp16'"));
  CHECK(bilin::parse_precision("bf16") == bilin::Precision::bf16);
  // gemm_prec(fp32) is gemm<float> bit for bit
  bilin::Generator g(1);
  const auto X = bf16_random(64 * 64, g), Y = bf16_random(64 * 64, g);
  std::vector<float> P(64 * 64), Q(64 * 64);
  bilin::kernels::gemm_prec(bilin::Precision::fp32, Trans::T, Trans::N, 64, 64, 64, 1.0f, X.data(), 64, Y.data(), 64,
                            0.0f, P.data(), 64);
  bilin::kernels::gemm<float>(Trans::T, Trans::N, 64, 64, 64, 1.0f, X.data(), 64, Y.data(), 64, 0.0f, Q.data(), 64);
  CHECK(P == Q);
}
