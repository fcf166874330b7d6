// Tests for bilin/kernels/gemm.hpp: the packed kernel against the naive triple loop
// (gemm_reference, double accumulation) on odd shapes, every op(A)/op(B), padded leading
// dimensions, alpha/beta variations; beta == 0 must not read C; 1 vs 2 threads bit-identical.
#include <bilin/core/random.hpp>
#include <bilin/kernels/gemm.hpp>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <omp.h>

using bilin::kernels::gemm;
using bilin::index_t;
using bilin::kernels::gemm_reference;
using bilin::kernels::Trans;

namespace {

template <class T>
std::vector<T> random_vec(std::size_t n, bilin::Generator& g) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(g.uniform(-1.0, 1.0));
  return v;
}

const char* name(Trans t) { return t == Trans::N ? "N" : "T"; }

struct Problem {
  Trans ta, tb;
  index_t M, N, K, lda, ldb, ldc;
};

// Storage size of op(X) (rows×cols of the op) with leading dimension ld.
index_t stored(Trans t, index_t rows, index_t cols, index_t ld) {
  return t == Trans::N ? (rows - 1) * ld + cols : (cols - 1) * ld + rows;
}

Problem make_problem(Trans ta, Trans tb, index_t M, index_t N, index_t K, index_t pad) {
  return {ta, tb, M, N, K, (ta == Trans::N ? K : M) + pad, (tb == Trans::N ? N : K) + pad, N + pad};
}

// Runs gemm and checks every element against gemm_reference with the forward error bound of
// a length-K dot product: |C - C_ref| <= c·K·eps·(|alpha|·(|A||B|)_ij + |beta·C0_ij|).
template <class T>
void check(const Problem& p, T alpha, T beta, bool nan_in_c, bilin::Generator& g) {
  const auto A = random_vec<T>(static_cast<std::size_t>(stored(p.ta, p.M, p.K, p.lda)), g);
  const auto B = random_vec<T>(static_cast<std::size_t>(stored(p.tb, p.K, p.N, p.ldb)), g);
  auto C0 = random_vec<T>(static_cast<std::size_t>((p.M - 1) * p.ldc + p.N), g);
  if (nan_in_c) std::fill(C0.begin(), C0.end(), std::numeric_limits<T>::quiet_NaN());
  auto C = C0, R = C0;
  gemm<T>(p.ta, p.tb, p.M, p.N, p.K, alpha, A.data(), p.lda, B.data(), p.ldb, beta, C.data(), p.ldc);
  gemm_reference<T>(p.ta, p.tb, p.M, p.N, p.K, alpha, A.data(), p.lda, B.data(), p.ldb, beta, R.data(), p.ldc);
  // |A|·|B| for the error bound.
  std::vector<T> Aa(A.size()), Ba(B.size()), S(C0.size(), T(0));
  for (std::size_t i = 0; i < A.size(); ++i) Aa[i] = std::abs(A[i]);
  for (std::size_t i = 0; i < B.size(); ++i) Ba[i] = std::abs(B[i]);
  gemm_reference<T>(p.ta, p.tb, p.M, p.N, p.K, T(1), Aa.data(), p.lda, Ba.data(), p.ldb, T(0), S.data(), p.ldc);
  const double eps = std::numeric_limits<T>::epsilon();
  index_t bad = 0;
  double worst = 0;
  for (index_t i = 0; i < p.M; ++i)
    for (index_t j = 0; j < p.N; ++j) {
      const index_t at = i * p.ldc + j;
      const double c0 = beta == T(0) ? 0.0 : std::abs(double(beta) * C0[at]);
      const double tol = 2.0 * (p.K + 2) * eps * (std::abs(double(alpha)) * S[at] + c0) + 1e-30;
      const double err = std::abs(double(C[at]) - double(R[at]));
      if (!(err <= tol)) ++bad;  // also catches NaN
      worst = std::max(worst, err / tol);
    }
  // Padding between rows of C must be untouched.
  index_t touched = 0;
  for (index_t i = 0; i + 1 < p.M; ++i)
    for (index_t j = p.N; j < p.ldc; ++j) {
      const index_t at = i * p.ldc + j;
      if (!(C[at] == C0[at] || (std::isnan(C[at]) && std::isnan(C0[at])))) ++touched;
    }
  INFO(name(p.ta) << name(p.tb) << " M=" << p.M << " N=" << p.N << " K=" << p.K << " lda=" << p.lda
                  << " ldb=" << p.ldb << " ldc=" << p.ldc << " alpha=" << alpha << " beta=" << beta
                  << " nanC=" << nan_in_c << " worst err/tol=" << worst);
  CHECK(bad == 0);
  CHECK(touched == 0);
}

// Odd mixes of 1, 3, 17, 63, 255, 1023: small path, packed path, MR/NR edges, several K
// slices (K > KC) and M blocks (M > MC); kept small enough for the naive reference.
const std::vector<std::array<index_t, 3>> kShapes = {
    {1, 1, 1},     {3, 17, 63},    {17, 3, 255},   {63, 255, 17},  {255, 63, 1023}, {1023, 17, 3},
    {1, 1023, 63}, {1023, 1, 255}, {255, 255, 63}, {63, 63, 1023}, {1023, 63, 255}, {17, 1023, 255},
    {3, 255, 1023}};

template <class T>
void run_all_shapes() {
  bilin::Generator g(7);
  int which = 0;
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T})
      for (const auto& s : kShapes) {
        // Cycle through alpha/beta cases and padding so every op combination sees each.
        const int v = which++ % 4;
        const index_t pad = v % 2 == 0 ? 0 : 5;
        const T alpha = v == 0 ? T(1) : v == 1 ? T(-0.75) : v == 2 ? T(2.5) : T(1);
        const T beta = v == 0 ? T(0) : v == 1 ? T(1) : v == 2 ? T(-0.5) : T(0);
        check<T>(make_problem(ta, tb, s[0], s[1], s[2], pad), alpha, beta, v == 3, g);
      }
}

}  // namespace

TEST_CASE("gemm float matches the reference on odd shapes, all op combinations", "[gemm]") {
  run_all_shapes<float>();
}

TEST_CASE("gemm double matches the reference on odd shapes, all op combinations", "[gemm]") {
  run_all_shapes<double>();
}

TEST_CASE("gemm alpha/beta variations and beta == 0 never reads C", "[gemm]") {
  bilin::Generator g(11);
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T}) {
      // one small-path and one packed-path size, padded leading dimensions
      for (index_t n : {index_t(9), index_t(130)}) {
        const Problem p = make_problem(ta, tb, n + 3, n, n + 1, 3);
        check<float>(p, 1.0f, 0.0f, true, g);
        check<double>(p, 1.0, 0.0, true, g);
        check<float>(p, -2.0f, 0.0f, true, g);
        check<float>(p, 0.5f, 1.0f, false, g);
        check<double>(p, 0.5, -3.0, false, g);
      }
    }
}

TEST_CASE("gemm alpha == 0 or K == 0 only scales C by beta", "[gemm]") {
  std::vector<float> A(12, std::numeric_limits<float>::quiet_NaN()), B(12, 1.0f);
  std::vector<float> C = {1, 2, 3, 4, 5, 6};
  gemm<float>(Trans::N, Trans::N, 2, 3, 4, 0.0f, A.data(), 4, B.data(), 3, 2.0f, C.data(), 3);
  CHECK(C == std::vector<float>{2, 4, 6, 8, 10, 12});
  gemm<float>(Trans::N, Trans::N, 2, 3, 0, 1.0f, A.data(), 1, B.data(), 3, 0.5f, C.data(), 3);
  CHECK(C == std::vector<float>{1, 2, 3, 4, 5, 6});
  std::vector<float> Cn(6, std::numeric_limits<float>::quiet_NaN());
  gemm<float>(Trans::N, Trans::N, 2, 3, 0, 1.0f, A.data(), 1, B.data(), 3, 0.0f, Cn.data(), 3);
  CHECK(Cn == std::vector<float>(6, 0.0f));
}

TEST_CASE("gemm blocking edges: many K slices, M blocks and N blocks", "[gemm]") {
  bilin::Generator g(3);
  // K > several KC, M > MC with a ragged last block, N > NC (4096 columns).
  check<float>(make_problem(Trans::N, Trans::N, 700, 45, 1100, 1), 1.0f, 0.0f, false, g);
  check<float>(make_problem(Trans::T, Trans::T, 371, 33, 517, 2), 1.5f, 0.25f, false, g);
  check<float>(make_problem(Trans::N, Trans::T, 17, 4200, 40, 0), 1.0f, 1.0f, false, g);
  check<double>(make_problem(Trans::T, Trans::N, 15, 4129, 33, 1), -1.0, 0.0, true, g);
  // lda = 1024 floats: A rows alias in L1, so op(A) = N is copied instead of read in place.
  check<float>(make_problem(Trans::N, Trans::N, 300, 40, 1000, 24), 1.0f, 0.5f, false, g);
  check<float>(make_problem(Trans::N, Trans::T, 45, 70, 1000, 24), 1.0f, 0.0f, false, g);
}

TEST_CASE("gemm result does not depend on the thread count", "[gemm][omp]") {
  const int saved = omp_get_max_threads();
  bilin::Generator g(5);
  for (Trans ta : {Trans::N, Trans::T})
    for (Trans tb : {Trans::N, Trans::T}) {
      const index_t M = 1023, N = 255, K = 700;
      const Problem p = make_problem(ta, tb, M, N, K, 1);
      const auto A = random_vec<float>(static_cast<std::size_t>(stored(ta, M, K, p.lda)), g);
      const auto B = random_vec<float>(static_cast<std::size_t>(stored(tb, K, N, p.ldb)), g);
      const auto C0 = random_vec<float>(static_cast<std::size_t>((M - 1) * p.ldc + N), g);
      std::vector<float> C1 = C0, C2 = C0, C3 = C0, C4 = C0;
      omp_set_num_threads(1);
      gemm<float>(ta, tb, M, N, K, 1.25f, A.data(), p.lda, B.data(), p.ldb, 0.5f, C1.data(), p.ldc);
      omp_set_num_threads(2);
      gemm<float>(ta, tb, M, N, K, 1.25f, A.data(), p.lda, B.data(), p.ldb, 0.5f, C2.data(), p.ldc);
      omp_set_num_threads(3);  // uneven split (more threads than cores is fine for correctness)
      gemm<float>(ta, tb, M, N, K, 1.25f, A.data(), p.lda, B.data(), p.ldb, 0.5f, C4.data(), p.ldc);
      omp_set_num_threads(2);
      // Called from inside a parallel region: runs serially on the calling thread.
#pragma omp parallel num_threads(2)
      {
#pragma omp single
        gemm<float>(ta, tb, M, N, K, 1.25f, A.data(), p.lda, B.data(), p.ldb, 0.5f, C3.data(), p.ldc);
      }
      INFO(name(ta) << name(tb));
      CHECK(C1 == C2);
      CHECK(C1 == C3);
      CHECK(C1 == C4);
    }
  // Column split (few rows, many columns) must agree too.
  {
    const index_t M = 20, N = 3000, K = 300;
    const auto A = random_vec<double>(static_cast<std::size_t>(M * K), g);
    const auto B = random_vec<double>(static_cast<std::size_t>(K * N), g);
    std::vector<double> C1(static_cast<std::size_t>(M * N)), C2(C1.size());
    omp_set_num_threads(1);
    gemm<double>(Trans::N, Trans::N, M, N, K, 1.0, A.data(), K, B.data(), N, 0.0, C1.data(), N);
    omp_set_num_threads(2);
    gemm<double>(Trans::N, Trans::N, M, N, K, 1.0, A.data(), K, B.data(), N, 0.0, C2.data(), N);
    CHECK(C1 == C2);
    omp_set_num_threads(3);
    gemm<double>(Trans::N, Trans::N, M, N, K, 1.0, A.data(), K, B.data(), N, 0.0, C2.data(), N);
    CHECK(C1 == C2);
  }
  omp_set_num_threads(saved);
}

TEST_CASE("gemm_strided_batched multiplies each matrix of the batch", "[gemm]") {
  bilin::Generator g(9);
  const index_t M = 37, N = 29, K = 70, batch = 3;
  const index_t sa = M * K + 4, sb = K * N + 2, sc = M * N + 1;
  const auto A = random_vec<float>(static_cast<std::size_t>(sa * batch), g);
  const auto B = random_vec<float>(static_cast<std::size_t>(sb * batch), g);
  auto C = random_vec<float>(static_cast<std::size_t>(sc * batch), g);
  auto R = C;
  bilin::kernels::gemm_strided_batched<float>(Trans::T, Trans::N, M, N, K, 0.5f, A.data(), M, sa, B.data(), N, sb,
                                              2.0f, C.data(), N, sc, batch);
  for (index_t b = 0; b < batch; ++b)
    gemm_reference<float>(Trans::T, Trans::N, M, N, K, 0.5f, A.data() + b * sa, M, B.data() + b * sb, N, 2.0f,
                          R.data() + b * sc, N);
  for (std::size_t i = 0; i < C.size(); ++i) REQUIRE(C[i] == Approx(R[i]).margin(1e-4));
  // Run side by side on threads, each matrix must come out exactly as a lone gemm call.
  auto G = R;
  for (std::size_t i = 0; i < G.size(); ++i) G[i] = R[i] * 0.5f;
  auto H = G;
  bilin::kernels::gemm_strided_batched<float>(Trans::T, Trans::N, M, N, K, 0.5f, A.data(), M, sa, B.data(), N, sb,
                                              2.0f, G.data(), N, sc, batch);
  for (index_t b = 0; b < batch; ++b)
    gemm<float>(Trans::T, Trans::N, M, N, K, 0.5f, A.data() + b * sa, M, B.data() + b * sb, N, 2.0f,
                H.data() + b * sc, N);
  CHECK(G == H);
  REQUIRE_THROWS_WITH(bilin::kernels::gemm_strided_batched<float>(Trans::N, Trans::N, M, N, K, 1.f, A.data(), K - 1, sa,
                                                                  B.data(), N, sb, 0.f, C.data(), N, sc, batch),
                      Catch::Matchers::Contains("gemm_strided_batched") && Catch::Matchers::Contains("lda="));
}

TEST_CASE("gemm rejects bad sizes and leading dimensions with a clear message", "[gemm]") {
  std::vector<float> A(100), B(100), C(100);
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(gemm<float>(Trans::N, Trans::N, -1, 2, 2, 1.f, A.data(), 2, B.data(), 2, 0.f, C.data(), 2),
                      Contains("gemm") && Contains("negative size"));
  REQUIRE_THROWS_WITH(gemm<float>(Trans::N, Trans::N, 3, 4, 5, 1.f, A.data(), 4, B.data(), 4, 0.f, C.data(), 4),
                      Contains("lda=4") && Contains("K=5"));
  REQUIRE_THROWS_WITH(gemm<float>(Trans::N, Trans::T, 3, 4, 5, 1.f, A.data(), 5, B.data(), 4, 0.f, C.data(), 4),
                      Contains("ldb=4") && Contains("K=5"));
  REQUIRE_THROWS_WITH(gemm<float>(Trans::N, Trans::N, 3, 4, 5, 1.f, A.data(), 5, B.data(), 4, 0.f, C.data(), 3),
                      Contains("ldc=3"));
}
