// The language-model analysis pieces (issue 17 A): batched interaction matrices against the
// naive 3-tensor contraction, exactness on a real transformer MLP, the latent-basis identity,
// low-rank correlations (k = d gives r = 1), spectral measures against closed forms and the
// circuit heuristics against naive implementations. Small random models, no data needed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/interp/circuits.hpp"
#include "bilin/interp/interaction_batch.hpp"
#include "bilin/interp/latent_basis.hpp"
#include "bilin/interp/lm_mlp.hpp"
#include "bilin/interp/lowrank_correlation.hpp"
#include "bilin/interp/spectral.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

// Q(u)[i][j] = Σ_c u_c ½ Σ_o P[c,o](W[o,i]V[o,j] + W[o,j]V[o,i]), plain loops in double.
std::vector<double> lmtest_naive_q(const TensorF& W, const TensorF& V, const TensorF& P, const float* u) {
  const index_t h = W.size(0), n = W.size(1), C = P.size(0);
  std::vector<double> q(static_cast<std::size_t>(n * n), 0.0);
  for (index_t c = 0; c < C; ++c)
    for (index_t o = 0; o < h; ++o) {
      const double s = 0.5 * static_cast<double>(u[c]) * P.data()[c * h + o];
      for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j)
          q[i * n + j] += s * (static_cast<double>(W.data()[o * n + i]) * V.data()[o * n + j] +
                               static_cast<double>(W.data()[o * n + j]) * V.data()[o * n + i]);
    }
  return q;
}

nn::TransformerConfig lmtest_config(nn::MlpKind kind) {
  nn::TransformerConfig c;
  c.vocab = 32;
  c.n_layer = 2;
  c.d_model = 16;
  c.n_head = 2;
  c.d_hidden = 24;
  c.n_ctx = 8;
  c.mlp = kind;
  return c;
}

}  // namespace

TEST_CASE("interaction_matrices equals the naive 3-tensor contraction on both GEMM routes", "[interp][lm]") {
  Generator g(3);
  for (auto [h, n, C, m] : {std::tuple<index_t, index_t, index_t, index_t>{40, 7, 5, 9},   // through the packed tensor
                            std::tuple<index_t, index_t, index_t, index_t>{6, 9, 30, 2}}) {  // through hidden directions
    const TensorF W = TensorF::randn({h, n}, g), V = TensorF::randn({h, n}, g), P = TensorF::randn({C, h}, g);
    const TensorF U = TensorF::randn({m, C}, g);
    const TensorF Q = interaction_matrices(W, V, P, U);
    REQUIRE(Q.shape() == (Shape{m, n, n}));
    for (index_t a = 0; a < m; ++a) {
      const auto ref = lmtest_naive_q(W, V, P, U.data() + a * C);
      double scale = 0;
      for (double v : ref) scale = std::max(scale, std::fabs(v));
      for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) {
          CHECK(std::fabs(Q.data()[(a * n + i) * n + j] - ref[i * n + j]) <= 1e-5 * scale);
          CHECK(Q.data()[(a * n + i) * n + j] == Q.data()[(a * n + j) * n + i]);
        }
    }
  }
  const TensorF W = TensorF::randn({4, 3}, g), P = TensorF::randn({2, 4}, g);
  CHECK_THROWS_WITH(interaction_matrices(W, W, P, TensorF::randn({2, 3}, g)), Catch::Contains("directions must be [m, 2]"));
}

TEST_CASE("eigh_sorted: eigenpairs of every matrix, by |λ| descending", "[interp][lm]") {
  Generator g(5);
  const index_t m = 6, n = 10;
  TensorF Qs = TensorF::empty({m, n, n});
  for (index_t a = 0; a < m; ++a) {
    const TensorF G = goe_matrix<float>(n, 1.0, g);
    std::copy_n(G.data(), n * n, Qs.data() + a * n * n);
  }
  for (bool dbl : {false, true}) {
    const SortedSpectra<float> s = eigh_sorted(Qs, true, dbl);
    for (index_t a = 0; a < m; ++a) {
      for (index_t i = 0; i + 1 < n; ++i) CHECK(std::fabs(s.vals(a)[i]) >= std::fabs(s.vals(a)[i + 1]));
      for (index_t i = 0; i < n; ++i) {  // Q v = λ v
        const float* v = s.vecs(a) + i * n;
        for (index_t r = 0; r < n; ++r) {
          double qv = 0;
          for (index_t c = 0; c < n; ++c) qv += Qs.data()[(a * n + r) * n + c] * v[c];
          CHECK(std::fabs(qv - s.vals(a)[i] * v[r]) < 1e-4);
        }
      }
    }
  }
}

TEST_CASE("a transformer layer's MLP: u·MLP(x) = xᵀQ(u)x = Σλ(v·x)² for every kind of direction", "[interp][lm]") {
  Generator g(7);
  nn::Transformer<float> model(lmtest_config(nn::MlpKind::Bilinear), g);
  const LayerMlp mlp = bilinear_mlp(model, 1);
  const TensorF X = TensorF::randn({50, 16}, g);
  const TensorF out = mlp_forward(model, 1, X);
  Generator gr(1);
  for (const TensorF& U : {random_directions(5, 16, gr), unembedding_directions(model, {0, 3, 31}),
                           contrast_directions(model, {{1, 2}, {5, 30}})}) {
    const TensorF Q = interaction_matrices(mlp.W, mlp.V, mlp.P, U);
    const SortedSpectra<float> s = eigh_sorted(Q, true);
    const index_t m = U.size(0);
    TensorF ref = TensorF::empty({50, m});
    for (index_t i = 0; i < 50; ++i)
      for (index_t a = 0; a < m; ++a) {
        double v = 0;
        for (index_t j = 0; j < 16; ++j) v += static_cast<double>(out.data()[i * 16 + j]) * U.data()[a * 16 + j];
        ref.data()[i * m + a] = static_cast<float>(v);
      }
    const FormExactness e = form_exactness(ref, X, Q, s);
    CHECK(e.form_rel < 1e-5);
    CHECK(e.eigen_rel < 1e-5);
    CHECK(e.max_abs_ref > 0);
  }
  // a contrast is the difference of the two unembedding rows
  const TensorF c = contrast_directions(model, {{4, 9}}), u = unembedding_directions(model, {4, 9});
  for (index_t j = 0; j < 16; ++j) CHECK(c.data()[j] == Approx(u.data()[j] - u.data()[16 + j]));
  CHECK_THROWS_WITH(unembedding_directions(model, {32}), Catch::Contains("token id 32 is outside the vocabulary"));
  CHECK_THROWS_WITH(bilinear_mlp(model, 2), Catch::Contains("layer 2 does not exist"));
  nn::Transformer<float> glu(lmtest_config(nn::MlpKind::GluSilu), g);
  CHECK_THROWS_WITH(bilinear_mlp(glu, 0), Catch::Contains("exact only for bilinear layers"));
}

TEST_CASE("latent basis: D'ᵀQD' with b_dec as an always-on latent makes x̂ᵀQx̂ = z'ᵀQ_lat z' exact", "[interp][lm]") {
  Generator g(11);
  nn::TopKSAE<float> sae(nn::SaeConfig{8, 20, 3, false}, g);
  for (index_t i = 0; i < 8; ++i) sae.b_dec.data()[i] = static_cast<float>(g.normal());
  const TensorF W = TensorF::randn({12, 8}, g), V = TensorF::randn({12, 8}, g), P = TensorF::randn({6, 12}, g);
  const TensorF Q = interaction_matrices(W, V, P, TensorF::randn({4, 6}, g));
  const TensorF H = TensorF::randn({40, 8}, g);
  CHECK(latent_identity_error(Q, {0, 1, 2, 3}, sae, H) < 1e-5);
  // against a naive D'ᵀQD'
  const TensorF Dp = augmented_decoder(sae);
  REQUIRE(Dp.shape() == (Shape{8, 21}));
  const TensorF Q0 = Q.narrow(0, 0, 1).reshape({8, 8}).contiguous();
  const TensorF L = latent_interactions(Q0, Dp);
  for (index_t b = 0; b < 21; ++b)
    for (index_t c = 0; c < 21; ++c) {
      double s = 0;
      for (index_t i = 0; i < 8; ++i)
        for (index_t j = 0; j < 8; ++j) s += static_cast<double>(Dp.data()[i * 21 + b]) * Q0.data()[i * 8 + j] * Dp.data()[j * 21 + c];
      CHECK(L.data()[b * 21 + c] == Approx(s).margin(1e-5));
    }
  // the bias column is b_dec
  for (index_t i = 0; i < 8; ++i) CHECK(Dp.data()[i * 21 + 20] == sae.b_dec.data()[i]);
}

TEST_CASE("pearson against closed forms", "[interp][lm]") {
  const std::vector<double> x = {1, 2, 3, 4}, y = {2, 4, 6, 8}, z = {4, 3, 2, 1}, c = {5, 5, 5, 5};
  CHECK(pearson(x.data(), y.data(), 4) == Approx(1.0));
  CHECK(pearson(x.data(), z.data(), 4) == Approx(-1.0));
  CHECK(pearson(x.data(), c.data(), 4) == 0.0);
  const std::vector<double> a = {1, 2, 3}, b = {1, 3, 2};  // r = 0.5 by hand
  CHECK(pearson(a.data(), b.data(), 3) == Approx(0.5));
}

TEST_CASE("low-rank correlation: r = 1 at k = d, rank-1 features at k = 1, controls stay low", "[interp][lm]") {
  Generator g(13);
  const index_t n = 12, m = 3, N = 400;
  TensorF Qs = TensorF::empty({m, n, n});
  // feature 0: rank one, feature 1: rank two, feature 2: full GOE
  const TensorF G = goe_matrix<float>(n, 1.0, g);
  std::vector<float> v1(n), v2(n);
  for (index_t i = 0; i < n; ++i) v1[i] = static_cast<float>(g.normal()), v2[i] = static_cast<float>(g.normal());
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) {
      Qs.data()[i * n + j] = 3.0f * v1[i] * v1[j];
      Qs.data()[(n + i) * n + j] = 2.0f * v1[i] * v1[j] - 1.5f * v2[i] * v2[j];
      Qs.data()[(2 * n + i) * n + j] = G.data()[i * n + j];
    }
  const SortedSpectra<float> spec = eigh_sorted(Qs, true, true);
  const TensorF X = TensorF::randn({N, n}, g);
  std::vector<ActiveSet> act(static_cast<std::size_t>(m));
  for (index_t a = 0; a < m; ++a)
    for (index_t r = 0; r < N; r += 2) {  // "active" rows: activation = xᵀQx + 0.7 (affine)
      double s = 0;
      for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) s += X.data()[r * n + i] * Qs.data()[(a * n + i) * n + j] * X.data()[r * n + j];
      act[a].rows.push_back(r);
      act[a].values.push_back(static_cast<float>(s + 0.7));
    }
  act[2].rows.resize(5), act[2].values.resize(5);  // below min_active: not analysed
  TensorF Gs = TensorF::empty({2, n, n});
  for (int p = 0; p < 2; ++p) {
    const TensorF R = goe_matrix<float>(n, 1.0, g);
    std::copy_n(R.data(), n * n, Gs.data() + p * n * n);
  }
  CorrelationOptions o;
  o.min_active = 10;
  const CorrelationResult c = lowrank_correlations(spec, X, act, o, eigh_sorted(Gs, true));
  REQUIRE(c.features == std::vector<index_t>{0, 1});
  REQUIRE(c.ks.back() == n);
  for (std::size_t f = 0; f < 2; ++f) CHECK(c.r[f].back() == Approx(1.0).margin(1e-5));
  CHECK(c.r[0][0] == Approx(1.0).margin(1e-5));  // rank one: k = 1 is everything
  CHECK(c.r[1][1] == Approx(1.0).margin(1e-5));  // rank two: k = 2
  CHECK(c.r[1][0] < 0.99);
  CHECK(std::fabs(c.r_goe[0][1]) < 0.5);
  for (std::size_t f = 0; f < 2; ++f) CHECK(c.r_random[f].back() == Approx(1.0).margin(1e-5));  // all of them, any order
  CHECK(c.frac_above(c.index_of(2), 0.75) == 1.0);
  // active_sets reads a TopK code: zeros are inactive, negative values are active
  SparseCode<float> code{TensorF::from_vector({1.f, 0.f, -2.f, 3.f}, {2, 2}), IndexTensor::from_vector({4, 1, 0, 4}, {2, 2})};
  const auto sets = active_sets(code, 5);
  CHECK(sets[4].rows == std::vector<index_t>{0, 1});
  CHECK(sets[1].rows.empty());
  CHECK(sets[0].values == std::vector<float>{-2.f});
}

TEST_CASE("spectral measures against closed forms, and the GOE baseline", "[interp][lm]") {
  CHECK(l1l2_rank({1, 1, 1, 1}) == Approx(4.0));
  CHECK(l1l2_rank({0, 5, 0}) == Approx(1.0));
  CHECK(l1l2_rank({2, -2}) == Approx(2.0));
  CHECK(l1l2_rank({0, 0}) == 0.0);
  CHECK(energy_share({3, -4, 0, 0}, 1) == Approx(16.0 / 25.0));
  CHECK(energy_share({1, 1, 1, 1}, 2) == Approx(0.5));
  const auto t = traceless({1, 2, 6});
  CHECK(t[0] == Approx(-2.0));
  CHECK(t[2] == Approx(3.0));
  const SpectrumShape flat = spectrum_shape({1, 1, 1, 1});
  CHECK(flat.rank == Approx(4.0));
  CHECK(flat.e2 == Approx(0.5));
  CHECK(flat.e8 == Approx(1.0));
  CHECK(flat.rank_tl == 0.0);  // Q = I: its traceless part is zero
  const SpectrumShape one = spectrum_shape({2, 0, 0, 0});
  CHECK(one.rank == Approx(1.0));
  CHECK(one.rank_tl == Approx(l1l2_rank({1.5, -0.5, -0.5, -0.5})));
  const SpectrumShape m = median_shape({flat, one, flat});
  CHECK(m.rank == Approx(4.0));
  CHECK(m.e2 == Approx(0.5));
  // GOE, n = 256: semicircle law gives (L1/L2)² → 64n/(9π²) and top-2 energy ≈ 8/n
  Generator g(17);
  const index_t n = 256;
  const TensorF G = goe_matrix<float>(n, 0.1, g);
  CHECK(offdiag_std(G.data(), n) == Approx(0.1).epsilon(0.02));
  const SortedSpectra<float> s = eigh_sorted(G.reshape({1, n, n}), false, true);
  CHECK(l1l2_rank(s.spectrum(0)) == Approx(64.0 * n / (9.0 * M_PI * M_PI)).epsilon(0.04));
  CHECK(energy_share(s.spectrum(0), 2) == Approx(8.0 / n).epsilon(0.25));
}

TEST_CASE("circuit heuristics against naive implementations", "[interp][lm]") {
  Generator g(19);
  // quantile = NumPy's linear interpolation on the sorted values
  std::vector<double> v;
  for (int i = 0; i < 101; ++i) v.push_back(g.normal());
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  for (double q : {0.0, 0.25, 0.5, 0.73, 1.0}) {
    const double pos = q * 100, lo = std::floor(pos);
    const double ref = s[static_cast<std::size_t>(lo)] + (pos - lo) * (s[std::min<std::size_t>(100, static_cast<std::size_t>(lo) + 1)] - s[static_cast<std::size_t>(lo)]);
    CHECK(quantile(v, q) == Approx(ref));
  }
  CHECK(quantile({1, 2, 3, 4}, 0.25) == Approx(1.75));
  // IQR outliers: q1 = 1.75, q3 = 3.25 of {1,2,3,4}; factor 1 → [0.25, 4.75]
  const auto [cnt, mx] = iqr_outliers({1, 2, 3, 4, 10, -5}, 1.0);
  {
    const std::vector<double> w = {1, 2, 3, 4, 10, -5};
    const double q1 = quantile(w, 0.25), q3 = quantile(w, 0.75);
    index_t c = 0;
    double m = 0;
    for (double x : w)
      if (x < q1 - (q3 - q1) || x > q3 + (q3 - q1)) ++c, m = std::max(m, std::fabs(x));
    CHECK(cnt == c);
    CHECK(mx == Approx(m));
  }
  // latent_stats: cross = 2·Q[i,j] (i < j) with factor 4, self = diagonal with factor 2, bias latent left out
  const index_t L = 9, n_in = 8;
  std::vector<float> Ql(L * L);
  for (index_t i = 0; i < L; ++i)
    for (index_t j = 0; j <= i; ++j) Ql[i * L + j] = Ql[j * L + i] = static_cast<float>(0.01 * g.normal());
  Ql[3 * L + 5] = Ql[5 * L + 3] = 0.5f;   // one strong cross-interaction
  Ql[8 * L + 1] = Ql[1 * L + 8] = 9.0f;   // bias latent: ignored
  std::vector<double> cross, self;
  const LatentStats st = latent_stats(Ql.data(), L, n_in, &cross, &self);
  CHECK(cross.size() == 28u);
  CHECK(self.size() == 8u);
  CHECK(st.outlier_max == Approx(1.0));
  const auto [cc, cm] = iqr_outliers(cross, 4.0);
  const auto [sc, sm] = iqr_outliers(self, 2.0);
  CHECK(st.outliers == cc + sc);
  // antipodal pairs = a naive cosine scan
  TensorF D = TensorF::randn({5, 6}, g);
  for (index_t i = 0; i < 5; ++i) D.data()[i * 6 + 4] = -0.9f * D.data()[i * 6 + 1] + 0.01f * static_cast<float>(g.normal());
  const auto pairs = antipodal_pairs(D, -0.9);
  std::vector<std::pair<index_t, index_t>> naive;
  for (index_t a = 0; a < 6; ++a)
    for (index_t b = a + 1; b < 6; ++b) {
      double ab = 0, aa = 0, bb = 0;
      for (index_t i = 0; i < 5; ++i) {
        const double x = D.data()[i * 6 + a], y = D.data()[i * 6 + b];
        ab += x * y, aa += x * x, bb += y * y;
      }
      if (ab / std::sqrt(aa * bb) <= -0.9) naive.emplace_back(a, b);
    }
  REQUIRE(pairs.size() == naive.size());
  REQUIRE(!pairs.empty());
  CHECK(pairs[0].a == 1);
  CHECK(pairs[0].b == 4);
  // the negation probe reads the marked token
  CHECK(marked_token("he was\u00ab not\u00bb happy") == " not");
  CHECK(is_negation("he was\u00ab not\u00bb happy"));
  CHECK(is_negation("she\u00ab never\u00bb saw"));
  CHECK(is_negation("I don\u00ab't\u00bb know"));
  CHECK(is_negation("I do\u00abn't\u00bb know"));
  CHECK_FALSE(is_negation("the\u00ab knot\u00bb held"));
  CHECK_FALSE(is_negation("no mark here"));
}

TEST_CASE("Fig. 8B overlay: named directions projected on each circuit's top ± eigenvectors", "[interp][lm]") {
  Generator g(23);
  const index_t d = 8, hid = 12, m = 4, N = 60;
  nn::TopKSAE<float> out_sae(nn::SaeConfig{d, m, 2, false}, g), in_sae(nn::SaeConfig{d, 20, 3, false}, g);
  const TensorF W = TensorF::randn({hid, d}, g), V = TensorF::randn({hid, d}, g), P = TensorF::randn({d, hid}, g);
  const TensorF Q = interaction_matrices(W, V, P, out_sae.encoder());
  const SortedSpectra<float> spec = eigh_sorted(Q, true, true);
  const TensorF X = TensorF::randn({N, d}, g);
  std::vector<ActiveSet> act(static_cast<std::size_t>(m));
  for (index_t a = 0; a < m; ++a)
    for (index_t r = 0; r < N; ++r) {
      double s = 0;
      for (index_t i = 0; i < d; ++i)
        for (index_t j = 0; j < d; ++j) s += X.data()[r * d + i] * Q.data()[(a * d + i) * d + j] * X.data()[r * d + j];
      act[a].rows.push_back(r);
      act[a].values.push_back(static_cast<float>(s));
    }
  CircuitOptions o;
  o.top_features = 1;
  // the first shown feature's own top positive eigenvector (cos 1 with v+, 0 with v−) and a scaled decoder column
  // of input latent 0 (the same cosines as the latent's own point, whatever the scale)
  const TensorF Dp = augmented_decoder(in_sae);
  std::vector<float> dec0(static_cast<std::size_t>(d));
  for (index_t i = 0; i < d; ++i) dec0[i] = 3.0f * Dp.data()[i * Dp.size(1)];
  o.overlay = {{"latent 0 ×3", dec0}};
  const CircuitAnalysis first = analyze_circuits(Q, spec, out_sae, in_sae, X, act, std::vector<std::vector<std::string>>(m), o);
  REQUIRE(!first.features.empty());
  const FeatureCircuit& fc = first.features[0];
  REQUIRE(fc.overlay.size() == 1);
  CHECK(fc.overlay[0].name == "latent 0 ×3");
  const index_t a = fc.feature;
  index_t ip = -1, in = -1;
  for (index_t i = 0; i < d; ++i) {
    if (spec.vals(a)[i] > 0 && ip < 0) ip = i;
    if (spec.vals(a)[i] < 0 && in < 0) in = i;
  }
  REQUIRE(ip >= 0);
  REQUIRE(in >= 0);
  // naive cosines of dec0 with v+ and v−
  double nn0 = 0, cp = 0, cn = 0;
  for (index_t r = 0; r < d; ++r) {
    nn0 += static_cast<double>(dec0[r]) * dec0[r];
    cp += static_cast<double>(dec0[r]) * spec.vecs(a)[ip * d + r];
    cn += static_cast<double>(dec0[r]) * spec.vecs(a)[in * d + r];
  }
  CHECK(fc.overlay[0].cos_pos == Approx(cp / std::sqrt(nn0)).margin(1e-6));
  CHECK(fc.overlay[0].cos_neg == Approx(cn / std::sqrt(nn0)).margin(1e-6));
  // v+ itself: cosine 1 with v+, 0 with v− (orthogonal eigenvectors)
  std::vector<float> vp(spec.vecs(a) + ip * d, spec.vecs(a) + (ip + 1) * d);
  o.overlay = {{"v+", vp}};
  const CircuitAnalysis again = analyze_circuits(Q, spec, out_sae, in_sae, X, act, std::vector<std::vector<std::string>>(m), o);
  CHECK(again.features[0].overlay[0].cos_pos == Approx(1.0).margin(1e-5));
  CHECK(again.features[0].overlay[0].cos_neg == Approx(0.0).margin(1e-5));
  o.overlay = {{"short", std::vector<float>(3, 1.0f)}};
  CHECK_THROWS_WITH(analyze_circuits(Q, spec, out_sae, in_sae, X, act, std::vector<std::vector<std::string>>(m), o),
                    Catch::Matchers::Contains("overlay direction 'short' has 3 entries, the layer d = 8"));
}
