// Tests of the image-study pieces (issue 19): Hungarian matching of eigenvectors across runs,
// Casper's labelling function and its recovery, the bias-augmented split of a form against the
// model's actual output, pseudo-inverse masks, the App. B augmentations and model regularizers,
// and the (L1/L2)² counts — each against a naive reference or a closed form.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/data/augment.hpp"
#include "bilin/data/casper.hpp"
#include "bilin/data/loader.hpp"
#include "bilin/interp/bias_terms.hpp"
#include "bilin/interp/casper.hpp"
#include "bilin/interp/consistency.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/pinv_mask.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/spectral.hpp"
#include "bilin/nn/classifier.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

// Best total score over all injective maps rows → columns, by brute force.
double imgst_brute_best(const std::vector<double>& S, index_t m, index_t n) {
  std::vector<index_t> cols(static_cast<std::size_t>(n));
  std::iota(cols.begin(), cols.end(), index_t(0));
  double best = -1e300;
  do {
    double s = 0;
    for (index_t i = 0; i < m; ++i) s += S[i * n + cols[i]];
    best = std::max(best, s);
  } while (std::next_permutation(cols.begin(), cols.end()));
  return best;
}

// Eigencomponents with the given pixel pictures (rows) and eigenvalues, no embedding.
Eigencomponents<double> imgst_components(const std::vector<std::vector<double>>& pics, const std::vector<double>& vals) {
  Eigencomponents<double> ec;
  const index_t k = static_cast<index_t>(pics.size()), D = static_cast<index_t>(pics[0].size());
  ec.values = TensorD::from_vector(vals, {k});
  std::vector<double> flat;
  for (const auto& p : pics) flat.insert(flat.end(), p.begin(), p.end());
  ec.vectors = TensorD::from_vector(flat, {k, D});
  ec.inputs = TensorD::from_vector(flat, {k, D});
  ec.offsets = TensorD::zeros({k});
  return ec;
}

std::vector<double> imgst_randvec(Generator& g, index_t n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  g.fill_normal(v.data(), n, 0.0, 1.0);
  return v;
}

}  // namespace

TEST_CASE("Hungarian assignment is optimal against brute force", "[image_studies]") {
  Generator g(5);
  for (const auto& [m, n] : std::vector<std::pair<index_t, index_t>>{{1, 1}, {3, 3}, {5, 5}, {4, 6}, {6, 7}}) {
    for (int rep = 0; rep < 5; ++rep) {
      std::vector<double> S(static_cast<std::size_t>(m * n));
      g.fill_uniform(S.data(), m * n, 0.0, 1.0);
      const auto col = max_assignment(S, m, n);
      std::vector<index_t> sorted = col;
      std::sort(sorted.begin(), sorted.end());
      REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
      double total = 0;
      for (index_t i = 0; i < m; ++i) total += S[i * n + col[i]];
      REQUIRE(total == Approx(imgst_brute_best(S, m, n)).epsilon(1e-12));
    }
  }
  REQUIRE_THROWS_WITH(max_assignment(std::vector<double>(6), 3, 2), Catch::Matchers::Contains("m <= n"));
}

TEST_CASE("features are matched across runs up to sign and order", "[image_studies]") {
  Generator g(7);
  const index_t D = 30;
  std::vector<std::vector<double>> a;
  for (int i = 0; i < 4; ++i) a.push_back(imgst_randvec(g, D));
  // The other run: the same features, permuted (2,0,3,1), flipped in sign and slightly noisy.
  const std::vector<int> perm = {2, 0, 3, 1};
  std::vector<std::vector<double>> b(4);
  for (int i = 0; i < 4; ++i) {
    b[perm[i]] = a[i];
    for (double& x : b[perm[i]]) x = -x;
  }
  const auto ra = imgst_components(a, {4, 3, 2, 1});
  const auto rb = imgst_components(b, {4, 3, 2, 1});
  const FeatureMatch fm = match_components(ra, rb, 4, true);
  REQUIRE(fm.k == 4);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(fm.partner[i] == perm[i]);
    REQUIRE(fm.cosine[i] == Approx(1.0));
  }
  REQUIRE(fm.top_matched == Approx(1.0));
  // The direct comparison is rank 1 vs rank 1: feature 0 vs b's row 0 = a[1].
  double d = 0, na = 0, nb = 0;
  for (index_t p = 0; p < D; ++p) d += a[0][p] * a[1][p], na += a[0][p] * a[0][p], nb += a[1][p] * a[1][p];
  REQUIRE(fm.top_direct == Approx(std::fabs(d) / std::sqrt(na * nb)));
  // No negative eigenvalues: nothing to match.
  REQUIRE(match_components(ra, rb, 4, false).k == 0);
}

TEST_CASE("Casper's labelling function: similarity, median threshold, relabelling", "[image_studies]") {
  // Four 2x2 images; the first label-1 image is the target.
  const std::vector<std::uint8_t> px = {0, 255, 0, 255, 255, 0, 255, 0, 255, 255, 0, 0, 0, 255, 0, 0, 51, 102, 153, 204};
  const std::vector<std::int64_t> lab = {7, 1, 1, 3, 1};
  auto ds = data::ImageDataset::from_tensors(Tensor<std::uint8_t>::from_vector(px, {5, 4}),
                                             Tensor<std::int64_t>::from_vector(lab, {5}), 2, 2);
  const data::CasperTask t = data::make_casper_task(ds);
  REQUIRE(t.target_index == 1);
  const std::vector<double> c = {0.5, -0.5, 0.5, -0.5};
  for (index_t i = 0; i < 5; ++i) {
    double s = 0;
    for (int p = 0; p < 4; ++p) s += c[p] * (px[i * 4 + p] / 255.0 - 0.5);
    REQUIRE(t.similarity(px.data() + i * 4) == Approx(s).margin(1e-6));
  }
  // s = −1, 1, 0, −0.5, −0.2 → |s| median 0.5; True iff |s| > 0.5: the target and image 0,
  // which is the target's complement (1 − t): "similar to the 1 or to its complement".
  REQUIRE(t.threshold == Approx(0.5).margin(1e-6));
  REQUIRE(t.similarity(px.data()) == Approx(-1.0).margin(1e-6));
  const auto r = data::casper_relabel(ds, t);
  REQUIRE(r.labels.to_vector() == std::vector<std::int64_t>{1, 1, 0, 0, 0});
  REQUIRE(t.constant() == Approx(0.0).margin(1e-9));
  auto none = data::ImageDataset::from_tensors(Tensor<std::uint8_t>::from_vector(px, {5, 4}),
                                               Tensor<std::int64_t>::from_vector({0, 0, 0, 0, 0}, {5}), 2, 2);
  REQUIRE_THROWS_WITH(data::make_casper_task(none), Catch::Matchers::Contains("no training image of class 1"));
}

TEST_CASE("bias-augmented form: interaction + linear + constant = the model's logit difference", "[image_studies]") {
  nn::ClassifierConfig cfg;
  cfg.d_input = 9;
  cfg.d_hidden = 6;
  cfg.d_output = 2;
  cfg.bias = true;
  Generator gen(11);
  nn::ImageClassifier<double> net(cfg, gen);
  for (auto& p : net.parameters()) {  // non-trivial biases (they start at zero)
    Tensor<double> t = p;
    if (t.dim() == 1) gen.fill_normal(t.data(), t.numel(), 0.0, 0.5);
  }
  const BilinearClassifier<double> m = from_module(net);
  const TensorD X = TensorD::randn({8, 9}, gen);
  TensorD ref;
  {
    NoGradGuard ng;
    ref = net.forward(X);
  }
  const TensorD u = TensorD::from_vector({-1.0, 1.0}, {2});
  const AugmentedTerms<double> t = augmented_terms(m, u);
  const TermValues v = term_values(m, t, X);
  for (index_t i = 0; i < 8; ++i) {
    const double want = ref.at({i, 1}) - ref.at({i, 0});
    REQUIRE(v.interaction[i] + v.linear[i] + v.constant[i] == Approx(want).margin(1e-10));
    // The linear term in pixel space: 2·embedᵀq · x equals 2q·z.
    double lx = 0;
    for (index_t p = 0; p < 9; ++p) lx += t.linear_input[p] * X.at({i, p});
    REQUIRE(lx == Approx(v.linear[i]).margin(1e-10));
  }
  // At x = 0 only the constant remains: it is the model's logit difference there.
  const TensorD zero = TensorD::zeros({1, 9});
  const TensorD l0 = m.logits(zero);
  REQUIRE(t.constant == Approx(l0.at({0, 1}) - l0.at({0, 0})).margin(1e-12));
  cfg.bias = false;
  Generator g2(1);
  nn::ImageClassifier<double> plain(cfg, g2);
  REQUIRE_THROWS_WITH(augmented_terms(from_module(plain), u), Catch::Matchers::Contains("no biases"));
}

TEST_CASE("Casper recovery: the true weights give cosine 1, an unrelated picture less", "[image_studies]") {
  Generator g(3);
  std::vector<std::uint8_t> px(40 * 16);
  for (auto& p : px) p = static_cast<std::uint8_t>(g.randint(256));
  std::vector<std::int64_t> lab(40, 0);
  lab[5] = 1;
  auto ds = data::ImageDataset::from_tensors(Tensor<std::uint8_t>::from_vector(px, {40, 16}),
                                             Tensor<std::int64_t>::from_vector(lab, {40}), 4, 4);
  const data::CasperTask t = data::make_casper_task(ds);
  std::vector<double> c(t.centred.begin(), t.centred.end());
  std::vector<double> scaled = c;
  for (double& x : scaled) x *= -2.5;  // sign and scale do not matter
  auto ec = imgst_components({scaled, imgst_randvec(g, 16)}, {2.0, 1.0});
  ec.offsets.data()[0] = -2.5 * t.constant();
  const CasperRecovery r = recover_casper(ec, t, ds, ds);
  REQUIRE(r.function_cosine == Approx(1.0));
  REQUIRE(r.pixel_cosine == Approx(1.0));
  REQUIRE(r.top_share == Approx(2.0 / 3.0));
  auto other = imgst_components({imgst_randvec(g, 16)}, {1.0});
  REQUIRE(recover_casper(other, t, ds, ds).pixel_cosine < 0.9);
}

TEST_CASE("pseudo-inverse masks: V·mask_i = e_i with the least norm", "[image_studies]") {
  Generator g(9);
  const index_t D = 40;
  std::vector<std::vector<double>> pics;
  std::vector<double> vals;
  for (int i = 0; i < 12; ++i) pics.push_back(imgst_randvec(g, D)), vals.push_back(12.0 - i - 3);  // 9 positive, 3 negative
  const auto ec = imgst_components(pics, vals);
  const auto masks = pinv_masks(ec, 10);
  REQUIRE(masks.size() == 9);  // only 9 positive eigenvalues
  for (std::size_t i = 0; i < masks.size(); ++i) {
    for (std::size_t a = 0; a < 9; ++a) {
      double d = 0;
      for (index_t p = 0; p < D; ++p) d += pics[a][p] * masks[i][p];
      REQUIRE(d == Approx(a == i ? 1.0 : 0.0).margin(1e-9));
    }
    // Least norm: the mask lies in the span of the 9 pictures — removing that span leaves 0.
    // (Gram–Schmidt of the pictures, then the residual of the mask.)
    std::vector<std::vector<double>> q;
    for (std::size_t a = 0; a < 9; ++a) {
      std::vector<double> v = pics[a];
      for (const auto& b : q) {
        double d = 0;
        for (index_t p = 0; p < D; ++p) d += v[p] * b[p];
        for (index_t p = 0; p < D; ++p) v[p] -= d * b[p];
      }
      double nv = 0;
      for (double x : v) nv += x * x;
      for (double& x : v) x /= std::sqrt(nv);
      q.push_back(v);
    }
    std::vector<double> r = masks[i];
    for (const auto& b : q) {
      double d = 0;
      for (index_t p = 0; p < D; ++p) d += r[p] * b[p];
      for (index_t p = 0; p < D; ++p) r[p] -= d * b[p];
    }
    for (double x : r) REQUIRE(x == Approx(0.0).margin(1e-9));
  }
  // Permutation control: same multiset of values.
  auto pm = permuted_mask(masks[0], 4);
  auto s0 = masks[0];
  std::sort(pm.begin(), pm.end());
  std::sort(s0.begin(), s0.end());
  REQUIRE(pm == s0);
  REQUIRE(permuted_mask(masks[0], 4) != masks[0]);
  // Dependent pictures are refused.
  auto dep = imgst_components({pics[0], pics[0]}, {2.0, 1.0});
  REQUIRE_THROWS_WITH(pinv_masks(dep, 2), Catch::Matchers::Contains("linearly dependent"));
}

TEST_CASE("Gaussian blur equals a naive 2-D convolution with zero padding", "[image_studies]") {
  Generator g(2);
  const index_t H = 9, W = 11;
  std::vector<float> src(static_cast<std::size_t>(H * W)), dst(src.size());
  g.fill_uniform(src.data(), H * W, 0.0, 1.0);
  for (double sigma : {0.5, 1.0, 1.7}) {
    data::gaussian_blur(src.data(), H, W, sigma, dst.data());
    const index_t r = static_cast<index_t>(std::ceil(3 * sigma));
    double norm = 0;
    for (index_t dy = -r; dy <= r; ++dy)
      for (index_t dx = -r; dx <= r; ++dx) norm += std::exp(-(dy * dy + dx * dx) / (2 * sigma * sigma));
    for (index_t y = 0; y < H; ++y)
      for (index_t x = 0; x < W; ++x) {
        double s = 0;
        for (index_t dy = -r; dy <= r; ++dy)
          for (index_t dx = -r; dx <= r; ++dx) {
            const index_t yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < H && xx >= 0 && xx < W)
              s += std::exp(-(dy * dy + dx * dx) / (2 * sigma * sigma)) / norm * src[yy * W + xx];
          }
        REQUIRE(dst[y * W + x] == Approx(s).margin(1e-6));
      }
  }
  data::gaussian_blur(src.data(), H, W, 0.0, dst.data());
  REQUIRE(dst == src);
}

TEST_CASE("smooth noise: exact lattice values, bounded, smooth; salt-and-pepper: binomial rate", "[image_studies]") {
  const index_t H = 28, W = 28, cell = 7;
  std::vector<float> x(static_cast<std::size_t>(H * W), 0.0f);
  data::smooth_noise(x.data(), H, W, 123, 40, cell, 0.3);
  const index_t L = data::smooth_lattice(W, cell);
  REQUIRE(L == 5);
  REQUIRE(data::smooth_noise_blocks(H, W, cell) == 7);  // 25 lattice values, 4 per block
  float maxstep = 0;
  for (index_t y = 0; y < H; ++y)
    for (index_t xx = 0; xx < W; ++xx) {
      REQUIRE(std::fabs(x[y * W + xx]) <= 0.3f + 1e-6f);
      if (y % cell == 0 && xx % cell == 0) {  // a lattice point: its own uniform value
        const index_t k = (y / cell) * L + xx / cell;
        const auto b = Generator::philox(123, 40 + static_cast<std::uint64_t>(k / 4));
        REQUIRE(x[y * W + xx] == Approx(0.3 * (2.0 * Generator::u32_to_float(b.v[k % 4]) - 1.0)).margin(1e-6));
      }
      if (xx > 0) maxstep = std::max(maxstep, std::fabs(x[y * W + xx] - x[y * W + xx - 1]));
    }
  // Smoothstep between lattice values ≤ 0.6 apart: the steepest step is 1.5·0.6/7 per pixel.
  REQUIRE(maxstep <= 1.5f * 0.6f / 7 + 1e-5f);

  const index_t n = 20000;
  std::vector<float> s(static_cast<std::size_t>(n), 0.5f);
  data::salt_pepper(s.data(), n, 77, 0, 0.2, -1.0f, 2.0f);
  const auto lo = std::count(s.begin(), s.end(), -1.0f), hi = std::count(s.begin(), s.end(), 2.0f),
             kept = std::count(s.begin(), s.end(), 0.5f);
  REQUIRE(lo + hi + kept == n);
  const double sd = std::sqrt(n * 0.1 * 0.9);  // each side: Binomial(n, 0.1)
  REQUIRE(std::fabs(lo - n * 0.1) < 5 * sd);
  REQUIRE(std::fabs(hi - n * 0.1) < 5 * sd);
  REQUIRE_THROWS_WITH(data::salt_pepper(s.data(), n, 1, 0, 1.5, 0.0f, 1.0f), Catch::Matchers::Contains("probability"));
}

TEST_CASE("loader applies blur exactly as gaussian_blur when every sample gets it", "[image_studies]") {
  Generator g(4);
  std::vector<std::uint8_t> px(3 * 64);
  for (auto& p : px) p = static_cast<std::uint8_t>(g.randint(256));
  auto ds = data::ImageDataset::from_tensors(Tensor<std::uint8_t>::from_vector(px, {3, 64}),
                                             Tensor<std::int64_t>::from_vector({0, 1, 2}, {3}), 8, 8);
  data::LoaderOptions o;
  o.batch_size = 3;
  o.shuffle = false;
  o.augment.noise_p = 1.0;
  o.augment.blur_sigma = 0.8;
  data::DataLoader dl(ds, o);
  data::Batch b;
  REQUIRE(dl.next(b));
  for (index_t i = 0; i < 3; ++i) {
    std::vector<float> src(64), want(64);
    for (index_t p = 0; p < 64; ++p) src[p] = static_cast<float>(px[i * 64 + p] / 255.0);
    data::gaussian_blur(src.data(), 8, 8, 0.8, want.data());
    for (index_t p = 0; p < 64; ++p) REQUIRE(b.x.data()[i * 64 + p] == Approx(want[p]).margin(1e-6));
  }
  o.augment.salt_pepper = 2;
  REQUIRE_THROWS_WITH(data::DataLoader(ds, o), Catch::Matchers::Contains("salt_pepper 2"));
}

TEST_CASE("dropout and model noise: same initial weights, training-only", "[image_studies]") {
  nn::ClassifierConfig cfg;
  cfg.d_input = 10;
  cfg.d_hidden = 8;
  cfg.d_output = 3;
  Generator g1(21), g2(21);
  nn::ImageClassifier<double> plain(cfg, g1);
  cfg.dropout = 0.3;
  cfg.model_noise = 0.2;
  nn::ImageClassifier<double> reg(cfg, g2);
  const auto pa = plain.parameters(), pb = reg.parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) REQUIRE(pa[i].to_vector() == pb[i].to_vector());
  Generator gx(1);
  const TensorD X = TensorD::randn({5, 10}, gx);
  NoGradGuard ng;
  plain.eval();
  reg.eval();
  REQUIRE(plain.forward(X).to_vector() == reg.forward(X).to_vector());
  reg.train();
  REQUIRE(plain.forward(X).to_vector() != reg.forward(X).to_vector());
  REQUIRE(nn::ClassifierConfig::from_json(cfg.to_json()).model_noise == 0.2);
  REQUIRE(nn::ClassifierConfig::from_json(cfg.to_json()).dropout == 0.3);
}

TEST_CASE("(L1/L2)² counts: closed forms", "[image_studies]") {
  REQUIRE(l1l2_count(std::vector<double>{0, 3, 0}) == Approx(1.0));
  REQUIRE(l1l2_count(std::vector<double>{2, -2, 2, -2}) == Approx(4.0));
  REQUIRE(l1l2_count(std::vector<double>{1, 2}) == Approx(9.0 / 5.0));
  REQUIRE(l1l2_count(std::vector<double>{0, 0}) == 0.0);
}
