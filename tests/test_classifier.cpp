// ImageClassifier: the official state_dict layout, forward semantics against a hand-written
// double computation, config JSON, gradients, and Dropout.
#include <bilin/bilin.hpp>
#include <bilin/nn/classifier.hpp>
#include <bilin/nn/dropout.hpp>
#include <catch2/catch.hpp>
#include <cmath>

using namespace bilin;
using nn::ClassifierConfig;
using nn::ImageClassifier;

namespace {
std::vector<std::pair<std::string, Shape>> layout(const nn::Module<float>& m) {
  std::vector<std::pair<std::string, Shape>> out;
  for (auto& [n, t] : m.state_dict()) out.emplace_back(n, t.shape());
  return out;
}
using Layout = std::vector<std::pair<std::string, Shape>>;
}  // namespace

TEST_CASE("classifier state_dict matches the official model.py layout", "[classifier]") {
  Generator g(42);
  ClassifierConfig c;  // paper defaults
  ImageClassifier<float> m(c, g);
  CHECK(layout(m) == Layout{{"embed.weight", {512, 784}}, {"blocks.0.weight", {1024, 512}}, {"head.weight", {10, 512}}});
  CHECK(m.num_parameters() == 512 * 784 + 1024 * 512 + 10 * 512);

  c.n_layer = 2;
  c.bias = true;
  c.d_hidden = 64;
  ImageClassifier<float> m2(c, g);
  CHECK(layout(m2) == Layout{{"embed.weight", {64, 784}},
                             {"blocks.0.weight", {128, 64}},
                             {"blocks.0.bias", {128}},
                             {"blocks.1.weight", {128, 64}},
                             {"blocks.1.bias", {128}},
                             {"head.weight", {10, 64}}});
  ClassifierConfig r;
  r.kind = nn::MlpKind::Relu;
  r.d_hidden = 32;
  ImageClassifier<float> m3(r, g);
  CHECK(layout(m3) == Layout{{"embed.weight", {32, 784}}, {"blocks.0.weight", {32, 32}}, {"head.weight", {10, 32}}});
  ClassifierConfig ne;
  ne.embed = false;
  ne.d_hidden = 48;
  ImageClassifier<float> m4(ne, g);
  CHECK(layout(m4) == Layout{{"blocks.0.weight", {96, 784}}, {"head.weight", {10, 48}}});
  // init is PyTorch's nn.Linear default: U(−1/√fan_in, 1/√fan_in)
  const auto w = m.embed->weight.to_vector();
  const float bound = 1.0f / std::sqrt(784.0f);
  CHECK(*std::max_element(w.begin(), w.end()) <= bound);
  CHECK(*std::min_element(w.begin(), w.end()) >= -bound);
  CHECK(*std::max_element(w.begin(), w.end()) > 0.99f * bound);
}

TEST_CASE("classifier forward is head((W E x) ⊙ (V E x)) (+ residual, gates)", "[classifier]") {
  for (auto kind : {nn::MlpKind::Bilinear, nn::MlpKind::GluRelu, nn::MlpKind::GluSilu, nn::MlpKind::Relu}) {
    for (bool residual : {false, true}) {
      CAPTURE(nn::mlp_kind_name(kind), residual);
      Generator g(3);
      ClassifierConfig c;
      c.d_input = 12;
      c.d_hidden = 6;
      c.d_output = 4;
      c.kind = kind;
      c.residual = residual;
      ImageClassifier<double> m(c, g);
      auto x = TensorD::randn({5, 12}, g);
      const auto y = m.forward(x);
      REQUIRE(y.shape() == Shape{5, 4});
      const auto E = m.embed->weight, H = m.head->weight;
      const auto B = m.state_dict()[1].second;  // blocks.0.weight
      for (index_t n = 0; n < 5; ++n) {
        std::vector<double> h(6, 0.0), z(6, 0.0);
        for (index_t i = 0; i < 6; ++i)
          for (index_t k = 0; k < 12; ++k) h[i] += E.at({i, k}) * x.at({n, k});
        for (index_t o = 0; o < 6; ++o) {
          if (kind == nn::MlpKind::Relu) {
            double a = 0;
            for (index_t i = 0; i < 6; ++i) a += B.at({o, i}) * h[i];
            z[o] = std::max(a, 0.0);
          } else {
            double l = 0, r = 0;
            for (index_t i = 0; i < 6; ++i) {
              l += B.at({o, i}) * h[i];
              r += B.at({o + 6, i}) * h[i];
            }
            if (kind == nn::MlpKind::GluRelu) l = std::max(l, 0.0);
            if (kind == nn::MlpKind::GluSilu) l = l / (1 + std::exp(-l));
            z[o] = l * r;
          }
          if (residual) z[o] += h[o];
        }
        for (index_t c2 = 0; c2 < 4; ++c2) {
          double v = 0;
          for (index_t o = 0; o < 6; ++o) v += H.at({c2, o}) * z[o];
          CHECK(y.at({n, c2}) == Approx(v).epsilon(1e-12).margin(1e-14));
        }
      }
    }
  }
}

TEST_CASE("classifier: images [N,28,28] flatten, wrong widths are named, gradients check", "[classifier]") {
  Generator g(1);
  ClassifierConfig c;
  c.d_hidden = 8;
  ImageClassifier<float> m(c, g);
  CHECK(m.forward(TensorF::zeros({3, 28, 28})).shape() == Shape{3, 10});
  CHECK_THROWS_WITH(m.forward(TensorF::zeros({3, 100})), Catch::Matchers::Contains("784"));

  ClassifierConfig s;
  s.d_input = 5;
  s.d_hidden = 3;
  s.d_output = 2;
  s.bias = true;
  ImageClassifier<double> md(s, g);
  auto x = TensorD::randn({4, 5}, g);
  const std::vector<std::int64_t> labels{0, 1, 1, 0};
  auto y = Tensor<std::int64_t>::from_vector(labels);
  auto loss = cross_entropy(md.forward(x), y);
  loss.backward();
  // finite differences on every parameter entry
  for (auto& [name, p] : md.named_parameters()) {
    CAPTURE(name);
    const auto grad = p.grad().to_vector();
    for (index_t i = 0; i < p.numel(); ++i) {
      double* v = p.data() + i;
      const double keep = *v, h = 1e-6;
      double lp, lm;
      {
        NoGradGuard ng;
        *v = keep + h;
        lp = cross_entropy(md.forward(x), y).item();
        *v = keep - h;
        lm = cross_entropy(md.forward(x), y).item();
        *v = keep;
      }
      CHECK(grad[static_cast<std::size_t>(i)] == Approx((lp - lm) / (2 * h)).epsilon(1e-6).margin(1e-8));
    }
  }
}

TEST_CASE("classifier config JSON round-trips and names bad fields", "[classifier]") {
  ClassifierConfig c;
  c.d_hidden = 300;
  c.n_layer = 2;
  c.kind = nn::MlpKind::GluSilu;
  c.residual = true;
  c.embed = false;
  c.bias = true;
  const auto back = ClassifierConfig::from_json(c.to_json());
  CHECK(back.to_json() == c.to_json());
  CHECK(back.kind == nn::MlpKind::GluSilu);
  CHECK(back.d_hidden == 300);
  CHECK_THROWS_WITH(ClassifierConfig::from_json(R"({"d_hidden": -3})"), Catch::Matchers::Contains("d_hidden"));
  CHECK_THROWS_WITH(ClassifierConfig::from_json(R"({"kind": "tanh"})"), Catch::Matchers::Contains("tanh"));
  CHECK_THROWS_WITH(ClassifierConfig::from_json(R"({"embed": 1})"), Catch::Matchers::Contains("embed"));
}

TEST_CASE("Dropout: identity in eval, keeps 1-p scaled by 1/(1-p) in training, same mask for the gradient",
          "[classifier][dropout]") {
  nn::Dropout<float> d(0.25, 11);
  auto x = TensorF::ones({100000});
  x.requires_grad_(true);
  d.eval();
  CHECK(d.forward(x).to_vector() == x.to_vector());
  d.train();
  auto y = d.forward(x);
  const auto v = y.to_vector();
  std::size_t kept = 0;
  for (float e : v) {
    REQUIRE((e == 0.0f || e == Approx(1.0f / 0.75f)));
    kept += e != 0.0f;
  }
  CHECK(static_cast<double>(kept) / 1e5 == Approx(0.75).margin(0.01));
  sum(y).backward();
  CHECK(x.grad().to_vector() == v);  // d(sum(x*mask))/dx = mask
  nn::Dropout<float> d2(0.25, 11);
  CHECK(d2.forward(x.detach()).to_vector() == v);  // seeded
  CHECK_THROWS_WITH(nn::Dropout<float>(1.0), Catch::Matchers::Contains("[0, 1)"));
}
