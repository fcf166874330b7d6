// HOSVD of a bilinear layer (interp/hosvd.hpp) against a naive SVD of the explicitly flattened
// tensor: the right singular vectors from a Jacobi eigendecomposition of B_flatᵀ B_flat
// (the n²×n² side, never used by the library), the left ones as B_flat r_k / σ_k.
#include <catch2/catch.hpp>

#include <bilin/core/random.hpp>
#include <bilin/interp/hosvd.hpp>
#include <cmath>
#include <vector>

#include "test_support.hpp"

using namespace bilin;

namespace {
TensorD hs_random(Generator& g, index_t m, index_t n) {
  TensorD a = TensorD::empty({m, n});
  for (index_t i = 0; i < a.numel(); ++i) a.data()[i] = g.normal();
  return a;
}
}  // namespace

TEST_CASE("HOSVD from the weights equals a naive SVD of the flattened tensor", "[interp][hosvd]") {
  Generator g(31);
  for (auto [C, h, n] : {std::tuple<index_t, index_t, index_t>{3, 5, 4}, {6, 9, 5}, {4, 3, 6}}) {
    const TensorD W = hs_random(g, h, n), V = hs_random(g, h, n), P = hs_random(g, C, h);
    const TensorD B = interp::bilinear_tensor(W, V, P);  // [C, n, n]
    const index_t n2 = n * n;
    // Naive: right singular vectors = eigenvectors of B_flatᵀ B_flat (n² × n²).
    TensorD M = TensorD::zeros({n2, n2});
    for (index_t c = 0; c < C; ++c)
      for (index_t a = 0; a < n2; ++a)
        for (index_t b = 0; b < n2; ++b) M.data()[a * n2 + b] += B.data()[c * n2 + a] * B.data()[c * n2 + b];
    linalg::EighOptions o;
    o.method = linalg::EighMethod::jacobi;
    o.descending = true;
    const auto ref = linalg::eigh(M, o);
    const interp::Hosvd hs = interp::hosvd(W, V, P);
    REQUIRE(hs.size() == C);
    double total = 0;
    for (index_t i = 0; i < B.numel(); ++i) total += B.data()[i] * B.data()[i];
    CHECK(hs.total == Approx(total).epsilon(1e-10));
    const index_t rank = std::min({C, h, n * (n + 1) / 2});  // B[c] lie in the span of h matrices
    for (index_t k = 0; k < rank; ++k) {
      const double sigma = std::sqrt(ref.values.data()[k]);
      CHECK(hs.singular_values[k] == Approx(sigma).epsilon(1e-9));
      // The component's interaction matrix Q(u_k)/σ_k is ± the right singular vector.
      const TensorD R = interp::hosvd_matrix(W, V, P, hs, k);
      double dot = 0;
      for (index_t a = 0; a < n2; ++a) dot += R.data()[a] * ref.vectors.data()[a * n2 + k];
      CHECK(std::fabs(dot) == Approx(1.0).epsilon(1e-9));
      // u_k = ± B_flat r_k / σ_k, with the sign the library chose.
      for (index_t c = 0; c < C; ++c) {
        double u = 0;
        for (index_t a = 0; a < n2; ++a) u += B.data()[c * n2 + a] * ref.vectors.data()[a * n2 + k];
        CHECK(std::fabs(hs.directions.data()[k * C + c]) == Approx(std::fabs(u / sigma)).margin(1e-9));
      }
      double big = 0;
      for (index_t c = 0; c < C; ++c) big = std::fabs(hs.directions.data()[k * C + c]) > std::fabs(big) ? hs.directions.data()[k * C + c] : big;
      CHECK(big > 0);
      if (k) CHECK(hs.singular_values[k - 1] >= hs.singular_values[k]);
    }
    // The same from the explicit per-output matrices.
    std::vector<TensorD> forms;
    for (index_t c = 0; c < C; ++c) forms.push_back(B.narrow(0, c, 1).reshape({n, n}).contiguous());
    const interp::Hosvd hf = interp::hosvd_of_forms(forms, 2);
    REQUIRE(hf.size() == 2);
    for (index_t k = 0; k < 2; ++k) {
      CHECK(hf.singular_values[k] == Approx(hs.singular_values[k]).epsilon(1e-10));
      for (index_t c = 0; c < C; ++c)
        CHECK(hf.directions.data()[k * C + c] == Approx(hs.directions.data()[k * C + c]).margin(1e-8));
    }
    double e = 0;
    for (index_t k = 0; k < hs.size(); ++k) e += hs.energy(k);
    CHECK(e == Approx(1.0).epsilon(1e-10));
  }
  CHECK_THAT(bilin_test::error_of([] { interp::hosvd_of_forms(std::vector<TensorD>{}); }), Catch::Contains("hosvd"));
  CHECK_THAT(bilin_test::error_of([] {
               interp::hosvd_of_forms(std::vector<TensorD>{TensorD::zeros({3, 3}), TensorD::zeros({4, 4})});
             }),
             Catch::Contains("form 1"));
}
