// Direct path of a bilinear MLP (interp/direct_path.hpp), its thin QR (linalg/qr.hpp) and the
// Spearman correlation (interp/correlation.hpp), each against an independent reference: the
// bigram map against a per-token forward pass through the real model modules, the thin-QR
// eigen route against a dense eigendecomposition of the full V×V token matrix, Spearman
// against a naive O(n²) ranking, next-token counts against a map of pairs.
#include <catch2/catch.hpp>

#include <bilin/core/random.hpp>
#include <bilin/interp/correlation.hpp>
#include <bilin/interp/direct_path.hpp>
#include <bilin/linalg/qr.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "test_support.hpp"

using namespace bilin;

namespace {

nn::TransformerConfig dp_config(const char* mlp = "bilinear") {
  return nn::TransformerConfig::from_json(std::string(R"({"vocab": 40, "n_layer": 2, "d_model": 8, "n_head": 2, )") +
                                          R"("d_hidden": 12, "n_ctx": 16, "mlp": ")" + mlp + "\"}");
}

TensorD dp_random(Generator& g, index_t m, index_t n) {
  TensorD a = TensorD::empty({m, n});
  for (index_t i = 0; i < a.numel(); ++i) a.data()[i] = g.normal();
  return a;
}

// 1-based ranks by counting: rank = 1 + #smaller + (#equal others)/2.
std::vector<double> dp_naive_ranks(const std::vector<double>& x) {
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    double less = 0, eq = 0;
    for (std::size_t j = 0; j < x.size(); ++j) {
      if (x[j] < x[i]) ++less;
      if (j != i && x[j] == x[i]) ++eq;
    }
    r[i] = 1 + less + eq / 2;
  }
  return r;
}

double dp_naive_spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const auto rx = dp_naive_ranks(x), ry = dp_naive_ranks(y);
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += rx[i] / n, my += ry[i] / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    sxy += (rx[i] - mx) * (ry[i] - my), sxx += (rx[i] - mx) * (rx[i] - mx), syy += (ry[i] - my) * (ry[i] - my);
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

TEST_CASE("thin QR: A = QR, orthonormal Q, upper-triangular R with a non-negative diagonal", "[linalg][qr]") {
  Generator g(11);
  for (auto [m, n] : {std::pair<index_t, index_t>{9, 9}, {40, 7}, {200, 16}}) {
    const TensorD A = dp_random(g, m, n);
    const auto qr = linalg::thin_qr(A);
    REQUIRE(qr.q.shape() == Shape{m, n});
    REQUIRE(qr.r.shape() == Shape{n, n});
    double err = 0, orth = 0;
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < n; ++j) {
        double s = 0;
        for (index_t k = 0; k < n; ++k) s += qr.q.data()[i * n + k] * qr.r.data()[k * n + j];
        err = std::max(err, std::fabs(s - A.data()[i * n + j]));
      }
    for (index_t a = 0; a < n; ++a)
      for (index_t b = 0; b < n; ++b) {
        double s = 0;
        for (index_t i = 0; i < m; ++i) s += qr.q.data()[i * n + a] * qr.q.data()[i * n + b];
        orth = std::max(orth, std::fabs(s - (a == b ? 1.0 : 0.0)));
      }
    CHECK(err < 1e-12);
    CHECK(orth < 1e-13);
    for (index_t k = 0; k < n; ++k) {
      CHECK(qr.r.data()[k * n + k] >= 0);
      for (index_t j = 0; j < k; ++j) CHECK(qr.r.data()[k * n + j] == 0);
    }
  }
  // Rank-deficient: column 2 = column 0 + column 1; Q stays orthonormal, R[2,2] = 0.
  TensorD A = dp_random(g, 12, 4);
  for (index_t i = 0; i < 12; ++i) A.data()[i * 4 + 2] = A.data()[i * 4] + A.data()[i * 4 + 1];
  const auto qr = linalg::thin_qr(A);
  CHECK(std::fabs(qr.r.data()[2 * 4 + 2]) < 1e-12);
  for (index_t a = 0; a < 4; ++a) {
    double s = 0;
    for (index_t i = 0; i < 12; ++i) s += qr.q.data()[i * 4 + a] * qr.q.data()[i * 4 + a];
    CHECK(s == Approx(1.0).margin(1e-12));
  }
  CHECK_THAT(bilin_test::error_of([] { linalg::thin_qr(TensorD::zeros({3, 5})); }),
             Catch::Contains("thin_qr") && Catch::Contains("[3,5]"));
}

TEST_CASE("Spearman agrees with a naive implementation, ties included", "[interp][direct_path]") {
  Generator g(5);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 2 + static_cast<std::size_t>(g.randint(60));
    std::vector<double> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = static_cast<double>(g.randint(6));  // many ties, like next-token counts
      y[i] = trial % 2 ? g.normal() : static_cast<double>(g.randint(4));
    }
    const double ref = dp_naive_spearman(x, y), got = interp::spearman(x, y);
    if (std::isnan(ref)) {
      CHECK(std::isnan(got));
    } else {
      CHECK(got == Approx(ref).margin(1e-12));
    }
  }
  // Without ties: the closed form 1 − 6Σd²/(n(n²−1)).
  std::vector<double> x = {3, 1, 4, 1.5, 9, 2.6, 5.3}, y = {2, 7, 1, 8, 2.8, 1.8, 2.84};
  const auto rx = dp_naive_ranks(x), ry = dp_naive_ranks(y);
  double d2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) d2 += (rx[i] - ry[i]) * (rx[i] - ry[i]);
  const double n = static_cast<double>(x.size());
  CHECK(interp::spearman(x, y) == Approx(1 - 6 * d2 / (n * (n * n - 1))).margin(1e-12));
  CHECK(interp::spearman({1, 2, 3}, {2, 4, 60.0}) == Approx(1.0));
  CHECK(std::isnan(interp::spearman({1, 1, 1}, {1, 2, 3})));
  CHECK_THAT(bilin_test::error_of([] { interp::spearman({1, 2}, {1, 2, 3}); }), Catch::Contains("spearman"));
}

TEST_CASE("bigram map equals a per-token forward pass through the layer's real norm and MLP", "[interp][direct_path]") {
  Generator gen(21);
  nn::Transformer<float> model(dp_config(), gen);
  for (index_t layer = 0; layer < 2; ++layer) {
    const auto w = interp::direct_path_weights(model, layer);
    const TensorF D = interp::bigram_map(w), Ed = interp::embedding_map(w);
    const index_t V = 40, d = 8;
    REQUIRE(D.shape() == Shape{V, V});
    NoGradGuard ng;
    auto& block = model.block(static_cast<std::size_t>(layer));
    const TensorF U = model.lm_head->weight.contiguous();
    double err = 0, scale = 0, err_e = 0;
    for (index_t t = 0; t < V; ++t) {
      const TensorF e = model.transformer->wte->weight.narrow(0, t, 1).contiguous();  // [1, d]
      const TensorF m = block.mlp->forward(block.n2->forward(e)).contiguous();         // [1, d]
      for (index_t o = 0; o < V; ++o) {
        double ref = 0, ref_e = 0;
        for (index_t j = 0; j < d; ++j) {
          ref += static_cast<double>(U.data()[o * d + j]) * m.data()[j];
          ref_e += static_cast<double>(U.data()[o * d + j]) * e.data()[j];
        }
        err = std::max(err, std::fabs(ref - D.data()[o * V + t]));
        err_e = std::max(err_e, std::fabs(ref_e - Ed.data()[o * V + t]));
        scale = std::max(scale, std::fabs(ref));
      }
    }
    CHECK(scale > 1e-3);
    CHECK(err <= 1e-5 * scale);
    CHECK(err_e < 1e-5);
    // Following / preceding are the column / row of D, largest first.
    const auto f = interp::following(D, 3, 5);
    REQUIRE(f.size() == 5);
    for (const auto& s : f) CHECK(s.value == D.data()[s.token * V + 3]);
    for (std::size_t i = 1; i < f.size(); ++i) CHECK(f[i - 1].value >= f[i].value);
    for (index_t o = 0; o < V; ++o) CHECK(D.data()[o * V + 3] <= f.front().value);
    const auto p = interp::preceding(D, 7, 3);
    for (const auto& s : p) CHECK(s.value == D.data()[7 * V + s.token]);
    for (index_t t = 0; t < V; ++t) CHECK(D.data()[7 * V + t] <= p.front().value);
  }
  nn::Transformer<float> glu(dp_config("glu-silu"), gen);
  CHECK_THAT(bilin_test::error_of([&] { interp::direct_path_weights(glu, 0); }),
             Catch::Contains("glu-silu") && Catch::Contains("bilinear"));
  CHECK_THAT(bilin_test::error_of([&] { interp::direct_path_weights(model, 2); }), Catch::Contains("layer 2"));
}

TEST_CASE("token interaction eigenpairs through the thin QR equal the dense V×V eigendecomposition",
          "[interp][direct_path]") {
  Generator gen(22);
  nn::Transformer<float> model(dp_config(), gen);
  const auto w = interp::direct_path_weights(model, 1);
  const index_t V = 40, d = 8;
  const TensorF D = interp::bigram_map(w);
  const auto basis = interp::token_basis(w.inputs);
  for (index_t o : {0, 17, 39}) {
    const TensorF Q = interp::interaction_matrix(w.W, w.V, w.P, interp::unembed_direction(w, o));
    // Dense M = X Q Xᵀ in double, and its full eigendecomposition.
    TensorD M = TensorD::zeros({V, V});
    for (index_t s = 0; s < V; ++s)
      for (index_t t = 0; t < V; ++t) {
        double acc = 0;
        for (index_t i = 0; i < d; ++i)
          for (index_t j = 0; j < d; ++j)
            acc += static_cast<double>(w.inputs.data()[s * d + i]) * Q.data()[i * d + j] * w.inputs.data()[t * d + j];
        M.data()[s * V + t] = acc;
      }
    // diag(M_{U_o}) is row o of the bigram map: U_o·MLP(x_t) = x_tᵀ Q(U_o) x_t.
    for (index_t t = 0; t < V; ++t) CHECK(M.data()[t * V + t] == Approx(D.data()[o * V + t]).margin(2e-5));
    linalg::EighOptions opt;
    opt.method = linalg::EighMethod::jacobi;
    const auto ref = linalg::eigh(M, opt);
    std::vector<index_t> order(V);
    for (index_t i = 0; i < V; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
      return std::fabs(ref.values.data()[a]) > std::fabs(ref.values.data()[b]);
    });
    const auto te = interp::token_interaction_eigen(basis, Q, d);
    REQUIRE(te.values.size() == static_cast<std::size_t>(d));
    const double top = std::fabs(ref.values.data()[order[0]]);
    for (index_t i = 0; i < d; ++i) {
      CHECK(te.values[i] == Approx(ref.values.data()[order[i]]).margin(1e-9 * top));
      // Same eigenvector up to sign (the spectrum of a random Q is simple).
      double dot = 0;
      for (index_t t = 0; t < V; ++t) dot += te.vectors.data()[i * V + t] * ref.vectors.data()[t * V + order[i]];
      CHECK(std::fabs(dot) == Approx(1.0).margin(1e-8));
    }
    // The rest of the dense spectrum is zero (rank <= d).
    for (index_t i = d; i < V; ++i) CHECK(std::fabs(ref.values.data()[order[i]]) < 1e-9 * top);
    const auto te2 = interp::token_interaction_eigen(basis, Q, 3);
    for (index_t i = 0; i < 3; ++i) CHECK(te2.values[i] == Approx(te.values[i]).margin(1e-12 * top));
    // On a token subset: the dense matrix's principal submatrix.
    const std::vector<index_t> sub = {3, 5, 8, 13, 21, 34, 1, 2, 39, 0, 7};
    const auto sb = interp::token_basis(w.inputs, sub);
    const index_t S = static_cast<index_t>(sub.size());
    TensorD Ms = TensorD::empty({S, S});
    for (index_t a = 0; a < S; ++a)
      for (index_t b = 0; b < S; ++b) Ms.data()[a * S + b] = M.data()[sub[a] * V + sub[b]];
    const auto rs = linalg::eigh(Ms, opt);
    double big = 0;
    for (index_t i = 0; i < S; ++i) big = std::max(big, std::fabs(rs.values.data()[i]));
    const auto ts = interp::token_interaction_eigen(sb, Q, 1);
    CHECK(std::fabs(ts.values[0]) == Approx(big).epsilon(1e-9));
    CHECK(ts.tokens == sub);
  }
}

TEST_CASE("next-token counts and the agreement check match a naive count", "[interp][direct_path]") {
  Generator g(9);
  const index_t V = 12;
  std::vector<data::token_t> text(3000);
  for (auto& t : text) t = static_cast<data::token_t>(g.randint(3) == 0 ? g.randint(3) : g.randint(V));
  const auto c = interp::next_token_counts(text, V, 5);
  std::map<std::pair<index_t, index_t>, std::uint32_t> pairs;
  std::vector<std::uint64_t> freq(V);
  for (std::size_t i = 0; i + 1 < text.size(); ++i) ++pairs[{text[i], text[i + 1]}], ++freq[text[i]];
  REQUIRE(c.tokens.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(c.frequency[i] == freq[c.tokens[i]]);
    if (i) CHECK(c.frequency[i - 1] >= c.frequency[i]);
    for (index_t o = 0; o < V; ++o) CHECK(c.counts[i * V + o] == pairs[{c.tokens[i], o}]);
  }
  for (index_t t = 0; t < V; ++t)
    if (std::find(c.tokens.begin(), c.tokens.end(), t) == c.tokens.end()) CHECK(freq[t] <= c.frequency.back());
  // A map whose column t is a noisy copy of log counts, and one that is the counts themselves.
  TensorF D = TensorF::empty({V, V});
  for (index_t o = 0; o < V; ++o)
    for (index_t t = 0; t < V; ++t) D.data()[o * V + t] = static_cast<float>(std::log1p(pairs[{t, o}]) + 0.3 * g.normal());
  const auto a = interp::direct_path_agreement(D, c, 3);
  REQUIRE(a.spearman.size() == 5);
  double mean = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    std::vector<double> col(V), lc(V);
    for (index_t o = 0; o < V; ++o) col[o] = D.data()[o * V + c.tokens[i]], lc[o] = std::log1p(pairs[{c.tokens[i], o}]);
    CHECK(a.spearman[i] == Approx(dp_naive_spearman(col, lc)).margin(1e-12));
    mean += a.spearman[i] / 5;
  }
  CHECK(a.spearman_mean == Approx(mean));
  for (index_t o = 0; o < V; ++o)
    for (index_t t = 0; t < V; ++t) D.data()[o * V + t] = static_cast<float>(pairs[{t, o}]);
  const auto exact = interp::direct_path_agreement(D, c, 3);
  CHECK(exact.spearman_mean == Approx(1.0));
  CHECK(exact.topk_overlap_mean == Approx(1.0));
  CHECK_THAT(bilin_test::error_of([&] {
               std::vector<data::token_t> bad = {1, 2, 99};
               interp::next_token_counts(bad, V, 3);
             }),
             Catch::Contains("99") && Catch::Contains("position 2"));
  CHECK_THAT(bilin_test::error_of([&] { interp::next_token_counts(std::vector<data::token_t>{1}, V, 3); }),
             Catch::Contains("at least 2"));
}

TEST_CASE("the interaction token set falls back to the whole vocabulary for a text with few distinct tokens",
          "[interp][direct_path]") {
  const std::vector<data::token_t> text = {5, 5, 3, 5, 3, 9, 1, 1, 1, 1, 2};
  CHECK(interp::most_frequent_tokens(text, 12, 3) == std::vector<index_t>{1, 5, 3});
  CHECK(interp::most_frequent_tokens(text, 12, 100).size() == 5);
  CHECK(interp::interaction_token_set(text, 12, 4, 2) == std::vector<index_t>{1, 5, 3, 2});
  CHECK(interp::interaction_token_set(text, 12, 6, 2).empty());  // 5 distinct tokens < d = 6
  CHECK(interp::interaction_token_set(text, 12, 4, 0).empty());
}
