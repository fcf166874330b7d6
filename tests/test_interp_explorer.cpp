// The explorer page's numbers (interp/explorer.hpp): the pixel-space model it computes with equals
// the classifier's forward pass for every architecture variant, its stored contributions equal
// explain()'s, and the page file round-trips (fp32 exactly; quantized within half a step per
// weight, inside the size limit). The page's script is checked in Chromium by
// tests/explorer_browser.py.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/interp/decompose.hpp>
#include <bilin/interp/explain.hpp>
#include <bilin/interp/explorer.hpp>
#include <bilin/interp/quadratic_classifier.hpp>
#include <bilin/nn/classifier.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

// A random float classifier of the given architecture reading a 4×4 "image".
nn::ImageClassifier<float> explorer_test_net(bool bias, bool residual, bool embed, std::uint64_t seed) {
  nn::ClassifierConfig cfg;
  cfg.d_input = 16;
  cfg.d_hidden = embed ? 6 : 16;
  cfg.d_output = 3;
  cfg.bias = bias, cfg.residual = residual, cfg.embed = embed;
  Generator gen(seed);
  return nn::ImageClassifier<float>(cfg, gen);
}

ExplorerOptions explorer_test_options() {
  ExplorerOptions o;
  o.image_h = o.image_w = 4;
  o.top_k = 4;
  o.class_names = {"Trouser", "λ-class", "two"};
  o.samples = {{std::vector<std::uint8_t>(16, 0), "blank"}, {std::vector<std::uint8_t>(16, 0), "ramp"}};
  for (int i = 0; i < 16; ++i) o.samples[1].pixels[i] = static_cast<std::uint8_t>(i * 17);
  o.title = "Modèle </script> test";
  return o;
}

}  // namespace

TEST_CASE("the explorer's pixel-space model equals the classifier for every architecture", "[interp][explorer]") {
  struct Variant {
    bool bias, residual, embed, head_bias;
  };
  for (const Variant var : {Variant{false, false, true, false}, Variant{true, false, true, true},
                            Variant{false, true, true, false}, Variant{true, true, true, true},
                            Variant{false, false, false, false}}) {
    CAPTURE(var.bias, var.residual, var.embed, var.head_bias);
    auto net = explorer_test_net(var.bias, var.residual, var.embed, 7);
    BilinearClassifier<float> m = from_module(net);
    Generator gen(11);
    if (var.head_bias) m.head_bias = TensorF::randn({3}, gen);
    const auto comps = decompose_classes(m);
    const ExplorerModel em = explorer_model(m, comps, 4);
    const TensorF X = TensorF::randn({5, 16}, gen);
    TensorF ref;
    {
      NoGradGuard ng;
      ref = net.forward(X);  // the module's own forward (no head bias)
    }
    const TensorF mine = m.logits(X);
    for (index_t i = 0; i < 5; ++i) {
      const auto l = em.logits(X.data() + i * 16);
      for (index_t c = 0; c < 3; ++c) {
        const double hb = var.head_bias ? m.head_bias.data()[c] : 0.0;
        REQUIRE(l[c] == Approx(ref.data()[i * 3 + c] + hb).margin(2e-5));
        REQUIRE(l[c] == Approx(mine.data()[i * 3 + c]).margin(2e-5));
      }
      // Stored components: the largest |λ| of each class, with explain()'s contributions exactly.
      const Explanation e = explain(comps, TensorF::from_vector(std::vector<float>(X.data() + i * 16, X.data() + (i + 1) * 16), {16}), 3);
      for (const ClassExplanation& ce : e.classes) {
        const auto order = comps[ce.cls].by_magnitude();
        for (index_t k = 0; k < 4; ++k) {
          REQUIRE(em.component[ce.cls * 4 + k] == order[k]);
          const auto it = std::find_if(ce.components.begin(), ce.components.end(),
                                       [&](const Contribution& c) { return c.component == order[k]; });
          REQUIRE(it != ce.components.end());
          const double p = em.projection(ce.cls, k, X.data() + i * 16);
          REQUIRE(p == it->projection);
          REQUIRE(em.eigenvalue(ce.cls, k) * p * p == it->contribution);
        }
      }
    }
  }
}

TEST_CASE("the explorer page round-trips: fp32 exactly, quantized within half a step and the size limit",
          "[interp][explorer]") {
  bilin_test::TempDir dir("explorer");
  auto net = explorer_test_net(true, true, true, 3);
  const BilinearClassifier<float> m = from_module(net);
  const auto comps = decompose_classes(m);
  ExplorerOptions o = explorer_test_options();
  Generator gen(5);
  o.check_inputs = TensorF::randn({4, 16}, gen);
  const ExplorerModel ref = explorer_model(m, comps, 4);

  const std::string path = dir.path + "/explorer.html";
  const ExplorerResult r = write_explorer(path, m, comps, o);
  REQUIRE(r.bits == 32);
  REQUIRE(r.bytes == std::filesystem::file_size(path));
  REQUIRE(r.checked == 4);
  REQUIRE(r.max_abs_err < 1e-5);
  const std::string bytes = bilin_test::slurp(path);
  REQUIRE(static_cast<unsigned char>(bytes[0]) == 0xFF);
  REQUIRE(static_cast<unsigned char>(bytes[1]) == 0xFE);
  const ExplorerPage p = read_explorer(path);
  REQUIRE(p.model.wp == ref.wp);
  REQUIRE(p.model.vp == ref.vp);
  REQUIRE(p.model.linear == ref.linear);
  REQUIRE(p.model.inputs == ref.inputs);
  REQUIRE(p.model.values == ref.values);
  REQUIRE(p.model.component == ref.component);
  REQUIRE(p.meta.at("title").as_string() == o.title);  // non-ASCII and "</script>" survive
  REQUIRE(p.meta.at("classes").as_array()[1].as_string() == "λ-class");
  REQUIRE(p.samples.size() == 2);
  REQUIRE(p.samples[1] == o.samples[1].pixels);
  REQUIRE(bilin_test::count(bytes, std::string("<\0/\0s\0c\0r\0i\0p\0t\0", 16)) == 3);  // only the page's own three

  // A limit between the fp32 and the narrowest size: integers, each within half a step of its weight.
  const std::size_t fp32_bytes = r.bytes;
  o.max_bytes = fp32_bytes - 100;
  const ExplorerResult q = write_explorer(path, m, comps, o);
  REQUIRE(q.bits <= 24);
  REQUIRE(q.bytes <= o.max_bytes);
  const ExplorerPage pq = read_explorer(path);
  for (index_t row = 0; row < ref.hidden; ++row) {
    double amax = 0;
    for (index_t j = 0; j < ref.input_dim; ++j) amax = std::max(amax, std::fabs(ref.wp[row * ref.input_dim + j]));
    const double step = amax / (std::ldexp(1.0, q.bits - 1) - 1);
    for (index_t j = 0; j < ref.input_dim; ++j)
      REQUIRE(std::fabs(pq.model.wp[row * ref.input_dim + j] - ref.wp[row * ref.input_dim + j]) <= 0.5 * step * (1 + 1e-6));
  }
  REQUIRE(pq.model.inputs == ref.inputs);  // components stay fp32
  double err = 0;
  for (index_t i = 0; i < 4; ++i) {
    const auto l = pq.model.logits(o.check_inputs.data() + i * 16);
    const TensorF lm = m.logits(o.check_inputs.narrow(0, i, 1));
    for (index_t c = 0; c < 3; ++c) err = std::max(err, std::fabs(l[c] - lm.data()[c]));
  }
  REQUIRE(q.max_abs_err == Approx(err).margin(1e-6));

  o.max_bytes = 1000;
  REQUIRE_THAT(bilin_test::error_of([&] { write_explorer(path, m, comps, o); }),
               Catch::Contains("the limit is 1000 bytes"));
}

TEST_CASE("explorer errors name what is wrong", "[interp][explorer]") {
  bilin_test::TempDir dir("explorer_err");
  auto net = explorer_test_net(false, false, true, 9);
  const BilinearClassifier<float> m = from_module(net);
  const auto comps = decompose_classes(m);
  const std::string path = dir.path + "/e.html";
  ExplorerOptions o = explorer_test_options();
  o.class_names = {"a", "b"};
  REQUIRE_THAT(bilin_test::error_of([&] { write_explorer(path, m, comps, o); }), Catch::Contains("2 class names for 3"));
  o = explorer_test_options();
  o.image_h = 28, o.image_w = 28;
  REQUIRE_THAT(bilin_test::error_of([&] { write_explorer(path, m, comps, o); }), Catch::Contains("28x28 = 784"));
  o = explorer_test_options();
  o.samples[0].pixels.resize(15);
  REQUIRE_THAT(bilin_test::error_of([&] { write_explorer(path, m, comps, o); }), Catch::Contains("sample 0 has 15"));
  REQUIRE_THAT(bilin_test::error_of([&] { explorer_model(m, comps, 0); }), Catch::Contains("top_k = 0"));
  REQUIRE_FALSE(std::filesystem::exists(path));
  bilin_test::spit(path, "<html>not a page</html>");
  REQUIRE_THAT(bilin_test::error_of([&] { read_explorer(path); }), Catch::Contains("byte-order mark"));
}

TEST_CASE("explanation_json carries every logit and contribution", "[interp][explorer]") {
  auto net = explorer_test_net(true, false, true, 4);
  const BilinearClassifier<float> m = from_module(net);
  const auto comps = decompose_classes(m);
  Generator gen(2);
  const TensorF x = TensorF::randn({16}, gen);
  const Explanation e = explain(comps, x, 3);
  const json::Value j = json::parse(explanation_json(e, {"a", "b", "c"}).dump());
  REQUIRE(j.at("prediction").as_int() == e.prediction());
  for (std::size_t c = 0; c < 3; ++c) REQUIRE(j.at("logits").as_array()[c].as_double() == e.logits[c]);
  const json::Value& top = j.at("classes").as_array()[0];
  REQUIRE(top.at("name").as_string() == std::string(1, static_cast<char>('a' + e.classes[0].cls)));
  const auto& cs = top.at("components").as_array();
  REQUIRE(cs.size() == e.classes[0].components.size());
  double sum = 0;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    REQUIRE(cs[i].at("component").as_int() == e.classes[0].components[i].component);
    REQUIRE(cs[i].at("contribution").as_double() == e.classes[0].components[i].contribution);
    sum += cs[i].at("contribution").as_double();
  }
  REQUIRE(sum == Approx(top.at("logit").as_double()).margin(1e-9));
}
